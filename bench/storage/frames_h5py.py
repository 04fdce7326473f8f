"""h5py beside insitu's RunFile: the same frames (read from frames_bench's raw dump), the same chunking
(1, 2048, 2048) and the same filter, timed from file creation to close.
   /usr/bin/python3 frames_h5py.py <frames> <bitshuffle_lz4|shuffle_deflate> <frames.u16> <file.h5>"""
import os
import sys
import time

import h5py
import numpy as np

n, filter_name, raw, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
side = 2048
frames = np.fromfile(raw, dtype="<u2").reshape(-1, side, side)
if filter_name == "bitshuffle_lz4":
    options = dict(compression=32008, compression_opts=(0, 2))  # block size automatic, LZ4 (system plugin)
else:
    options = dict(shuffle=True, compression="gzip", compression_opts=1)
if os.path.exists(path):
    os.remove(path)
t0 = time.perf_counter()
with h5py.File(path, "w", libver="latest") as f:
    d = f.create_dataset("data", shape=(0, side, side), maxshape=(None, side, side), dtype="<u2",
                         chunks=(1, side, side), **options)
    for k in range(n):
        d.resize(k + 1, axis=0)
        d[k] = frames[k % len(frames)]
        d.flush()
    stored = d.id.get_storage_size()
seconds = time.perf_counter() - t0
mb = n * side * side * 2 / 1e6
with h5py.File(path, "r") as f:  # lossless
    assert np.array_equal(f["data"][n - 1], frames[(n - 1) % len(frames)])
print(f"h5py {h5py.__version__:10s} {filter_name.replace('_', '+'):16s} {n:4d} frames  {mb / seconds:7.1f} MB/s  "
      f"{n / seconds:6.1f} frames/s  {stored / n:9.0f} bytes/frame  ratio {side * side * 2 * n / stored:.2f}")
