#!/usr/bin/env bash
# Azimuthal integration speed: insitu vs pyFAI 0.21.3 on the same synthetic 2048^2 float32 frame
# (npt 3000 in q_A^-1, solid angle, polarization 0.99, Poisson sigma), no split and bbox split.
# Run from the repository root after a release build (scripts/bench does both).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo_root/build/release/bench/integration/bench_integration"
[ -x "$bin" ] || { echo "missing $bin: build the release preset first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/insitu-bench-integration.XXXXXX")
trap 'rm -rf "$work"' EXIT
nrep=${INSITU_BENCH_NREP:-15}

/usr/bin/python3 "$repo_root/bench/integration/pyfai_reference.py" "$work" "$nrep" 2>/dev/null | tee "$work/pyfai.txt"
"$bin" "$work" "$((nrep + 5))" | tee "$work/insitu.txt"

awk '
  $1 == "pyfai"  { py[$2] = $4; py_setup[$2] = $8 }
  $1 == "insitu" { ms[$2, $4] = $6; setup[$2, $4] = $10; cpu[$2, $4] = $16 }
  END {
    for (m in py) {
      printf "ratio %s: pyFAI %.1f ms / insitu(2 threads) %.1f ms = %.1fx faster (1 thread: %.1fx); insitu CPU %.1f ms a frame; setup pyFAI %.2f s, insitu %.2f s\n",
             m, py[m], ms[m, 2], py[m] / ms[m, 2], py[m] / ms[m, 1], cpu[m, 2], py_setup[m], setup[m, 2]
    }
  }' "$work/pyfai.txt" "$work/insitu.txt"
