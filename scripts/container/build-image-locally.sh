#!/usr/bin/env bash
# Builds the Dockerfile into `localhost/eks-activity-worker:test` with buildah where no registry
# is reachable: the base image is the local stand-in (stand-in-node-image.sh), RUN steps use
# chroot isolation (this machine's crun refuses hybrid cgroups), and npm in the build stage uses
# the host's npm cache and CA bundle. test/infra/container-image.test.ts then runs the image.
#
# Usage: scripts/container/build-image-locally.sh   (as root, with buildah; takes minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! buildah inspect --type image docker.io/library/node:22-alpine >/dev/null 2>&1; then
  scripts/container/stand-in-node-image.sh docker.io/library/node:22-alpine
fi
npmrc="$(mktemp)"
trap 'rm -f "$npmrc"' EXIT
printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nprefer-offline=true\n' >"$npmrc"
buildah bud --isolation chroot --pull=never \
  -v "$HOME/.npm:/root/.npm" \
  -v "$npmrc:/usr/local/etc/npmrc:ro" \
  -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  -t localhost/eks-activity-worker:test .
