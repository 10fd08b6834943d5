"""Docket benchmark (not a test): a synthetic docket of N cases (1-4 counts, 2 options each) through the real
packs, with the durable_rules engine and the plain evaluator side by side, each in a fresh process.

    python benchmarks/docket.py [--cases 1000] [--seed 20261126]

Reports options evaluated per second (the whole `advise`: facts, engine, explanations; and the engine core
alone: rule matching and chaining), each evaluator in a process of its own and both side by side in one
process, case by case (the ratios: a shared host's changes of speed weigh on both alike), peak RSS, RSS after each quarter of the docket (flat memory), and the
wall time of one `collateral advise` from a cold start (median of 5 runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker(evaluator: str, n: int, seed: int) -> dict[str, object]:
    from engine.batch.docket import generate
    from engine.explain.evaluate import Engine
    from engine.law.packs import load_all
    from engine.model.casefile import CaseFile

    engine = Engine(load_all(), evaluator)
    cases = [CaseFile.model_validate(c) for c in generate(n, engine.catalogs, seed=seed)]
    on = dt.date(2026, 11, 26)
    seen: set[str] = set()
    for c in cases:                              # compile and register every jurisdiction's program before timing
        if c.jurisdiction not in seen:
            seen.add(c.jurisdiction)
            engine.advise(c)
    rss_after_setup = rss_mb()
    options = sum(len(c.options) for c in cases)
    marks = []
    engine._firings.clear()   # nothing kept from the warm-up (firings are reused only within what is timed)
    t0 = time.perf_counter()
    for i, case in enumerate(cases, 1):
        engine.advise(case)
        if i % max(1, n // 4) == 0:
            marks.append(round(rss_mb(), 1))
    full = time.perf_counter() - t0
    # the engine core alone: facts already built, only matching and chaining
    runs = []
    for case in cases:
        circuit = case.circuit
        for o in case.options:
            runs.append(engine.run_option(case, o, on, circuit))
    runner = engine.runner(runs[0].program)
    t1 = time.perf_counter()
    for r in runs:
        engine.runner(r.program).run(r.opt_fact, r.cnt_facts)
    core = time.perf_counter() - t1
    del runner
    # the floor: building the facts and walking the compiled conditions once, with no rule engine at all
    from engine.run.runtime import activations

    class Floor:
        def __init__(self, program: Any) -> None:
            self.program = program

        def run(self, opt: Any, cnts: Any, acts: Any = None) -> set[Any]:
            if acts is None:
                activations(self.program, opt, cnts)
            return set()
    real_runner = engine.runner
    engine.runner = Floor   # type: ignore[method-assign,assignment]
    engine._firings.clear()
    import engine.explain.evaluate as evaluate
    kept, evaluate.FIRINGS_KEPT = evaluate.FIRINGS_KEPT, 0   # the floor walks every option: no reuse
    t2 = time.perf_counter()
    for case in cases:
        for o in case.options:
            engine.run_option(case, o, on, case.circuit)
    floor = time.perf_counter() - t2
    engine.runner = real_runner   # type: ignore[method-assign]
    evaluate.FIRINGS_KEPT = kept
    return {"evaluator": evaluator, "cases": n, "options": options,
            "advise_options_per_s": round(options / full, 1), "core_options_per_s": round(len(runs) / core, 1),
            "floor_options_per_s": round(options / floor, 1),
            "rss_after_setup_mb": round(rss_after_setup, 1), "rss_by_quarter_mb": marks,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def interleaved(n: int, seed: int) -> dict[str, object]:
    """durable_rules and plain side by side in one process, case by case (the order alternating), so that a
    change in the machine's speed during the run (a shared host) weighs on both alike: the ratios come from here."""
    from engine.batch.docket import generate
    from engine.explain.evaluate import Engine
    from engine.law.packs import load_all
    from engine.model.casefile import CaseFile

    ps = load_all()
    engines = {"durable": Engine(ps, "durable"), "plain": Engine(ps, "plain")}
    cases = [CaseFile.model_validate(c) for c in generate(n, engines["plain"].catalogs, seed=seed)]
    on = dt.date(2026, 11, 26)
    seen: set[str] = set()
    for c in cases:
        if c.jurisdiction not in seen:
            seen.add(c.jurisdiction)
            for e in engines.values():
                e.advise(c)
    for e in engines.values():
        e._firings.clear()
    advise = {"durable": 0.0, "plain": 0.0}
    for i, case in enumerate(cases):
        for ev in (("durable", "plain") if i % 2 == 0 else ("plain", "durable")):
            t = time.perf_counter()
            engines[ev].advise(case)
            advise[ev] += time.perf_counter() - t
    runs = [(case, o) for case in cases for o in case.options]
    built = {ev: [e.run_option(c, o, on, c.circuit) for c, o in runs] for ev, e in engines.items()}
    core = {"durable": 0.0, "plain": 0.0}
    for i in range(len(runs)):
        for ev in (("durable", "plain") if i % 2 == 0 else ("plain", "durable")):
            r = built[ev][i]
            runner = engines[ev].runner(r.program)
            t = time.perf_counter()
            runner.run(r.opt_fact, r.cnt_facts)
            core[ev] += time.perf_counter() - t
    return {ev: {"advise_options_per_s": round(len(runs) / advise[ev], 1), "core_options_per_s": round(len(runs) / core[ev], 1)}
            for ev in engines}


def bare_start() -> float:
    """A bare interpreter start of the same environment (median of 5), the unit of the cold-start target."""
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 3)


def cold_advise() -> float:
    example = ROOT / "examples" / "ca-theft-lpr.yaml"
    exe = [sys.executable, str(ROOT / "cli.py"), "advise", str(example)]
    subprocess.run(exe, check=True, capture_output=True)           # warm the pack cache once
    times = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(exe, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--worker", choices=["durable", "plain", "both"])
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(interleaved(args.cases, args.seed) if args.worker == "both" else worker(args.worker, args.cases, args.seed)))
        return
    results = {}
    for ev in ("durable", "plain", "both"):
        out = subprocess.run([sys.executable, __file__, "--worker", ev, "--cases", str(args.cases), "--seed", str(args.seed)],
                             check=True, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        results[ev] = json.loads(out.stdout.strip().splitlines()[-1])
    d, p, both = results["durable"], results["plain"], results["both"]
    print(f"docket: {args.cases} cases, {d['options']} options (seed {args.seed}); python {sys.version.split()[0]}")
    print(f"{'':28}{'durable_rules':>16}{'plain':>12}")
    for key, label in [("advise_options_per_s", "advise, options/s"), ("core_options_per_s", "engine core, options/s"),
                       ("floor_options_per_s", "floor, options/s"),
                       ("rss_after_setup_mb", "RSS after setup, MB"), ("peak_rss_mb", "peak RSS, MB")]:
        print(f"{label:28}{d[key]:>16}{p[key]:>12}")
    print(f"{'RSS by quarter, MB':28}{str(d['rss_by_quarter_mb']):>16}  {p['rss_by_quarter_mb']}")
    bd, bp = both["durable"], both["plain"]
    print(f"side by side in one process, case by case: advise {bd['advise_options_per_s']} and {bp['advise_options_per_s']} "
          f"options/s, core {bd['core_options_per_s']} and {bp['core_options_per_s']}")
    print(f"ratio durable/plain (side by side): advise {bd['advise_options_per_s'] / bp['advise_options_per_s']:.2f}, "
          f"core {bd['core_options_per_s'] / bp['core_options_per_s']:.2f}; in separate processes: advise "
          f"{d['advise_options_per_s'] / p['advise_options_per_s']:.2f}, core {d['core_options_per_s'] / p['core_options_per_s']:.2f}")
    print(f"whole advise / floor: durable {d['floor_options_per_s'] / d['advise_options_per_s']:.1f}x, "
          f"plain {p['floor_options_per_s'] / p['advise_options_per_s']:.1f}x (the floor: facts built and conditions "
          "walked once per option, no rule engine)")
    cold, bare = cold_advise(), bare_start()
    print(f"cold `collateral advise` on the example (median of 5): {cold} s; bare interpreter start {bare} s; "
          f"ratio {cold / bare:.1f}x")


if __name__ == "__main__":
    main()
