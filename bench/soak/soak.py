#!/usr/bin/env python3
"""Steady state of `insitu run --simulate` with 2048^2 frames every 12 s, inline analysis and stored frames.

Two runs of a generated recipe (a hold at 300 K exposed throughout, the cryo demo's detector and analysis):
  soak: FRAMES frames at SPEED x; VmRSS sampled against the number of frame files written, the growth per 1000
        frames fitted after a warm-up.
  idle: IDLE_S seconds at 1x; utime+stime of the process over the stretches between frames (from 6 s after each
        frame boundary to the next), as a share of one core.
Usage: soak.py INSITU REPO_ROOT WORK [--frames N] [--speed S] [--idle-s T]
"""
import argparse
import datetime
import glob
import os
import re
import subprocess
import sys
import time

TICK_S = os.sysconf("SC_CLK_TCK")
PERIOD_S = 12.0
FRAME_NAME = re.compile(r"-(\d+)(\.dark)?\.tif$")


def recipe(repo_root, hold_s, darks_before):
    """The cryo demo's detector and analysis sections over a hold at 300 K exposed throughout."""
    cryo = open(os.path.join(repo_root, "config/recipes/cryo-heating.yaml")).read()
    detector_to_end = cryo[cryo.index("\ndetector:"):cryo.index("\ndma:")]
    detector_to_end = detector_to_end.replace(
        "../instruments/xrd1621-60keV.poni", os.path.join(repo_root, "config/instruments/xrd1621-60keV.poni"))
    detector_to_end = re.sub(r"during: \[[^\]]*\]", "during: [1]", detector_to_end)
    detector_to_end = re.sub(r"darks: \{[^}]*\}", f"darks: {{before: {darks_before}, after: 0}}", detector_to_end)
    return f"""insitu_recipe: 1
name: soak
sample: {{name: soak, composition: Cu44Zr44Al8Hf2Co2}}
stage: {{model: THMS600, poll_interval_s: 0.5, connection: "serial:///dev/ttyUSB0"}}
program:
  - hold: {{temperature_K: 300, duration_s: {hold_s:.0f}}}
safe_state: stop
output:
  directory: runs{detector_to_end}
"""


def cpu_s(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK_S  # utime, stime


def thread_cpu_s(pid):
    """utime+stime of each thread, by thread id."""
    out = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            out[int(os.path.basename(task))] = cpu_s(f"{pid}/task/{os.path.basename(task)}")
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def rss_kib(pid):
    """VmRSS; ValueError before the exec and after the exit (no VmRSS line then)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError("no VmRSS")


class FrameFiles:
    """Frame files the simulated detector has written; the consumed ones are deleted (8 MiB each)."""

    def __init__(self, output):
        self.output = output
        self.seen = {}  # name -> first seen (monotonic s)

    def poll(self, keep=30):
        now = time.monotonic()
        files = glob.glob(os.path.join(self.output, "*", "detector-sim", "*.tif"))
        for f in files:
            self.seen.setdefault(os.path.basename(f), now)
        indices = sorted(int(m.group(1)) for f in files if (m := FRAME_NAME.search(f)))
        if len(indices) > keep:
            cut = indices[-keep]
            for f in files:
                m = FRAME_NAME.search(f)
                if m and int(m.group(1)) < cut:
                    for path in (f, f + ".metadata"):
                        try:
                            os.remove(path)
                        except FileNotFoundError:
                            pass
        return len(self.seen)


def run(insitu, recipe_path, output, speed, sample, interval_s):
    os.makedirs(output, exist_ok=True)
    log = open(os.path.join(output, "stdout.log"), "w")
    start = time.monotonic()
    proc = subprocess.Popen([insitu, "run", recipe_path, "--simulate", "--speed", str(speed), "--output", output],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    files = FrameFiles(output)
    samples = []
    while proc.poll() is None:
        try:
            samples.append(sample(proc.pid, time.monotonic() - start, files.poll()))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass  # the process ended between poll() and the read
        time.sleep(interval_s)
    wall_s = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"soak: insitu run exited {proc.returncode} (see {output}/stdout.log):\n"
                 + "".join(open(os.path.join(output, "stdout.log")).readlines()[-5:]))
    return samples, files, wall_s


def fit_slope(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / sxx if sxx else float("nan")


def soak(args, work):
    hold_s = (args.frames + 1) * PERIOD_S
    path = os.path.join(work, "soak.yaml")
    open(path, "w").write(recipe(args.repo_root, hold_s, 3))
    samples, files, wall_s = run(args.insitu, path, os.path.join(work, "soak"), args.speed,
                                 lambda pid, t, n: (t, n, rss_kib(pid)), 0.5)
    warm_up = max(args.frames // 5, min(100, args.frames // 2))
    steady = [(n, kib) for _, n, kib in samples if n >= warm_up]
    if len(steady) < 10:
        sys.exit(f"soak: only {len(steady)} samples after {warm_up} frames")
    if args.samples:
        with open(args.samples, "w") as out:
            out.write("wall_s,frame_files,vmrss_kib\n")
            out.writelines(f"{t:.2f},{n},{kib}\n" for t, n, kib in samples)
    slope_kib = fit_slope([n for n, _ in steady], [kib for _, kib in steady])
    # malloc keeps freed frame buffers in its arenas for a while, so VmRSS swings by ~100 MiB from frame to frame;
    # a leak raises the floor. The lowest VmRSS of each 100-frame window, fitted, measures that floor.
    windows = {}
    for n, kib in steady:
        windows[n // 100] = min(kib, windows.get(n // 100, kib))
    floor_kib = fit_slope([100 * w + 50 for w in windows], list(windows.values()))
    print(f"soak {files.poll(keep=0)} frame files (2048x2048) at {args.speed:g}x in {wall_s:.0f} s wall: "
          f"VmRSS {steady[0][1] / 1024:.0f} MiB after {warm_up} frames, "
          f"{steady[-1][1] / 1024:.0f} MiB at {steady[-1][0]} frames, peak {max(s[2] for s in samples) / 1024:.0f} MiB"
          f" | growth after warm-up: all samples {slope_kib * 1000 / 1024:.2f} MiB per 1000 frames, the floor (lowest"
          f" of each 100 frames) {floor_kib * 1000 / 1024:.2f} MiB per 1000 frames (goal <= 1)")
    print("soak: VmRSS floor per 100 frames, MiB: " + " ".join(f"{kib / 1024:.0f}" for kib in windows.values()))
    log = open(os.path.join(work, "soak", "stdout.log")).read()
    print(f"soak: {len(re.findall(r'frame [0-9]+ .*missing', log))} frames missing, "
          f"{log.count('not analysed inline')} not analysed inline (the machine did not keep up at {args.speed:g}x); "
          f"load average {open('/proc/loadavg').read().split()[0]}")


def exposure_boundaries_unix_s(log_path):
    """The data frames' boundaries: every 12 s from the log's last "exposures start" (after the darks) to the
    programme's end (the run's closing is not between frames)."""
    log = open(log_path).read()
    def stamps(what):
        return [datetime.datetime.strptime(t, "%Y-%m-%d %H:%M:%S.%f").timestamp()
                for t in re.findall(r"^\[([0-9-]+ [0-9:.]+)\] .*" + what, log, re.M)]
    starts, ends = stamps("exposures start"), stamps("program completed")
    if not starts or not ends:
        sys.exit(f"soak: no exposures start or program completed in {log_path}")
    t, out = starts[-1], []
    while t + PERIOD_S <= ends[-1]:
        out.append(t)
        t += PERIOD_S
    return out


def idle(args, work):
    path = os.path.join(work, "idle.yaml")
    open(path, "w").write(recipe(args.repo_root, args.idle_s, 1))
    threads = {}
    def sample(pid, t, n):
        now, total = time.time(), cpu_s(pid)
        threads.update(thread_cpu_s(pid))  # each thread's last reading: its CPU over the run
        return now, total
    samples, _, wall_s = run(args.insitu, path, os.path.join(work, "idle"), 1, sample, 0.25)
    boundaries = exposure_boundaries_unix_s(os.path.join(work, "idle", "stdout.log"))
    # Between frames: from 6 s after a boundary (the frame rendered, read, stored and analysed) to just before the
    # next one; each frame period's stretch on its own too, to tell a steady cost from a straggling frame.
    per_window = []
    for b in boundaries:
        inside = [(t, c) for t, c in samples if b + 6.0 <= t <= b + PERIOD_S - 0.25]
        if len(inside) >= 2:
            per_window.append((inside[-1][1] - inside[0][1], inside[-1][0] - inside[0][0]))
    idle_cpu, idle_wall = sum(c for c, _ in per_window), sum(w for _, w in per_window)
    shares = sorted(100 * c / w for c, w in per_window)
    total_cpu = samples[-1][1] - samples[0][1]
    print(f"idle at 1x: {len(boundaries)} frames in {wall_s:.0f} s wall; CPU {total_cpu:.2f} s in all "
          f"({100 * total_cpu / wall_s:.2f} % of a core on average) | between frames "
          f"{100 * idle_cpu / idle_wall if idle_wall else float('nan'):.3f} % of a core over {idle_wall:.0f} s "
          f"(goal <= 1 %); per frame period median {shares[len(shares) // 2]:.2f} %, max {shares[-1]:.2f} %")
    busiest = sorted(threads.values(), reverse=True)[:4]
    print("idle at 1x: busiest threads over the run, % of a core: " +
          ", ".join(f"{100 * c / wall_s:.2f}" for c in busiest))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("insitu")
    p.add_argument("repo_root")
    p.add_argument("work")
    p.add_argument("--frames", type=int, default=1000)
    p.add_argument("--speed", type=float, default=40)
    p.add_argument("--idle-s", type=float, default=180)
    p.add_argument("--samples", help="write the soak's (wall s, frame files, VmRSS KiB) samples to this CSV file")
    args = p.parse_args()
    if args.frames > 0:
        soak(args, args.work)
    if args.idle_s > 0:
        idle(args, args.work)


if __name__ == "__main__":
    main()
