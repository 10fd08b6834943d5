"""Differential test of the two evaluators (not a unit test; tests/test_reliability.py runs a small sample):
Engine(ps, "durable") and Engine(ps, "plain") over N generated cases (engine/batch/docket.py), in W processes.

    python benchmarks/differential.py [--cases 100000] [--workers 2] [--seed 20261126] [--full-every 50]

For every option of every case both evaluators run on the same facts and must fire exactly the same rules
(rule, disjunct, mode, count, matched findings); every --full-every-th case is also advised in full by both
and the result documents must be equal apart from the engine's name. A worker that dies (durable_rules can
crash the process) is restarted after the case it died on, which is reported as a disagreement. Prints the
cases, options and firings compared, the disagreements (case id, option, what differs), the rate and the wall
time; exit 1 on any disagreement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOTALS = ("cases", "options", "firings", "full")


def compare(n: int, seed: int, shard: int = 0, shards: int = 1, full_every: int = 50, progress: bool = False,
            start: int = 0, mark: Optional[Path] = None) -> dict[str, Any]:
    """Compare the evaluators on cases shard, shard + shards, ... of generate(n, seed), from index `start`. With
    `mark`, the index of the case under way and the totals so far are kept in that file (for a crash)."""
    from engine.batch.docket import generate
    from engine.explain.evaluate import Engine
    from engine.law.packs import load_all
    from engine.model.casefile import CaseFile, default_circuit
    from engine.model.errors import EngineError

    ps = load_all()
    durable, plain = Engine(ps, "durable"), Engine(ps, "plain")
    on = dt.date(2026, 11, 26)
    out: dict[str, Any] = {k: 0 for k in TOTALS}
    out["disagreements"] = []
    t0 = time.perf_counter()
    for i, data in enumerate(generate(n, durable.catalogs, seed=seed)):
        if i % shards != shard or i < start:
            continue
        if mark is not None:
            mark.write_text(json.dumps({**out, "at": i, "case_id": data["case_id"]}))
        case = CaseFile.model_validate(data)
        circuit = case.circuit or default_circuit(case.jurisdiction)
        out["cases"] += 1
        for option in case.options:
            out["options"] += 1
            try:
                a = durable.run_option(case, option, on, circuit)
                b = plain.runner(a.program).run(a.opt_fact, a.cnt_facts)
            except EngineError as exc:
                out["disagreements"].append(f"{data['case_id']}/{option.id}: engine failure: {exc}")
                continue
            out["firings"] += len(a.firings)
            if a.firings != b:
                only_d = sorted(f"{a.program.rules[f.rule].id}@{f.cid}/{f.mode}" for f in a.firings - b)
                only_p = sorted(f"{a.program.rules[f.rule].id}@{f.cid}/{f.mode}" for f in b - a.firings)
                out["disagreements"].append(f"{data['case_id']}/{option.id}: durable only {only_d[:5]}, plain only {only_p[:5]}")
        if full_every and out["cases"] % full_every == 0:
            out["full"] += 1
            ra, rb = durable.advise(case), plain.advise(case)
            ra["engine"] = rb["engine"] = None
            if ra != rb:
                out["disagreements"].append(f"{data['case_id']}: the result documents differ")
        if progress and out["cases"] % 2000 == 0:
            print(f"  worker {shard}: {out['cases']} cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    out["seconds"] = time.perf_counter() - t0
    del durable, plain      # close the durable_rules sessions before the interpreter shuts down
    import gc
    gc.collect()
    return out


def _shard(args: argparse.Namespace, k: int, results: list[dict[str, Any]]) -> None:
    """Run shard k to the end, restarting its worker after the case it died on."""
    total: dict[str, Any] = {key: 0 for key in TOTALS}
    total["disagreements"] = []
    start = 0
    with tempfile.TemporaryDirectory(prefix="collateral-differential-") as tmp:
        mark = Path(tmp) / "mark.json"
        while True:
            proc = subprocess.run([sys.executable, __file__, "--cases", str(args.cases), "--workers", str(args.workers),
                                   "--seed", str(args.seed), "--full-every", str(args.full_every), "--shard", str(k),
                                   "--start", str(start), "--mark", str(mark)],
                                  stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if proc.returncode == 0:
                part = json.loads(proc.stdout.strip().splitlines()[-1])
                for key in TOTALS:
                    total[key] += part[key]
                total["disagreements"] += part["disagreements"]
                break
            state = json.loads(mark.read_text())
            for key in TOTALS:
                total[key] += state[key]
            total["cases"] += 1
            total["disagreements"] += state["disagreements"] + [
                f"{state['case_id']}: the durable_rules worker died (exit {proc.returncode})"]
            print(f"  worker {k}: died on {state['case_id']} (exit {proc.returncode}); restarting after it",
                  file=sys.stderr, flush=True)
            start = state["at"] + 1
    results[k] = total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--full-every", type=int, default=50)
    ap.add_argument("--shard", type=int, default=None, help=argparse.SUPPRESS)   # a worker process
    ap.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--mark", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.shard is not None:
        print(json.dumps(compare(args.cases, args.seed, args.shard, args.workers, args.full_every, progress=True,
                                 start=args.start, mark=args.mark)))
        return
    t0 = time.perf_counter()
    parts: list[dict[str, Any]] = [{} for _ in range(args.workers)]
    threads = [threading.Thread(target=_shard, args=(args, k, parts)) for k in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = {k: sum(p[k] for p in parts) for k in TOTALS}
    bad = [d for p in parts for d in p["disagreements"]]
    wall = time.perf_counter() - t0
    print(json.dumps({**total, "disagreements": len(bad), "seed": args.seed, "workers": args.workers,
                      "wall_seconds": round(wall, 1), "cases_per_second": round(total["cases"] / wall, 1)}))
    for d in bad[:200]:
        print("DISAGREE", d)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
