"""Safer alternatives found automatically: for each serious consequence of an option, the smallest changes
to a negotiable term that the rules themselves turn on (a sentence length, a loss amount, a quantity, the
prong of a divisible statute, the disposition, the substance named), each re-evaluated with the full rule set
to report what it avoids and anything new it triggers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

from pydantic import ValidationError

from engine.compile.compiler import Leaf, Program, leaves
from engine.law.catalog import CatalogEntry, max_days_on
from engine.law.packs import SEVERITY_ORDER
from engine.model import casefile as cf

# count facts a plea negotiation can change, and how a patch is written into the case file
NEGOTIABLE_NUMBERS = {
    "count.sentence.custody_days": ("sentence", "custody_days"),
    "count.sentence.confined_days": ("sentence", "custody_days"),
    "count.record.loss_amount": ("record", "loss_amount"),
    "count.record.quantity_grams": ("record", "quantity_grams"),
    "count.sentence.probation_months": ("sentence", "probation_months"),
}
NON_CONVICTION = ("diversion_no_plea",)
# Each candidate change re-evaluates the whole option, whose cost grows with its counts: at most this many are
# evaluated per option (the smallest changes first), and a count identical to an earlier one is not tried again
# (the same change gives the same result), so the search costs a bounded number of evaluations however many
# counts there are (docs/limits.md; benchmarks/counts.py). Cases of 1-4 counts need at most about 35.
MAX_EVALUATIONS = 48
SERIOUS = ("high", "critical")
LABELS = {"custody_days": "a term of {} days (counting suspended time)", "loss_amount": "a loss of ${} tied to the count",
          "quantity_grams": "{} grams", "probation_months": "{} months of probation"}


def _boundary(op: str, value: Any, current: Any) -> Optional[Any]:
    """The value nearest `current` that makes `fact op value` false."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    step = 1 if isinstance(value, int) else 0.01
    target = {"ge": value - step, "gt": value, "le": value + step, "lt": value}.get(op)
    if target is None or target < 0:
        return None
    if isinstance(current, (int, float)) and {"ge": current < value, "gt": current <= value,
                                               "le": current > value, "lt": current >= value}[op]:
        return None   # the current value already falls outside
    return target


def _rule_leaves(program: Program, codes: set[str]) -> list[Leaf]:
    """Count-fact leaves of every rule that concludes one of the codes."""
    out: list[Leaf] = []
    for r in program.rules:
        if r.produces in codes:
            for d in r.disjuncts:
                out.extend(leaves(d.cnt))
    return out


def related_offenses(catalogs: Any, jurisdiction: str, entry: Optional[CatalogEntry]) -> list[CatalogEntry]:
    """Other statutes of the same catalog that the entry's own notes name (the catalog authors' safer
    alternatives and lesser offenses)."""
    if entry is None or not entry.notes:
        return []
    table = catalogs.by_jurisdiction.get(jurisdiction, {})
    found: dict[str, CatalogEntry] = {}
    for other in {id(e): e for e in table.values()}.values():
        if other.statute == entry.statute:
            continue
        for key in [other.statute, *other.aliases]:
            if key in entry.notes and re.search(r"(?<![\w.(])" + re.escape(key) + r"(?![\w(]|\.\d)", entry.notes):
                found[other.statute] = other
                break
    return [found[k] for k in sorted(found)]


def _patch_case(case: cf.CaseFile, option_id: str, idx: int, where: tuple[str, ...], value: Any) -> cf.CaseFile:
    data = case.model_dump(by_alias=True, exclude_none=True)
    opt = next(o for o in data["options"] if o["id"] == option_id)
    if where == ("offense",):   # a different statute: the catalog supplies its attributes
        value = dict(value)
        custody = value.pop("_custody")
        opt["counts"][idx]["offense"] = value
        if custody is not None:
            s = opt["counts"][idx].setdefault("sentence", {})
            s["custody_days"] = custody
            if s.get("suspended_days") is not None and s["suspended_days"] > custody:
                s["suspended_days"] = custody
        return cf.CaseFile.model_validate(data)
    node = opt["counts"][idx]
    for part in where[:-1]:
        node = node.setdefault(part, {})
    node[where[-1]] = value
    if where == ("sentence", "custody_days"):
        s = opt["counts"][idx]["sentence"]
        if s.get("suspended_days") is not None and s["suspended_days"] > value:
            s["suspended_days"] = value
    opt["id"] = option_id
    return cf.CaseFile.model_validate(data)


def alternatives(engine: Any, case: cf.CaseFile, option: dict[str, Any], on: dt.date, circuit: Optional[int],
                 limit: int = 6) -> list[dict[str, Any]]:
    program = engine.program(case.jurisdiction, circuit, on)
    applying = {f["code"]: f for f in option["findings"] if f["status"] == "applies"}
    serious = {f["code"] for f in applying.values() if f["severity"] in SERIOUS and f["kind"] == "consequence"}
    if not serious:
        return []
    # the codes each serious consequence rests on, down the chain
    by_id = {f["id"]: f for f in option["findings"]}
    chain: set[str] = set()
    seen_ids: set[str] = set()
    todo = [f["id"] for f in option["findings"] if f["code"] in serious and f["status"] == "applies"]
    while todo:
        fid = todo.pop()
        if fid in seen_ids or fid not in by_id:
            continue
        seen_ids.add(fid)
        chain.add(by_id[fid]["code"])
        todo.extend(by_id[fid]["because"])
    opt_model = next(o for o in case.options if o.id == option["id"])
    leaves_of_chain = _rule_leaves(program, chain)
    first_like: dict[str, int] = {}
    for idx, count in enumerate(opt_model.counts):
        first_like.setdefault(count.model_dump_json(), idx)
    distinct = [(idx, count) for idx, count in enumerate(opt_model.counts) if first_like[count.model_dump_json()] == idx]
    candidates: list[tuple[str, dict[str, Any], int, tuple[str, ...], Any, float]] = []
    seen: set[tuple[int, tuple[str, ...], Any]] = set()
    for lf in leaves_of_chain:
        path = lf.paths[0]
        if path not in NEGOTIABLE_NUMBERS or len(lf.paths) != 1:
            continue
        where: tuple[str, ...] = NEGOTIABLE_NUMBERS[path]
        for idx, count in distinct:
            current = getattr(getattr(count, where[0]), where[1])
            target = _boundary(lf.op, lf.value, current)
            if target is None or (idx, where, target) in seen:
                continue
            if path == "count.sentence.confined_days":
                continue   # actual confinement is written through custody and suspended time
            seen.add((idx, where, target))
            label = f"Count {idx + 1}: {LABELS[where[1]].format(target)} instead of {LABELS[where[1]].format(current) if current is not None else 'an unstated figure'}"
            cost = abs(float(target) - float(current)) / max(abs(float(current)), 1.0) if current is not None else 0.5
            candidates.append((label, {f"counts[{idx}].{'.'.join(where)}": target}, idx, where, target, cost))
    related: dict[tuple[str, str], list[CatalogEntry]] = {}
    for idx, count in distinct:
        juris = count.offense.jurisdiction or case.jurisdiction
        entry = engine.catalogs.lookup(juris, count.offense.statute)
        if entry is not None and (juris, entry.statute) not in related:
            related[(juris, entry.statute)] = related_offenses(engine.catalogs, juris, entry)
        for alt in related.get((juris, entry.statute), []) if entry is not None else []:
            alt_max = max_days_on(alt.max_days, on)
            custody = count.sentence.custody_days
            capped = min(custody, alt_max) if custody is not None and alt_max is not None else custody
            label = f"Count {idx + 1}: plead to {alt.statute} ({alt.title or alt.citation}) instead of {entry.statute if entry else count.offense.statute}"
            if capped != custody:
                label += f", with the term capped at its {alt_max}-day maximum"
            candidates.append((label, {f"counts[{idx}].offense.statute": alt.statute}, idx, ("offense",),
                               {"statute": alt.statute, "jurisdiction": juris, "_custody": capped}, 1.0))
        if entry is not None and entry.divisible and entry.prongs:
            named = engine.catalogs.named_prong(count.offense, case.jurisdiction, count.record.substance)
            # the drug the record names fixes a substance alternative: another one would be a plea to another drug
            drug = count.record.substance
            by_drug = drug is not None and any(drug in p.substances for p in entry.prongs)
            for p in entry.prongs:
                if p.id != named and not (by_drug and drug not in p.substances):
                    candidates.append((f"Count {idx + 1}: plead to prong {p.id} of {entry.statute}" + (f" ({p.title})" if p.title else ""),
                                       {f"counts[{idx}].offense.prong": p.id}, idx, ("offense", "prong"), p.id, 0.5))
        if count.record.substance not in (None, "unspecified") and any(lf.paths[0] == "count.record.substance" for lf in leaves_of_chain):
            candidates.append((f"Count {idx + 1}: record names no specific substance", {f"counts[{idx}].record.substance": "unspecified"},
                               idx, ("record", "substance"), "unspecified", 0.3))
        if count.disposition in (None, "conviction", "deferred_adjudication", "withheld_adjudication"):
            for d in NON_CONVICTION:
                candidates.append((f"Count {idx + 1}: pre-plea diversion with no plea or admission instead of {(count.disposition or 'an unstated disposition').replace('_', ' ')}",
                                   {f"counts[{idx}].disposition": d}, idx, ("disposition",), d, 2.0))
    sev = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    results: list[dict[str, Any]] = []
    candidates.sort(key=lambda c: (c[5], c[2], c[0]))
    if len(candidates) > MAX_EVALUATIONS:
        option["alternatives_limit"] = {"evaluated": MAX_EVALUATIONS, "candidates": len(candidates)}
    for label, patch, idx, where, value, cost in candidates[:MAX_EVALUATIONS]:
        try:
            patched = _patch_case(case, option["id"], idx, where, value)
        except ValidationError:   # a patch the case-file schema rejects is not an alternative; any other error is a bug
            continue
        p_opt = next(o for o in patched.options if o.id == option["id"])
        after = engine.applying(patched, p_opt, on, circuit)   # codes only: no chains, questions or money
        avoids = sorted(c for c in applying if c not in after and applying[c]["kind"] == "consequence")
        triggers = sorted(c for c in after if c not in applying and after[c]["kind"] == "consequence")
        if not any(c in serious for c in avoids):
            continue
        order = sorted(avoids, key=lambda c: (-sev[applying[c]["severity"]], c))
        results.append({"change": label, "patch": patch, "avoids": avoids, "triggers": triggers, "_cost": cost,
                        "avoids_titles": [applying[c]["title"] for c in order if applying[c]["severity"] in SERIOUS],
                        "avoids_other": sum(1 for c in avoids if applying[c]["severity"] not in SERIOUS),
                        "triggers_titles": [after[c]["title"] for c in triggers]})
    # for each serious consequence, the smallest change that avoids it; then any others, smallest first
    picked: list[dict[str, Any]] = []
    for code in sorted(serious, key=lambda c: (-sev[applying[c]["severity"]], c)):
        best = min((r for r in results if code in r["avoids"] and not r["triggers"]), key=lambda r: (r["_cost"], r["change"]), default=None)
        best = best or min((r for r in results if code in r["avoids"]), key=lambda r: (r["_cost"], r["change"]), default=None)
        if best is not None and best not in picked:
            picked.append(best)
    picked.sort(key=lambda r: (r["_cost"], r["change"]))
    for r in picked:
        del r["_cost"]
    return picked[:limit]
