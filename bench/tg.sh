#!/usr/bin/env bash
# T_g recovery over independent detector-noise seeds: runs the cryogenic recipe against the simulators once per
# seed (`insitu run --simulate --sim-seed N`), re-analyses each run file offline (`insitu reprocess`, which adds
# /entry_reprocessed_<n>, with the names of /entry/analysis) and prints T_g per seed beside the simulator's own T_g (the `T_g_K` of its truth file),
# then the mean, the standard deviation and the largest |T_g - truth|. docs/analysis.md §4 has the error budget.
#   INSITU_TG_SEEDS    seeds (default "1 2 3 4 5")
#   INSITU_TG_BINNING  detector binning (default 1: full 2048^2 frames, ~2-4 min a run; 4 takes ~1 min)
#   INSITU_TG_SPEED    run-clock speed (default 60 for full frames, as the demo, whose renderer keeps up; else 100)
#   INSITU_TG_RUNS     directory for the runs (default: a temporary one, removed at the end)
#   INSITU_TG_REPROCESS=0 skips the offline re-analysis (the inline result is printed either way)
# Run from the repository root after a release build (scripts/bench does both). One run at a time (2 cores); on a
# loaded machine lower the speed (frames arriving after their deadline count as missing).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
bin="$repo_root/build/release/daemon/insitu"
[ -x "$bin" ] || { echo "missing $bin: build the release preset first" >&2; exit 1; }
seeds=${INSITU_TG_SEEDS:-1 2 3 4 5}
binning=${INSITU_TG_BINNING:-1}
default_speed=100
[ "$binning" = 1 ] && default_speed=60
speed=${INSITU_TG_SPEED:-$default_speed}
reprocess=${INSITU_TG_REPROCESS:-1}
poni="$repo_root/config/instruments/xrd1621-60keV.poni"
if [ -n "${INSITU_TG_RUNS:-}" ]; then
  work=$INSITU_TG_RUNS
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/insitu-bench-tg.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi

# The recipe with an absolute geometry path (it is relative to the recipe's folder) and the requested binning.
recipe="$work/cryo-heating-b$binning.yaml"
sed -e "s|geometry: \.\./instruments/xrd1621-60keV.poni|geometry: $poni|" \
    -e "s|binning: 1}|binning: $binning}|" "$repo_root/config/recipes/cryo-heating.yaml" >"$recipe"
grep -q "binning: $binning}" "$recipe" || { echo "could not set binning in $recipe" >&2; exit 1; }

results="$work/tg-b$binning.txt"
: >"$results"
for seed in $seeds; do
  out="$work/b$binning-seed$seed"
  rm -rf "$out"
  if ! "$bin" run "$recipe" --simulate --speed "$speed" --sim-seed "$seed" --output "$out" >"$work/run-$seed.log" 2>&1; then
    echo "seed $seed: run failed (skipped), see $work/run-$seed.log" >&2
    continue
  fi
  run_file=$(ls "$out"/*/run.h5)
  if [ "$reprocess" = 1 ]; then
    # The run file carries the geometry and the form factors: nothing else is needed.
    "$bin" reprocess "$run_file" >"$work/reprocess-$seed.log" 2>&1 ||
      { echo "seed $seed: reprocess failed (skipped), see $work/reprocess-$seed.log" >&2; continue; }
  fi
  /usr/bin/python3 - "$run_file" "$seed" >>"$results" <<'EOF'
import glob, json, os, sys
import h5py
path, seed = sys.argv[1], sys.argv[2]
truth = glob.glob(os.path.join(os.path.dirname(path), "detector-sim", "*-truth.jsonl"))[0]
with open(truth) as f:
    tg_true = json.loads(f.readline())["T_g_K"]
with h5py.File(path, "r") as f:
    run = f["/entry/analysis/run"]
    inline = (run["T_g"][0], run["T_g_low"][0], run["T_g_high"][0])
    entries = sorted((k for k in f if k.startswith("entry_reprocessed_")), key=lambda k: int(k.rsplit("_", 1)[1]))
    if entries:
        r = f[entries[-1]]["analysis/run"]
        re = (r["T_g"][0], r["T_g_low"][0], r["T_g_high"][0])
    else:
        re = inline
print(seed, tg_true, *inline, *re)
EOF
  tail -n 1 "$results" | awk -v b="$binning" '{printf "binning %s seed %s: T_g inline %.1f K [%.1f, %.1f], reprocessed %.1f K [%.1f, %.1f]; simulator %.1f K\n", b, $1, $3, $4, $5, $6, $7, $8, $2}'
done
awk -v b="$binning" '{n++; d=$6-$2; s+=$6; ss+=$6*$6; if (d<0) d=-d; if (d>m) m=d; if (d<=3) k++; cover+=($7<=$2 && $2<=$8)}
  END {mean=s/n; sd=sqrt((ss-n*mean*mean)/(n>1?n-1:1));
       printf "binning %s, %d seeds: mean T_g %.2f K, sd %.2f K, max |T_g - truth| %.2f K, %d of %d within 3 K, 95%% interval covers the truth in %d\n", b, n, mean, sd, m, k, n, cover}' "$results"
