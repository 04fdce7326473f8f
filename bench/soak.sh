#!/usr/bin/env bash
# Steady state of a simulated run with 2048² frames, inline analysis and stored frames (bench/soak/soak.py): VmRSS
# growth per 1000 frames at an accelerated clock, and the CPU the process uses between frames at 1x.
#   bench/soak.sh [--frames N (1000)] [--speed S (40)] [--idle-s T (180)] [--samples CSV]   (~8 min by default)
# INSITU_BIN overrides the insitu binary (default build/release/daemon/insitu).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
bin=${INSITU_BIN:-$repo_root/build/release/daemon/insitu}
[ -x "$bin" ] || { echo "missing $bin: build the release preset first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/insitu-soak.XXXXXX")
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$repo_root/bench/soak/soak.py" "$bin" "$repo_root" "$work" "$@"
