"""Twenty simulated runs back to back in one insitud: the process's VmRSS, open file descriptors and threads after
each run, their slopes over the runs after the first two (warm-up: pools, caches, the analysis geometry), and every
run file checked complete by `insitu summary`. Each run: darks, a 300 -> 400 K ramp at 10 K/min with a 512^2 frame
every 12 s stored and analysed, the cool at 50 K/min (the cryo demo's detector and analysis sections, binned 4).
Usage: service_soak.py INSITUD INSITU REPO_ROOT WORK [--runs N] [--speed S]. Exit 1 when a run or its file is not
complete, or insitud does not come up."""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time


def recipe(repo_root, sample):
    cryo = open(os.path.join(repo_root, "config/recipes/cryo-heating.yaml")).read()
    detector_to_end = cryo[cryo.index("\ndetector:"):cryo.index("\ndma:")]
    detector_to_end = detector_to_end.replace("../instruments/", "instruments/").replace("binning: 1}", "binning: 4}")
    detector_to_end = re.sub(r"during: \[[^\]]*\]", "during: [1]", detector_to_end)
    detector_to_end = re.sub(r"darks: \{[^}]*\}", "darks: {before: 2, after: 1}", detector_to_end)
    return f"""insitu_recipe: 1
name: service-soak
sample: {{name: {sample}, composition: Cu44Zr44Al8Hf2Co2}}
stage: {{model: THMS600}}
program:
  - ramp: {{to_K: 400, rate_K_per_min: 10}}
  - ramp: {{to_K: 300, rate_K_per_min: 50}}
safe_state: stop
output:
  directory: ignored-by-the-service{detector_to_end}
"""


def cli(insitu, state, *args):
    out = subprocess.run([insitu, *args, "--state-dir", state], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"insitu {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def process_figures(pid):
    rss_kib = next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:"))
    return rss_kib / 1024, len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))


def slope(values):
    """Least-squares slope per run."""
    n = len(values)
    mx, my = (n - 1) / 2, sum(values) / n
    return sum((i - mx) * (v - my) for i, v in enumerate(values)) / sum((i - mx) ** 2 for i in range(n))


def wait_for(what, probe, limit_s):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        answer = probe()
        if answer:
            return answer
        time.sleep(0.2)
    sys.exit(f"service soak: timed out waiting for {what}")


def main():
    p = argparse.ArgumentParser()
    for name in ("insitud", "insitu", "repo_root", "work"):
        p.add_argument(name)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--speed", type=float, default=100)
    a = p.parse_args()
    state, recipes = os.path.join(a.work, "state"), os.path.join(a.work, "recipes")
    os.makedirs(recipes)
    # insitud resolves a recipe's geometry under its state directory's recipes/, as a facility installs it.
    instruments = os.path.join(state, "recipes", "instruments")
    os.makedirs(instruments)
    shutil.copy(os.path.join(a.repo_root, "config/instruments/xrd1621-60keV.poni"), instruments)
    files = []
    for i in range(a.runs):
        files.append(os.path.join(recipes, f"soak-{i + 1:02d}.yaml"))
        open(files[-1], "w").write(recipe(a.repo_root, f"soak-{i + 1:02d}"))
    config = os.path.join(a.work, "insitud.yaml")
    open(config, "w").write("listen: 127.0.0.1:0\n")
    log = open(os.path.join(a.work, "insitud.log"), "w")
    daemon = subprocess.Popen([a.insitud, "--config", config, "--state-dir", state, "--simulate", "--speed",
                               str(a.speed)], stdout=log, stderr=subprocess.STDOUT)
    try:
        return soak(a, daemon.pid, state, files)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)


def soak(a, pid, state, files):
    """Submits the runs one at a time and takes the figures when insitud is idle after each, so every sample is
    at the same point of its cycle (a run ending while the next starts holds both runs' files and threads)."""
    def status():
        try:
            return json.loads(cli(a.insitu, state, "status", "--json"))
        except (RuntimeError, json.JSONDecodeError):
            return None

    def idle():
        return (s := status()) is not None and s["service"]["state"] == "idle" and s.get("run") is None

    wait_for("insitud", idle, 30)
    before = process_figures(pid)
    figures = []
    start = time.monotonic()
    for i, recipe_file in enumerate(files):
        cli(a.insitu, state, "submit", recipe_file)
        wait_for(f"run {i + 1}'s end", lambda: sum(r["ended"] is not None for r in
                                                   json.loads(cli(a.insitu, state, "history", "--json"))["runs"]) > i,
                 300)
        wait_for("idle", idle, 60)
        figures.append(process_figures(pid))
    wall_s = time.monotonic() - start
    runs = json.loads(cli(a.insitu, state, "history", "--json"))["runs"]
    return report(a, state, runs, before, figures, wall_s)


def report(a, state, runs, idle, figures, wall_s):
    problems = []
    frames = 0
    for r in runs:
        summary = subprocess.run([a.insitu, "summary", os.path.join(state, "data", r["run_file"])],
                                 capture_output=True, text=True)
        if r["state"] != "completed":
            faults = [line.strip() for line in summary.stdout.splitlines() if re.search(r"\d s +fault ", line)]
            problems.append(f"run {r['id']} {r['state']}: {r.get('reason', '')} {'; '.join(faults)}")
        m = re.search(r"^frames\s+(\d+) recorded", summary.stdout, re.M)
        if summary.returncode != 0 or not re.search(r"^status\s+completed", summary.stdout, re.M) or not m:
            problems.append(f"run {r['id']}: its file is not complete: {summary.stdout[-300:]}{summary.stderr}")
        frames += int(m.group(1)) if m else 0
    steady = figures[2:] if len(figures) > 4 else figures
    rss, fds, threads = ([f[k] for f in steady] for k in range(3))
    print(f"service soak: {len(runs)} runs ({frames} frames) in one insitud at {a.speed:g}x in {wall_s:.0f} s, "
          f"figures taken idle after each; before the first: VmRSS {idle[0]:.0f} MiB, {idle[1]} fds, {idle[2]} threads")
    print("after each run, VmRSS MiB: " + " ".join(f"{f[0]:.0f}" for f in figures))
    print("after each run, fds: " + " ".join(str(f[1]) for f in figures))
    print("after each run, threads: " + " ".join(str(f[2]) for f in figures))
    print(f"slopes over runs 3..{len(figures)}: VmRSS {slope(rss):+.2f} MiB/run, fds {slope(fds):+.2f}/run, "
          f"threads {slope(threads):+.2f}/run; run files complete: {len(runs) - len(problems)} of {len(runs)}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
