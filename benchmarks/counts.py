"""Counts benchmark (not a test): how `advise` and the counter-offer search grow with the number of counts in an
option.

    python benchmarks/counts.py [--counts 1,10,50,200] [--evaluator durable|plain] [--variant same|distinct]

One California option of N grand-theft counts (PC 487(a)), each a serious finding for a permanent resident.
`same`: N identical counts; `distinct`: each count with its own term and loss, so no two are alike (the worst
case for the search). For each N it reports the time of one evaluation of the option, of `advise` without and
with the counter-offer search, and how many re-evaluations the search made. The search is bounded
(engine/explain/strategy.py MAX_EVALUATIONS; identical counts tried once), so its cost is at most a fixed number of
evaluations whatever N is: it grows with N exactly as one evaluation does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def case_data(n: int, variant: str) -> dict[str, Any]:
    def count(i: int) -> dict[str, Any]:
        k = i if variant == "distinct" else 0
        return {"offense": {"statute": "PC 487(a)"}, "committed_on": "2026-03-14", "disposition": "conviction",
                "plea": "guilty", "record": {"loss_amount": 12000 + k}, "sentence": {"custody_days": 365 + k}}
    return {"format": 1, "jurisdiction": "US-CA", "as_of": "2026-11-26",
            "client": {"birth_date": "1990-01-01", "immigration": {"status": "lpr", "admission_date": "2010-01-01"}},
            "options": [{"id": "offer", "counts": [count(i) for i in range(n)]}]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="1,10,50,200")
    ap.add_argument("--evaluator", choices=["durable", "plain"], default="durable")
    ap.add_argument("--variant", choices=["same", "distinct"], default="distinct")
    ap.add_argument("--no-search-above", type=int, default=10**9, help="skip the search above this many counts")
    args = ap.parse_args()

    from engine.explain.evaluate import Engine
    from engine.law.packs import load_all
    from engine.model.casefile import CaseFile

    engine = Engine(load_all(jurisdictions={"US-CA"}), args.evaluator)
    engine.advise(CaseFile.model_validate(case_data(1, "same")))     # compile before timing
    on = dt.date(2026, 11, 26)
    calls = [0]
    original = engine.applying   # the search evaluates each candidate for its applying codes

    def counting(*a: Any, **k: Any) -> Any:
        calls[0] += 1
        return original(*a, **k)

    print(f"counts benchmark: {args.evaluator}, {args.variant} counts; python {sys.version.split()[0]}")
    print(f"{'counts':>7} {'1 evaluation s':>15} {'advise s':>10} {'advise+search s':>16} {'re-evaluations':>15} {'search / evaluation':>20}")
    for n in (int(x) for x in args.counts.split(",")):
        case = CaseFile.model_validate(case_data(n, args.variant))
        engine._firings.clear()   # every figure from a cold start: no firings kept from an earlier run
        t = time.perf_counter()
        engine.evaluate_option(case, case.options[0], on, 9)
        one = time.perf_counter() - t
        engine._firings.clear()
        t = time.perf_counter()
        engine.advise(case, alternatives=False)
        plain_advise = time.perf_counter() - t
        if n > args.no_search_above:
            print(f"{n:>7} {one:>15.2f} {plain_advise:>10.2f} {'(skipped)':>16}", flush=True)
            continue
        calls[0] = 0
        engine._firings.clear()
        engine.applying = counting   # type: ignore[method-assign]
        t = time.perf_counter()
        engine.advise(case, alternatives=True)
        with_search = time.perf_counter() - t
        engine.applying = original   # type: ignore[method-assign]
        search = max(with_search - plain_advise, 0.0)
        print(f"{n:>7} {one:>15.2f} {plain_advise:>10.2f} {with_search:>16.2f} {calls[0]:>15} {search / one:>20.1f}", flush=True)


if __name__ == "__main__":
    main()
