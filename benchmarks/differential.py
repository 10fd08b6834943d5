"""Differential test of the two evaluators (not a unit test; tests/test_reliability.py runs a small sample):
Engine(ps, "durable") and Engine(ps, "plain") over N generated cases (engine/docket.py), in W processes.

    python benchmarks/differential.py [--cases 100000] [--workers 2] [--seed 20261126] [--full-every 50]

For every option of every case both evaluators run on the same facts and must fire exactly the same rules
(rule, disjunct, mode, count, matched findings); every --full-every-th case is also advised in full by both
and the result documents must be equal apart from the engine's name. Prints the cases, options and firings
compared, the disagreements (case id, option, what differs), the rate and the wall time; exit 1 on any
disagreement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def compare(n: int, seed: int, shard: int = 0, shards: int = 1, full_every: int = 50,
            progress: bool = False) -> dict[str, Any]:
    """Compare the evaluators on cases shard, shard + shards, ... of generate(n, seed)."""
    from engine.casefile import CaseFile, default_circuit
    from engine.docket import generate
    from engine.errors import EngineError
    from engine.evaluate import Engine
    from engine.packs import load_all

    ps = load_all()
    durable, plain = Engine(ps, "durable"), Engine(ps, "plain")
    on = dt.date(2026, 11, 26)
    cases = options = firings = full = 0
    disagreements: list[str] = []
    t0 = time.perf_counter()
    for i, data in enumerate(generate(n, durable.catalogs, seed=seed)):
        if i % shards != shard:
            continue
        case = CaseFile.model_validate(data)
        circuit = case.circuit or default_circuit(case.jurisdiction)
        cases += 1
        for option in case.options:
            options += 1
            try:
                a = durable.run_option(case, option, on, circuit)
                b = plain.runner(a.program).run(a.opt_fact, a.cnt_facts)
            except EngineError as exc:
                disagreements.append(f"{data['case_id']}/{option.id}: engine failure: {exc}")
                continue
            firings += len(a.firings)
            if a.firings != b:
                only_d = sorted(f"{a.program.rules[f.rule].id}@{f.cid}/{f.mode}" for f in a.firings - b)
                only_p = sorted(f"{a.program.rules[f.rule].id}@{f.cid}/{f.mode}" for f in b - a.firings)
                disagreements.append(f"{data['case_id']}/{option.id}: durable only {only_d[:5]}, plain only {only_p[:5]}")
        if full_every and cases % full_every == 0:
            full += 1
            ra, rb = durable.advise(case), plain.advise(case)
            ra["engine"] = rb["engine"] = None
            if ra != rb:
                disagreements.append(f"{data['case_id']}: the result documents differ")
        if progress and cases % 2000 == 0:
            print(f"  worker {shard}: {cases} cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return {"cases": cases, "options": options, "firings": firings, "full": full, "disagreements": disagreements,
            "seconds": time.perf_counter() - t0}


def _worker(args: tuple[int, int, int, int, int]) -> dict[str, Any]:
    n, seed, shard, shards, full_every = args
    return compare(n, seed, shard, shards, full_every, progress=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--full-every", type=int, default=50)
    args = ap.parse_args()
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        parts = pool.map(_worker, [(args.cases, args.seed, k, args.workers, args.full_every) for k in range(args.workers)])
    total = {k: sum(p[k] for p in parts) for k in ("cases", "options", "firings", "full")}
    bad = [d for p in parts for d in p["disagreements"]]
    wall = time.perf_counter() - t0
    print(json.dumps({**total, "disagreements": len(bad), "seed": args.seed, "workers": args.workers,
                      "wall_seconds": round(wall, 1), "cases_per_second": round(total["cases"] / wall, 1)}))
    for d in bad[:50]:
        print("DISAGREE", d)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
