"""The fact model the rules read: every readable path, its type, and how it is built from a case file.

Facts are flat. The option fact (`opt`) holds the case and client facts; one count fact (`cnt`) per count of
the option and per history item. A fact that the case file does not give is simply absent: unknown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Optional, get_args

from engine.law.catalog import FORCE_ORDER, MENS_REA_ORDER, Catalogs, ResolvedOffense
from engine.model import casefile as cf

FactType = Literal["date", "int", "number", "bool", "enum", "tags", "str"]
# Who decides a fact, and so where an unknown one goes (docs/rule-authoring.md, "Who decides an unknown"):
#   client: the client knows it (status, dates, licenses, benefits): a question to the client
#   plea: a term counsel negotiates (sentence, disposition, plea): a negotiation instruction
#   record: what the record of conviction establishes (substance, remuneration, victim's age): counsel controls
#     it; a rule that declares a burden resolves a silent record by it, others report it as counsel's item
#   classification: what the statute is (catalog or the given elements): an open legal question for counsel
#   case: set by the case file itself
FactKind = Literal["client", "plea", "record", "classification", "case"]


@dataclass(frozen=True)
class FactSpec:
    path: str
    type: FactType
    scope: Literal["opt", "cnt"]
    choices: tuple[str, ...] = ()   # enum values, or the closed vocabulary of a tags fact
    ordered: bool = False           # choices are in increasing order (lt/ge allowed)
    open_vocabulary: bool = False   # tags whose values come from the packs (license types, elements)
    kind: FactKind = "client"
    # record facts the law proves with any reliable evidence, not only the record of conviction (the
    # circumstance-specific approach of Nijhawan v. Holder, 557 U.S. 29, 38-40 (2009)): a silent record does
    # not decide them, so they stay `possible` even under a burden
    circumstance_specific: bool = False

    @property
    def key(self) -> str:
        return self.path.replace(".", "__")


def _lit(t: Any) -> tuple[str, ...]:
    return tuple(get_args(t))



_SPECS = [
    FactSpec("case.as_of", "date", "opt", kind="case"),
    FactSpec("case.jurisdiction", "str", "opt", kind="case"),
    FactSpec("case.circuit", "int", "opt", kind="case"),
    FactSpec("client.birth_date", "date", "opt"),
    FactSpec("client.age", "int", "opt"),
    FactSpec("client.immigration.status", "enum", "opt", _lit(cf.Status)),
    FactSpec("client.immigration.admitted", "bool", "opt"),
    FactSpec("client.immigration.admission_date", "date", "opt"),
    FactSpec("client.immigration.lpr_date", "date", "opt"),
    FactSpec("client.immigration.residence_since", "date", "opt"),
    FactSpec("client.immigration.lpr_admitted_at_port", "bool", "opt"),
    FactSpec("client.immigration.age_at_lpr", "int", "opt"),
    FactSpec("client.immigration.goals", "tags", "opt", _lit(cf.Goal)),
    FactSpec("client.immigration.conduct", "tags", "opt", _lit(cf.Conduct)),
    FactSpec("client.immigration.prior_relief", "tags", "opt", _lit(cf.PriorRelief)),
    FactSpec("client.immigration.prior_removal", "bool", "opt"),
    FactSpec("client.employment.sectors", "tags", "opt", _lit(cf.Sector)),
    FactSpec("client.licenses.held", "tags", "opt", open_vocabulary=True),
    FactSpec("client.licenses.applying", "tags", "opt", open_vocabulary=True),
    FactSpec("client.benefits", "tags", "opt", _lit(cf.Benefit)),
    FactSpec("client.finances.annual_income", "number", "opt"),
    FactSpec("client.finances.household_size", "int", "opt"),
    FactSpec("client.civic.registered_voter", "bool", "opt"),
    FactSpec("client.civic.owns_firearm", "bool", "opt"),
    FactSpec("option.count_total", "int", "opt", kind="case"),
    FactSpec("count.source", "enum", "cnt", ("option", "history"), kind="case"),
    FactSpec("count.age_at_offense", "int", "cnt"),
    FactSpec("count.committed_on", "date", "cnt"),
    FactSpec("count.convicted_on", "date", "cnt"),
    FactSpec("count.disposition", "enum", "cnt", _lit(cf.HistoryDisposition), kind="plea"),
    FactSpec("count.plea", "enum", "cnt", _lit(cf.Plea), kind="plea"),
    FactSpec("count.offense.statute", "str", "cnt", kind="classification"),
    FactSpec("count.offense.jurisdiction", "str", "cnt", kind="classification"),
    FactSpec("count.offense.class", "enum", "cnt", _lit(cf.OffenseClass), kind="classification"),
    FactSpec("count.offense.max_days", "int", "cnt", kind="classification"),
    FactSpec("count.offense.min_days", "int", "cnt", kind="classification"),
    FactSpec("count.offense.min_consecutive", "bool", "cnt", kind="classification"),
    FactSpec("count.offense.elements", "tags", "cnt", open_vocabulary=True, kind="classification"),
    FactSpec("count.offense.elements_unresolved", "tags", "cnt", open_vocabulary=True, kind="classification"),
    FactSpec("count.offense.mens_rea", "enum", "cnt", MENS_REA_ORDER, ordered=True, kind="classification"),
    FactSpec("count.offense.force", "enum", "cnt", FORCE_ORDER, ordered=True, kind="classification"),
    FactSpec("count.offense.divisible", "bool", "cnt", kind="classification"),
    FactSpec("count.offense.prong", "str", "cnt", kind="record"),
    FactSpec("count.offense.inchoate", "enum", "cnt", _lit(cf.Inchoate), kind="plea"),
    FactSpec("count.offense.cimt", "bool", "cnt", kind="classification"),
    FactSpec("count.offense.cimt_unresolved", "bool", "cnt", kind="classification"),
    FactSpec("count.offense.substance_schedule", "enum", "cnt", _lit(cf.Schedule), kind="classification"),
    # the prong the record names is itself a substance alternative broader than the federal schedules (its own
    # substance_schedule: broader), so a record naming the drug within it narrows nothing (Said, 11th Cir. 2022)
    FactSpec("count.offense.prong_substance_broader", "bool", "cnt", kind="classification"),
    FactSpec("count.offense.certainty", "enum", "cnt", _lit(cf.Certainty), kind="classification"),
    FactSpec("count.offense.in_catalog", "bool", "cnt", kind="classification"),
    FactSpec("count.record.loss_amount", "number", "cnt", kind="record", circumstance_specific=True),
    FactSpec("count.record.substance", "str", "cnt", kind="record"),
    # the substance the record names, against the federal schedules on the conviction date (rules/us/offenses/
    # schedules.yaml): controlled | not_controlled; unknown when the record names none or the table cannot say
    FactSpec("count.record.substance_federal", "enum", "cnt", ("controlled", "not_controlled"), kind="record"),
    FactSpec("count.record.quantity_grams", "number", "cnt", kind="record"),
    FactSpec("count.record.personal_use", "bool", "cnt", kind="record"),
    FactSpec("count.record.remuneration", "enum", "cnt", _lit(cf.YesNo), kind="record"),
    FactSpec("count.record.recidivism_found", "bool", "cnt", kind="plea"),
    FactSpec("count.record.victim_age", "int", "cnt", kind="record"),
    FactSpec("count.record.victim_relationship", "enum", "cnt", _lit(cf.Relationship), kind="record", circumstance_specific=True),
    FactSpec("count.record.firearm", "bool", "cnt", kind="record"),
    FactSpec("count.record.commercial_vehicle", "bool", "cnt", kind="record", circumstance_specific=True),
    FactSpec("count.record.bac", "number", "cnt", kind="record", circumstance_specific=True),
    FactSpec("count.record.on_public_housing_premises", "bool", "cnt", kind="record", circumstance_specific=True),
    FactSpec("count.record.protection_order_violation_found", "bool", "cnt", kind="record"),
    FactSpec("count.record.underlying_max_days", "int", "cnt", kind="record"),
    FactSpec("count.record.underlying_felony", "bool", "cnt", kind="record"),
    FactSpec("count.record.scheme", "str", "cnt", kind="record", circumstance_specific=True),
    FactSpec("count.sentence.custody_days", "int", "cnt", kind="plea"),
    FactSpec("count.sentence.suspended_days", "int", "cnt", kind="plea"),
    FactSpec("count.sentence.confined_days", "int", "cnt", kind="plea"),
    FactSpec("count.sentence.probation_months", "int", "cnt", kind="plea"),
    FactSpec("count.sentence.fine", "number", "cnt", kind="plea"),
    FactSpec("count.sentence.restitution", "number", "cnt", kind="plea"),
    FactSpec("count.sentence.registration", "enum", "cnt", _lit(cf.Registration), kind="plea"),
]

# Facts no lawful judgment can set above another fact of the same count: a sentence is at most the statutory
# maximum. While the sentence is unknown, a test that it reaches more than the maximum is false, not unknown
# (runtime._leaf_check): a consequence the offense cannot trigger is never `possible`.
AT_MOST: dict[str, str] = {
    "count.sentence.custody_days": "count.offense.max_days",
    "count.sentence.confined_days": "count.offense.max_days",
}

FACTS: dict[str, FactSpec] = {s.path: s for s in _SPECS}
ADMITTED_STATUSES = {"lpr", "conditional_lpr", "refugee", "nonimmigrant"}
NEVER_ADMITTED_WITHOUT_DATE = {"undocumented", "parolee"}


def years_between(start: dt.date, end: dt.date) -> int:
    """Whole years from start to end (age arithmetic)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


@dataclass
class CountFacts:
    cid: str                      # "0", "1", ... for option counts, "h0", "h1", ... for history
    values: dict[str, Any]        # path -> python value (only known facts)
    offense: ResolvedOffense


def option_values(case: cf.CaseFile, option: cf.Option, as_of: dt.date, circuit: Optional[int]) -> dict[str, Any]:
    c = case.client
    im = c.immigration
    v: dict[str, Any] = {
        "case.as_of": as_of,
        "case.jurisdiction": case.jurisdiction,
        "case.circuit": circuit,
        "client.birth_date": c.birth_date,
        "client.age": years_between(c.birth_date, as_of) if c.birth_date else None,
        "client.immigration.status": im.status,
        "client.immigration.admission_date": im.admission_date,
        "client.immigration.lpr_date": im.lpr_date,
        "client.immigration.residence_since": im.residence_since,
        "client.immigration.lpr_admitted_at_port": im.lpr_admitted_at_port,
        "client.immigration.age_at_lpr": years_between(c.birth_date, im.lpr_date) if c.birth_date and im.lpr_date else None,
        "client.immigration.goals": im.goals,
        "client.immigration.conduct": im.conduct,
        "client.immigration.prior_relief": im.prior_relief,
        "client.immigration.prior_removal": im.prior_removal,
        "client.employment.sectors": c.employment.sectors,
        "client.licenses.held": [x.type for x in c.licenses if x.status == "held"] if c.licenses is not None else None,
        "client.licenses.applying": [x.type for x in c.licenses if x.status == "applying"] if c.licenses is not None else None,
        "client.benefits": c.benefits,
        "client.finances.annual_income": c.finances.annual_income,
        "client.finances.household_size": c.finances.household_size,
        "client.civic.registered_voter": c.civic.registered_voter,
        "client.civic.owns_firearm": c.civic.owns_firearm,
        "option.count_total": len(option.counts),
    }
    if im.admission_date is not None or im.status in ADMITTED_STATUSES:
        v["client.immigration.admitted"] = True
    elif im.status in NEVER_ADMITTED_WITHOUT_DATE:
        v["client.immigration.admitted"] = False
    return {k: x for k, x in v.items() if x is not None}


def count_values(case: cf.CaseFile, count: cf.Count, source: str, as_of: dt.date, catalogs: Catalogs) -> tuple[dict[str, Any], ResolvedOffense]:
    convicted = count.convicted_on or (as_of if source == "option" else None)
    off = catalogs.resolve(count.offense, case.jurisdiction, convicted or count.committed_on or as_of, count.committed_on,
                           count.record.substance)
    r, s = count.record, count.sentence
    birth = case.client.birth_date
    v: dict[str, Any] = {
        "count.source": source,
        "count.committed_on": count.committed_on,
        "count.convicted_on": convicted,
        "count.age_at_offense": years_between(birth, count.committed_on) if birth and count.committed_on else None,
        "count.disposition": count.disposition,
        "count.plea": count.plea,
        **off.values,
        "count.record.loss_amount": r.loss_amount,
        "count.record.substance": r.substance,
        "count.record.quantity_grams": r.quantity_grams,
        "count.record.personal_use": r.personal_use,
        "count.record.remuneration": r.remuneration,
        "count.record.recidivism_found": r.recidivism_found,
        "count.record.victim_age": r.victim_age,
        "count.record.victim_relationship": r.victim_relationship,
        "count.record.firearm": r.firearm,
        "count.record.commercial_vehicle": r.commercial_vehicle,
        "count.record.bac": r.bac,
        "count.record.on_public_housing_premises": r.on_public_housing_premises,
        "count.record.protection_order_violation_found": r.protection_order_violation_found,
        "count.record.underlying_max_days": r.underlying_max_days,
        "count.record.underlying_felony": r.underlying_felony,
        "count.record.scheme": r.scheme,
        "count.sentence.custody_days": s.custody_days,
        "count.sentence.suspended_days": s.suspended_days,
        "count.sentence.probation_months": s.probation_months,
        "count.sentence.fine": s.fine,
        "count.sentence.restitution": s.restitution,
        "count.sentence.registration": s.registration,
    }
    if r.substance is not None:
        from engine.law.schedules import federal_status
        status = federal_status(r.substance, convicted or count.committed_on or as_of)
        if status.controlled is not None:
            v["count.record.substance_federal"] = "controlled" if status.controlled else "not_controlled"
        elif status.note:
            off.warnings.append(f"The substance '{r.substance}' named in the record: {status.note}")
        else:
            from engine.law.schedules import suggest
            near = suggest(r.substance)
            off.warnings.append(f"The substance '{r.substance}' named in the record is not in the federal schedule table"
                                + (f" (did you mean '{near}'?)" if near else "")
                                + "; it is not treated as federally controlled, which the government must prove.")
    if r.recidivism_found is None:
        # a recidivist enhancement exists only if charged and found in this conviction: the judgment shows it when
        # it is there, and an offer states its terms (Carachuri-Rosendo v. Holder, 560 U.S. 563, 576-82 (2010))
        v["count.record.recidivism_found"] = False
    suspended = s.suspended_days
    if suspended is None and source == "option" and s.custody_days is not None:
        suspended = 0  # a plea option states its terms: custody with no suspended part is custody to serve
        v["count.sentence.suspended_days"] = 0
    if s.custody_days is not None and suspended is not None:
        v["count.sentence.confined_days"] = s.custody_days - suspended
    return {k: x for k, x in v.items() if x is not None}, off


def build(case: cf.CaseFile, option: cf.Option, as_of: dt.date, circuit: Optional[int], catalogs: Catalogs) -> tuple[dict[str, Any], list[CountFacts]]:
    """The python-valued facts of one option: the option fact and one entry per count (option counts, then history)."""
    opt = option_values(case, option, as_of, circuit)
    counts: list[CountFacts] = []
    for i, count in enumerate(option.counts):
        values, off = count_values(case, count, "option", as_of, catalogs)
        counts.append(CountFacts(str(i), values, off))
    for i, item in enumerate(case.history):
        values, off = count_values(case, item, "history", as_of, catalogs)
        counts.append(CountFacts(f"h{i}", values, off))
    return opt, counts


def count_path(cid: str, path: str) -> str:
    """How a count fact is named in explanations: counts[0].sentence.custody_days, history[1]...."""
    rest = path[len("count."):]
    if cid.startswith("h"):
        return f"history[{cid[1:]}].{rest}"
    return f"counts[{cid}].{rest}"
