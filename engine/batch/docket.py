"""A synthetic docket: reproducible random case files built from the offense catalogs, with values around
the legal thresholds and some facts left unknown. Used by the evaluator-agreement tests and the benchmark."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from engine.law.catalog import Catalogs

STATUSES = ["lpr", "lpr", "lpr", "conditional_lpr", "refugee", "asylee", "nonimmigrant", "daca", "tps", "parolee",
            "undocumented", "undocumented", "us_citizen", None]
DISPOSITIONS = ["conviction"] * 6 + ["deferred_adjudication", "withheld_adjudication", "diversion_no_plea", None]
DAYS = [0, 30, 90, 179, 180, 181, 364, 365, 366, 730, None]
SUBSTANCES = ["cocaine", "heroin", "methamphetamine", "marijuana", "unspecified", "not_federally_controlled", None]
RELATIONSHIPS = ["spouse", "dating", "child", "other", "none", None]
GOALS = ["remain", "travel", "naturalize", "adjust"]


AS_OF = dt.date(2026, 11, 26)


def _date(rng: random.Random, start: int, end: int, after: str = "") -> str:
    """A day in the years start..end, never after AS_OF, and not before `after` (a date) when one is given."""
    lo = dt.date(start, 1, 1).toordinal()
    if after:
        lo = max(lo, dt.date.fromisoformat(after).toordinal())
    hi = max(lo, min(dt.date(end, 12, 31), AS_OF).toordinal())
    return dt.date.fromordinal(rng.randint(lo, hi)).isoformat()


def _maybe(rng: random.Random, value: Any, p_unknown: float = 0.15) -> Any:
    return None if rng.random() < p_unknown else value


def _count(rng: random.Random, statutes: list[tuple[str, str]], history: bool, adult: str) -> dict[str, Any]:
    """One count; `adult` is the client's 16th birthday (no offense before it)."""
    juris, statute = rng.choice(statutes)
    record = {k: v for k, v in {
        "loss_amount": _maybe(rng, rng.choice([500, 9999, 10000, 10001, 25000])),
        "substance": rng.choice(SUBSTANCES),
        "quantity_grams": _maybe(rng, rng.choice([1.0, 29.9, 30.0, 31.0, 200.0])),
        "personal_use": _maybe(rng, rng.random() < 0.5, 0.3),
        "remuneration": rng.choice(["yes", "no", None]),
        "victim_relationship": rng.choice(RELATIONSHIPS),
        "victim_age": _maybe(rng, rng.choice([12, 15, 16, 17, 30]), 0.5),
        "firearm": _maybe(rng, rng.random() < 0.2, 0.3),
        "protection_order_violation_found": _maybe(rng, rng.random() < 0.1, 0.3),
    }.items() if v is not None}
    sentence = {k: v for k, v in {
        "custody_days": rng.choice(DAYS),
        "probation_months": _maybe(rng, rng.choice([0, 12, 36])),
        "fine": _maybe(rng, rng.choice([0, 250, 1000])),
    }.items() if v is not None}
    c: dict[str, Any] = {
        "offense": {"statute": statute, "jurisdiction": juris},
        "committed_on": _maybe(rng, _date(rng, 2000 if history else 2024, 2020 if history else 2026, adult)),
        "disposition": rng.choice(DISPOSITIONS),
        "plea": rng.choice(["guilty", "nolo_contendere", "alford", None]),
        "record": record,
        "sentence": sentence,
    }
    if history:   # a conviction follows the offense (or, with the offense date unknown, the 16th birthday)
        c["convicted_on"] = _date(rng, 2001, 2021, c["committed_on"] or adult)
    return {k: v for k, v in c.items() if v is not None}


def generate(n: int, catalogs: Catalogs, seed: int = 20261126, counts: tuple[int, int] = (1, 4), options: int = 2) -> list[dict[str, Any]]:
    """n case files (as dicts) with `options` plea options of 1-4 counts each."""
    rng = random.Random(seed)
    by_juris = {j: sorted({e.statute for e in table.values()}) for j, table in sorted(catalogs.by_jurisdiction.items())}
    cases = []
    for i in range(n):
        juris = rng.choice(sorted(by_juris))
        statutes = [(juris, s) for s in by_juris[juris]]
        if "US" in by_juris and juris != "US":
            statutes += [("US", s) for s in by_juris["US"][:5]]
        birth = _date(rng, 1960, 2004)
        adult = (dt.date.fromisoformat(birth) + dt.timedelta(days=16 * 365 + 4)).isoformat()
        status = rng.choice(STATUSES)
        imm = {k: v for k, v in {
            "status": status,
            "admission_date": _maybe(rng, _date(rng, 1995, 2024, birth), 0.3) if status not in ("undocumented", "parolee", None) else None,
            "lpr_date": _maybe(rng, _date(rng, 1995, 2024, birth), 0.3) if status in ("lpr", "conditional_lpr") else None,
            "residence_since": _maybe(rng, _date(rng, 1990, 2020, birth), 0.3),
            "goals": rng.sample(GOALS, rng.randint(0, 3)),
            "conduct": _maybe(rng, [], 0.5),
            "prior_relief": _maybe(rng, [], 0.5),
            "prior_removal": _maybe(rng, False, 0.5),
        }.items() if v is not None}
        case = {
            "format": 1,
            "case_id": f"SYN-{i:05d}",
            "jurisdiction": "US" if juris == "US" else juris,
            "as_of": AS_OF.isoformat(),
            "client": {"birth_date": birth, "immigration": imm, "priorities": ["immigration", "employment", "fines"]},
            "history": [_count(rng, statutes, True, adult) for _ in range(rng.choice([0, 0, 1, 2]))],
            "options": [{"id": f"opt{k}", "counts": [_count(rng, statutes, False, adult) for _ in range(rng.randint(*counts))]}
                        for k in range(options)],
        }
        cases.append(case)
    return cases
