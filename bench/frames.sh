#!/usr/bin/env bash
# Frame write throughput (daemon/storage): N 2048x2048 uint16 frames through RunFile with bitshuffle+LZ4 and
# with shuffle+deflate, beside h5py writing the same frames with the same filter and chunking.
#   bench/frames.sh [frames]   (default 40)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/../build/release/bench/storage/frames_bench"
n="${1:-40}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for filter in bitshuffle_lz4 shuffle_deflate; do
  "$bin" "$n" "$filter" "$tmp/run_$filter.nxs" "$tmp/frames.u16"
  /usr/bin/python3 "$here/storage/frames_h5py.py" "$n" "$filter" "$tmp/frames.u16" "$tmp/h5py_$filter.h5"
  rm -f "$tmp/run_$filter.nxs" "$tmp/h5py_$filter.h5"
done
