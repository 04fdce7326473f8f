#!/usr/bin/env bash
# Simulated XRD1621 render time for a full 2048^2 frame on one core (profile + per-pixel pass).
# Run from the repository root after a release build (scripts/bench does both).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo_root/build/release/bench/detector_sim/bench_detector_sim"
[ -x "$bin" ] || { echo "missing $bin: build the release preset first" >&2; exit 1; }
# The daemon's table: Debian's python3-periodictable, or INSITU_FORM_FACTORS.
form_factors=${INSITU_FORM_FACTORS:-/usr/lib/python3/dist-packages/periodictable/xsf/f0_WaasKirf.dat}
"$bin" "$repo_root/config/instruments/xrd1621-60keV.poni" "$form_factors" 1 "${INSITU_BENCH_NREP:-10}"
