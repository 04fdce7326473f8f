#!/usr/bin/env bash
# Frame temperature accuracy against the clock speed: the cryogenic recipe (binned 4x4 frames, no analysis, no
# stored pixels) against the simulators at each speed, every frame's T_mean compared with the simulated stage's
# true mean over its window. Timing errors scale with the speed (a 1 ms scheduler delay is 0.1 s of run time at
# 100x), so the trend towards 1x is the figure for a real run.
#   bench/timing.sh [speed ...]   (default: 100 30, ~5 min; 10 adds ~12 min)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$here/.."
insitu="$top/build/release/daemon/insitu"
speeds=("$@")
[ ${#speeds[@]} -gt 0 ] || speeds=(100 30)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed -e 's/binning: 1}/binning: 4}/' -e 's/store_frames: true/store_frames: false/' \
    -e '/^analysis:/,/^dma:/{/^  enabled:/s/true/false/}' \
    -e "s#\.\./instruments/#$top/config/instruments/#" "$top/config/recipes/cryo-heating.yaml" >"$tmp/recipe.yaml"
for speed in "${speeds[@]}"; do
  start=$(date +%s)
  "$insitu" run "$tmp/recipe.yaml" --simulate --speed "$speed" --output "$tmp/runs-$speed" >"$tmp/log-$speed" 2>&1 ||
    { tail -5 "$tmp/log-$speed" >&2; exit 1; }
  wall=$(($(date +%s) - start))
  run_file=$(ls "$tmp/runs-$speed"/*/run.h5)
  /usr/bin/python3 "$here/timing/frame_temperatures.py" "$run_file" --speed "$speed" --wall "$wall"
done
