#!/usr/bin/env bash
# Inline analysis speed: frame -> S_eq on the 2048^2 benchmark frame (per stage, 1 and 2 integration threads),
# the G(r) transform before (direct sine sum) and now (chirp-z FFT), frame -> result through the analysis pool,
# and the run-level analysis; beside pyFAI 0.21.3's integration alone of the same frame
# (bench/integration/pyfai_reference.py writes the frame and times pyFAI) and a Python frame -> S_eq chain
# (bench/pipeline/python_chain.py: pyFAI integrate1d + numpy reduction, G(r) by FFT, S_eq).
# Run from the repository root after a release build (scripts/bench does both).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo_root/build/release/bench/pipeline/bench_pipeline"
[ -x "$bin" ] || { echo "missing $bin: build the release preset first" >&2; exit 1; }
# The daemon's table: Debian's python3-periodictable, or INSITU_FORM_FACTORS.
form_factors=${INSITU_FORM_FACTORS:-/usr/lib/python3/dist-packages/periodictable/xsf/f0_WaasKirf.dat}
[ -f "$form_factors" ] || { echo "missing $form_factors: set INSITU_FORM_FACTORS to f0_WaasKirf.dat" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/insitu-bench-pipeline.XXXXXX")
trap 'rm -rf "$work"' EXIT
nrep=${INSITU_BENCH_NREP:-20}

/usr/bin/python3 "$repo_root/bench/integration/pyfai_reference.py" "$work" "$nrep" 2>/dev/null
"$bin" "$work" "$form_factors" "$nrep" | tee "$work/insitu.txt"
/usr/bin/python3 "$repo_root/bench/pipeline/python_chain.py" "$work" "$nrep" 2>/dev/null | tee "$work/python.txt"

awk '
  $1 == "insitu" && $2 == "frame->S_eq" && $4 == 2 { median = $6; p99 = $8 }
  $1 == "python" && $3 == "frame->S_eq" { python = $5 }
  END {
    printf "frame -> S_eq: insitu %.1f ms median / %.1f ms p99 (2 threads), python chain %.1f ms median, ratio %.1fx\n",
           median, p99, python, python / median
  }' "$work/insitu.txt" "$work/python.txt"
