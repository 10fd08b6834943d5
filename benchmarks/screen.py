"""Screen benchmark (not a test): a generated docket of N cases (engine/batch/docket.py) through `collateral screen`
with --jobs 1 and --jobs 2 side by side, each a fresh `collateral screen` process, and the ratio. The generated
dates are made possible first (`plausible`: the generator draws them independently, and screen refuses a case
whose offense postdates the law date or whose conviction precedes its offense).

    python benchmarks/screen.py [--cases 2000] [--seed 20261126] [--jobs 1,2] [--evaluator durable]

Reports, per --jobs: the wall time of the whole command, its CPU time (all its processes: what the parallelism
costs, whatever else the machine runs), the peak RSS of its largest process (the command
itself with --jobs 1, else the largest worker), the time of the screening itself (from the first case
handed out to the last row back, as the command's summary gives it), cases/s on each, the ratio to the first
--jobs value, and whether the outputs are byte-identical (they must be: the order does not depend on the
parallelism). Also the machine: cores, processor, memory, load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def machine() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(), "cpu": cpu,
            "memory": mem, "python": platform.python_version(), "system": platform.platform(terse=True)}


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def plausible(case: dict[str, Any]) -> dict[str, Any]:
    """The generator draws dates independently; `screen` (like `advise`) refuses dates that cannot be true. Make
    them possible, deterministically: no offense after the law date or before birth, no conviction before its
    offense, no immigration date before birth. Everything else is left as generated."""
    on = case["as_of"]
    birth = case["client"]["birth_date"]
    im = case["client"]["immigration"]
    for k in ("admission_date", "lpr_date", "residence_since"):
        if k in im:
            im[k] = min(max(im[k], birth), on)
    for count in case["history"] + [c for o in case["options"] for c in o["counts"]]:
        if "committed_on" in count:
            count["committed_on"] = min(max(count["committed_on"], birth), on)
        if "convicted_on" in count:
            count["convicted_on"] = min(max(count["convicted_on"], count.get("committed_on", birth)), on)
    return case


def generate(n: int, seed: int, target: Path) -> None:
    from engine.batch.docket import generate as make
    from engine.explain.evaluate import Engine
    from engine.law.packs import load_all

    catalogs = Engine(load_all(), "plain").catalogs
    with open(target, "w", encoding="utf-8") as fh:
        for case in make(n, catalogs, seed=seed):
            fh.write(json.dumps(plausible(case), separators=(",", ":")) + "\n")


def screen(docket: Path, out: Path, jobs: int, evaluator: str) -> dict[str, object]:
    cmd = [sys.executable, str(ROOT / "cli.py"), "screen", str(docket), "-o", str(out), "--jobs", str(jobs),
           "--evaluator", evaluator]
    # through a small wrapper that reports the peak RSS of the largest process of the run (the command or a worker)
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print('peak-rss-kb', u.ru_maxrss, 'cpu-s', u.ru_utime + u.ru_stime, file=sys.stderr); "
               "sys.exit(r.returncode)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - t0
    rss = re.search(r"peak-rss-kb (\d+) cpu-s ([0-9.]+)", proc.stderr)
    if proc.returncode not in (0, 1):   # 1: some cases went to the errors file
        sys.exit(f"collateral screen failed ({proc.returncode}):\n{proc.stderr}")
    last = proc.stdout.strip().splitlines()[-1]
    m = re.search(r"; ([0-9.]+) s$", last)
    seconds = float(m.group(1)) if m else wall
    errors = re.search(r"(\d+) error\(s\)", last)
    return {"jobs": jobs, "wall_s": round(wall, 1), "screen_s": round(seconds, 1), "summary": last,
            "peak_rss_mb": round(int(rss.group(1)) / 1024) if rss else 0, "cpu_s": round(float(rss.group(2)), 1) if rss else 0.0,
            "errors": int(errors.group(1)) if errors else 0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values, the first is the baseline")
    ap.add_argument("--evaluator", choices=["durable", "plain"], default="durable")
    args = ap.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    with tempfile.TemporaryDirectory(prefix="collateral-screen-bench-") as tmp:
        docket = Path(tmp) / "docket.jsonl"
        generate(args.cases, args.seed, docket)
        before = load()
        runs = []
        for j in jobs:
            out = Path(tmp) / f"rows-jobs{j}.csv"
            r = screen(docket, out, j, args.evaluator)
            r["bytes"] = out.read_bytes()
            runs.append(r)
        after = load()
        m = machine()
        print(f"docket: {args.cases} cases (seed {args.seed}), evaluator {args.evaluator}; "
              f"{m['cores']} cores, {m['cpu']}, {m['memory']}; python {m['python']}; load average before {before}, after {after}")
        print(f"{'--jobs':>7}{'wall s':>10}{'screen s':>10}{'cases/s':>10}{'ratio':>8}{'CPU s':>9}{'cases/CPU-s':>13}"
              f"{'peak RSS MB':>13}  errors")
        base = args.cases / float(str(runs[0]["screen_s"]))
        for r in runs:
            rate = args.cases / float(str(r["screen_s"]))
            cpu = float(str(r["cpu_s"])) or 1.0
            print(f"{r['jobs']:>7}{r['wall_s']:>10}{r['screen_s']:>10}{rate:>10.2f}{rate / base:>8.2f}{r['cpu_s']:>9}"
                  f"{args.cases / cpu:>13.2f}{r['peak_rss_mb']:>13}  {r['errors']}")
        same = all(r["bytes"] == runs[0]["bytes"] for r in runs)
        print(f"outputs byte-identical across --jobs: {'yes' if same else 'NO'}")
        print(f"summary line of the last run: {runs[-1]['summary']}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
