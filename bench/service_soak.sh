#!/usr/bin/env bash
# Twenty simulated runs back to back in one insitud (bench/service_soak/service_soak.py): VmRSS, open file
# descriptors and threads after each run with their slopes, and every run file checked complete.
#   bench/service_soak.sh [--runs N (20)] [--speed S (100)]   (~6 min by default)
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
build=$repo_root/build/release
for bin in "$build/daemon/service/insitud" "$build/daemon/insitu"; do
  [ -x "$bin" ] || { echo "missing $bin: build the release preset first" >&2; exit 1; }
done
# A short path: insitud's Unix socket lives in the state directory.
work=$(mktemp -d /tmp/iss.XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$repo_root/bench/service_soak/service_soak.py" "$build/daemon/service/insitud" "$build/daemon/insitu" \
  "$repo_root" "$work" "$@"
