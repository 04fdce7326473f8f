"""Per-frame T_mean of a simulated run against the detector simulator's truth (detector-sim/*-truth.jsonl)."""
import argparse
import glob
import json
import os

import h5py
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("run_file")
parser.add_argument("--speed", default="?")
parser.add_argument("--wall", default="?")
args = parser.parse_args()

truth = {}
for path in glob.glob(os.path.join(os.path.dirname(args.run_file), "detector-sim", "*-truth.jsonl")):
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            truth[row["file"]] = row["mean_T_K"]

with h5py.File(args.run_file, "r") as f:
    det = f["/entry/instrument/detector"]
    names = [n.decode() if isinstance(n, bytes) else n for n in det["file_name"][()]]
    key = det["image_key"][()]
    t_mean = det["frame_temperature/T_mean"][()]
    bound = det["frame_temperature/T_mean_uncertainty"][()]
    rate = np.abs(det["frame_temperature/T_end"][()] - det["frame_temperature/T_start"][()]) / det["count_time"][()]

data = [i for i in range(len(names)) if key[i] == 0 and names[i] in truth]
err = np.array([t_mean[i] - truth[names[i]] for i in data])
heating = np.array([rate[i] < 0.3 for i in data])  # 10 K/min = 0.17 K/s; the cool is 50 K/min = 0.83 K/s
missing = sum(1 for i in range(len(names)) if key[i] == 0 and names[i] not in truth)
print(f"speed {args.speed}x: {len(data)} frames ({missing} without a file), wall {args.wall} s | "
      f"|T_mean - truth|: max {np.abs(err).max():.3f} K, rms {np.sqrt(np.mean(err ** 2)):.3f} K; "
      f"heating max {np.abs(err[heating]).max():.3f} K, cooling max {np.abs(err[~heating]).max():.3f} K | "
      f"declared bound: median {np.median(bound[data]):.3f} K, max {bound[data].max():.3f} K; "
      f"frames beyond bound + 0.1 K: {int(np.sum(np.abs(err) > bound[data] + 0.1))}")
