"""The engine end to end on a small chain pack: three-valued conditions, forward chaining through
classifications to consequences and relief bars, negation and counting across strata, dated parameters,
circuit variants, explanations, and isolation between evaluations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engine.explain.evaluate import Engine
from engine.law.packs import load_all

from .conftest import case, findings, make_rules

RULES = """\
rules:
  - id: t.chain.theft-class
    title: Theft classification
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "8 U.S.C. § 1101(a)(43)(G)"}]
    when:
      all:
        - fact: count.offense.elements
          has: theft
        - fact: count.sentence.custody_days
          ge: {param: term_days}
    then: {code: imm.aggravated_felony.G, kind: classification, domain: immigration, severity: critical,
           title: Theft AF, summary: "sum", explanation: "why", mitigations: ["364 days"]}
  - id: t.chain.cimt
    title: CIMT
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "8 U.S.C. § 1227(a)(2)(A)(i)"}]
    when: {fact: count.offense.cimt, eq: true}
    then: {code: imm.cimt, kind: classification, domain: immigration, severity: high, title: CIMT, summary: "sum", explanation: "why"}
  - id: t.chain.deportable
    title: Deportable for an AF
    status: reviewed
    certainty: clear
    scope: option
    citations: [{cite: "8 U.S.C. § 1227(a)(2)(A)(iii)"}]
    when:
      all:
        - fact: client.immigration.admitted
          eq: true
        - finding: imm.aggravated_felony.G
    then: {code: imm.deportable.aggravated_felony, kind: consequence, domain: immigration, severity: critical,
           title: Deportable AF, summary: "sum", explanation: "why"}
  - id: t.chain.cimt-window
    title: CIMT within five years of admission
    status: reviewed
    certainty: likely
    scope: count
    citations: [{cite: "8 U.S.C. § 1227(a)(2)(A)(i)(I)"}]
    when:
      all:
        - finding: imm.cimt
        - fact: count.committed_on
          lt: {fact: client.immigration.admission_date, plus: {years: 5}}
    then: {code: imm.deportable.cimt, kind: consequence, domain: immigration, severity: critical,
           title: CIMT in 5 years, summary: "sum", explanation: "why"}
  - id: t.chain.two-cimts
    title: Two CIMTs
    status: reviewed
    certainty: clear
    scope: option
    citations: [{cite: "8 U.S.C. § 1227(a)(2)(A)(ii)"}]
    when: {count: imm.cimt, ge: 2}
    then: {code: imm.deportable.multiple_cimts, kind: consequence, domain: immigration, severity: critical,
           title: Two CIMTs, summary: "sum", explanation: "why"}
  - id: t.chain.no-af-relief
    title: Cancellation open when no AF
    status: reviewed
    certainty: clear
    scope: option
    citations: [{cite: "8 U.S.C. § 1229b(a)(3)"}]
    when:
      all:
        - fact: client.immigration.status
          eq: lpr
        - not: {finding: imm.aggravated_felony.G}
    then: {code: relief.cancellation_available, kind: relief, domain: relief, severity: info,
           title: Cancellation not barred, summary: "sum", explanation: "why"}
  - id: t.chain.ninth-only
    title: A Ninth Circuit variant
    status: reviewed
    certainty: circuit_split
    circuits: [9]
    scope: count
    citations: [{cite: "Test v. Test, 1 F.4th 1, 2 (9th Cir. 2021)"}]
    when: {fact: count.offense.elements, has: burglary}
    then: {code: imm.aggravated_felony.U, kind: classification, domain: immigration, severity: high,
           title: Ninth, summary: "sum", explanation: "why"}
"""
PARAMS = """\
parameters:
  term_days:
    description: term
    unit: days
    values:
      - {from: 1990-01-01, value: 500, cite: "old law § 1"}
      - {from: 1996-09-30, value: 365, cite: "8 U.S.C. § 1101(a)(43)(G)"}
"""


def case_with(counts: list[dict[str, Any]], status: Any = "lpr", admission: Any = "2020-01-01", as_of: str = "2026-11-26",
              jurisdiction: str = "US-CA", history: list[dict[str, Any]] | None = None) -> Any:
    imm: dict[str, Any] = {}
    if status is not None:
        imm["status"] = status
    if admission is not None:
        imm["admission_date"] = admission
    return case({"format": 1, "jurisdiction": jurisdiction, "as_of": as_of, "client": {"immigration": imm},
                 "history": history or [], "options": [{"id": "o", "counts": counts}]})


def count(elements: Any = ("theft",), cimt: Any = True, days: Any = 365, committed: str = "2022-01-01") -> dict[str, Any]:
    off: dict[str, Any] = {"statute": "TEST"}
    if elements is not None:
        off["elements"] = list(elements)
    if cimt is not None:
        off["cimt"] = cimt
    c: dict[str, Any] = {"offense": off, "committed_on": committed}
    if days is not None:
        c["sentence"] = {"custody_days": days}
    return c


@pytest.fixture(params=["durable", "plain"])
def engine(request: Any, tmp_path_factory: Any) -> Engine:
    root = make_rules(tmp_path_factory.mktemp("r"), RULES, PARAMS)
    return Engine(load_all(root), request.param)


def test_a_chain_from_count_facts_to_a_consequence_applies_with_its_trace(engine: Engine) -> None:
    f = findings(engine.advise(case_with([count()])))
    dep = f["o/imm.deportable.aggravated_felony"]
    assert dep["status"] == "applies"
    assert dep["because"] == ["o/imm.aggravated_felony.G@0"]
    assert dep["facts"] == {"client.immigration.admitted": True}
    af = f["o/imm.aggravated_felony.G@0"]
    assert af["facts"] == {"counts[0].offense.elements": ["theft"], "counts[0].sentence.custody_days": 365}
    assert af["mitigations"] == ["364 days"]
    assert af["counts"] == [0] and dep["counts"] == [0]


def test_one_day_less_avoids_the_threshold(engine: Engine) -> None:
    f = findings(engine.advise(case_with([count(days=364)])))
    assert "o/imm.aggravated_felony.G@0" not in f
    assert "o/imm.deportable.aggravated_felony" not in f


def test_a_missing_sentence_makes_the_chain_possible_and_names_the_fact(engine: Engine) -> None:
    result = engine.advise(case_with([count(days=None)]))
    f = findings(result)
    assert f["o/imm.aggravated_felony.G@0"]["status"] == "possible"
    assert f["o/imm.aggravated_felony.G@0"]["missing_facts"] == ["counts[0].sentence.custody_days"]
    dep = f["o/imm.deportable.aggravated_felony"]
    assert dep["status"] == "possible"
    assert dep["missing_facts"] == ["counts[0].sentence.custody_days"]
    assert result["options"][0]["questions"] == []   # a plea term is counsel's to negotiate, not the client's
    q = result["options"][0]["counsel_questions"]
    assert [(x["fact"], x["kind"]) for x in q] == [("counts[0].sentence.custody_days", "negotiation")]
    assert q[0]["stakes"] == "critical"
    assert set(q[0]["why"]) == {"o/imm.aggravated_felony.G@0", "o/imm.deportable.aggravated_felony",
                                "o/relief.cancellation_available"}


def test_an_unknown_status_is_possible_not_absent(engine: Engine) -> None:
    f = findings(engine.advise(case_with([count()], status=None, admission=None)))
    assert f["o/imm.deportable.aggravated_felony"]["status"] == "possible"
    assert f["o/imm.deportable.aggravated_felony"]["missing_facts"] == ["client.immigration.admitted"]


def test_a_never_admitted_client_is_not_deportable(engine: Engine) -> None:
    f = findings(engine.advise(case_with([count()], status="undocumented", admission=None)))
    assert "o/imm.deportable.aggravated_felony" not in f
    assert f["o/imm.aggravated_felony.G@0"]["status"] == "applies"


def test_date_arithmetic_compares_commission_with_admission_plus_five_years(engine: Engine) -> None:
    inside = findings(engine.advise(case_with([count(committed="2024-12-31")])))
    outside = findings(engine.advise(case_with([count(committed="2025-01-01")])))
    unknown = findings(engine.advise(case_with([count(committed="2024-12-31")], admission=None)))
    assert inside["o/imm.deportable.cimt@0"]["status"] == "applies"
    assert "o/imm.deportable.cimt@0" not in outside
    assert unknown["o/imm.deportable.cimt@0"]["missing_facts"] == ["client.immigration.admission_date"]


def test_counting_findings_across_counts_and_history(engine: Engine) -> None:
    prior = {**count(elements=["assault"]), "disposition": "conviction"}
    one = findings(engine.advise(case_with([count(elements=["assault"])])))
    two = findings(engine.advise(case_with([count(elements=["assault"])], history=[prior])))
    maybe = findings(engine.advise(case_with([count(elements=["assault"])], history=[count(elements=["assault"], cimt=None)])))
    assert "o/imm.deportable.multiple_cimts" not in one
    assert two["o/imm.deportable.multiple_cimts"]["status"] == "applies"
    assert two["o/imm.deportable.multiple_cimts"]["because"] == ["o/imm.cimt@0", "o/imm.cimt@h0"]
    assert two["o/imm.deportable.multiple_cimts"]["history"] == [0]
    assert maybe["o/imm.deportable.multiple_cimts"]["status"] == "possible"


def test_negation_reads_the_lower_stratum_three_valued(engine: Engine) -> None:
    no_af = findings(engine.advise(case_with([count(days=30)])))
    af = findings(engine.advise(case_with([count(days=400)])))
    unknown = findings(engine.advise(case_with([count(days=None)])))
    assert no_af["o/relief.cancellation_available"]["status"] == "applies"
    assert "o/relief.cancellation_available" not in af
    assert unknown["o/relief.cancellation_available"]["status"] == "possible"


def test_dated_parameters_follow_the_as_of_date(engine: Engine) -> None:
    old = findings(engine.advise(case_with([count(days=400)], as_of="1995-01-01")))
    new = findings(engine.advise(case_with([count(days=400)], as_of="2026-01-01")))
    assert "o/imm.aggravated_felony.G@0" not in old
    assert "o/imm.aggravated_felony.G@0" in new


def test_circuit_variants_apply_only_in_their_circuit(engine: Engine) -> None:
    ninth = findings(engine.advise(case_with([count(elements=["burglary"])], jurisdiction="US-CA")))
    fifth = findings(engine.advise(case_with([count(elements=["burglary"])], jurisdiction="US-TX")))
    assert ninth["o/imm.aggravated_felony.U@0"]["certainty"] == "circuit_split"
    assert "o/imm.aggravated_felony.U@0" not in fifth


def test_unknown_elements_make_every_element_rule_possible(engine: Engine) -> None:
    f = findings(engine.advise(case_with([count(elements=None)])))
    assert f["o/imm.aggravated_felony.G@0"]["status"] == "possible"
    assert f["o/imm.aggravated_felony.G@0"]["missing_facts"] == ["counts[0].offense.elements"]


def test_evaluations_are_isolated(engine: Engine) -> None:
    first = engine.advise(case_with([count()]))
    engine.advise(case_with([count(elements=["assault"], days=10)]))
    again = engine.advise(case_with([count()]))
    assert first == again
    runner = next(iter(engine._runners.values()))
    if hasattr(runner, "remaining_facts"):
        assert runner.remaining_facts() == []


def test_the_same_case_gives_the_same_result(engine: Engine) -> None:
    c = case_with([count(), count(elements=["assault"])], history=[count()])
    assert engine.advise(c) == engine.advise(c)


def test_the_as_of_override_changes_the_law_applied(engine: Engine) -> None:
    c = case_with([count(days=400)], as_of="2026-01-01")
    assert engine.advise(c, dt.date(1995, 1, 1))["as_of"] == "1995-01-01"
    assert "o/imm.aggravated_felony.G@0" not in findings(engine.advise(c, dt.date(1995, 1, 1)))


def test_hundreds_of_rules_reading_one_finding_fan_out_and_still_agree(tmp_path_factory: Any) -> None:
    # durable_rules links at most 256 patterns to one alpha node; 300 readers of imm.cimt must still work
    many = "".join(f"""
  - id: t.chain.reader-{i}
    title: Reader {i}
    status: draft
    certainty: clear
    scope: count
    citations: [{{cite: "Test Code § {i}(a)"}}]
    when: {{finding: imm.cimt}}
    then: {{code: imm.r{i}, kind: classification, domain: immigration, severity: info, title: Reader, summary: "sum", explanation: "why"}}""" for i in range(300))
    root = make_rules(tmp_path_factory.mktemp("fan"), RULES + many, PARAMS)
    ps = load_all(root)
    durable, plain = Engine(ps, "durable"), Engine(ps, "plain")
    c = case_with([count(elements=["assault"]), count(elements=["assault"], cimt=None)])
    prog = durable.program("US-CA", 9, dt.date(2026, 11, 26))
    assert prog.fanout == {"f:imm.cimt": 2}
    a, b = durable.advise(c), plain.advise(c)
    a["engine"] = b["engine"] = None
    assert a == b
    f = findings(a)
    assert f["o/imm.r299@0"]["status"] == "applies" and f["o/imm.r299@1"]["status"] == "possible"


EXTRAS = """\
  - id: t.chain.chapter
    title: Any statute of chapter 22
    status: draft
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 22.01(a)"}]
    when: {fact: count.offense.statute, starts_with: ["PC 22.", "PC 23."]}
    then: {code: imm.r_chapter, kind: classification, domain: immigration, severity: info, title: Chapter, summary: "sum", explanation: "why"}
  - id: t.chain.window-param
    title: Committed within a parameter's years of admission
    status: draft
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 1(b)"}]
    when: {fact: count.committed_on, lt: {fact: client.immigration.admission_date, plus: {years: {param: window_years}}}}
    then: {code: imm.r_window, kind: classification, domain: immigration, severity: info, title: Window, summary: "sum", explanation: "why"}
  - id: t.chain.derived-reader
    title: Reads a derived fact
    status: draft
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 1(c)"}]
    when: {fact: count.double_days, ge: 100}
    then: {code: imm.r_derived, kind: classification, domain: immigration, severity: info, title: Derived, summary: "sum", explanation: "why"}
"""
EXTRA_PARAMS = """\
  window_years:
    description: years
    unit: years
    values:
      - {from: 1990-01-01, value: 5, cite: "Test Code § 1(b)"}
"""
DERIVED = """\
derived:
  - path: count.double_days
    description: twice the custody term
    value: {mul: [{fact: count.sentence.custody_days}, 2]}
    cite: "Test Code § 1(c)"
    effective: {from: 2020-01-01}
"""


@pytest.fixture(params=["durable", "plain"])
def extras(request: Any, tmp_path_factory: Any) -> Engine:
    root = make_rules(tmp_path_factory.mktemp("x"), RULES + EXTRAS, PARAMS + EXTRA_PARAMS, {"derived.yaml": DERIVED})
    return Engine(load_all(root), request.param)


def test_starts_with_matches_a_chapter_of_statutes(extras: Engine) -> None:
    hit = dict(count(), offense={"statute": "PC 22.01(a)(1)", "elements": []})
    miss = dict(count(), offense={"statute": "PC 31.03", "elements": []})
    assert "o/imm.r_chapter@0" in findings(extras.advise(case_with([hit])))
    assert "o/imm.r_chapter@0" not in findings(extras.advise(case_with([miss])))


def test_a_date_offset_can_be_a_dated_parameter(extras: Engine) -> None:
    assert "o/imm.r_window@0" in findings(extras.advise(case_with([count(committed="2024-12-31")])))
    assert "o/imm.r_window@0" not in findings(extras.advise(case_with([count(committed="2025-01-01")])))


def test_a_derived_fact_outside_its_effective_dates_is_unknown(extras: Engine) -> None:
    now = findings(extras.advise(case_with([count(days=60)], as_of="2026-01-01")))
    before = findings(extras.advise(case_with([count(days=60)], as_of="2019-06-01")))
    assert now["o/imm.r_derived@0"]["status"] == "applies"
    assert before["o/imm.r_derived@0"]["status"] == "possible"
    assert before["o/imm.r_derived@0"]["missing_facts"] == ["counts[0].double_days"]


def test_the_result_counts_the_reviewed_and_draft_rules_behind_its_findings(tmp_path: Path) -> None:
    # the test pack's rules are all reviewed; one turned back into a draft is counted as unreviewed
    reviewed = Engine(load_all(make_rules(tmp_path / "a", RULES, PARAMS)), "plain").advise(case_with([count()]))
    used = {r for o in reviewed["options"] for f in o["findings"] if f["status"] in ("applies", "possible") for r in f["rules"]}
    assert reviewed["review"] == {"rules": len(used), "reviewed": len(used), "unreviewed": 0} and len(used) >= 3
    draft = RULES.replace("  - id: t.chain.deportable\n    title: Deportable for an AF\n    status: reviewed",
                          "  - id: t.chain.deportable\n    title: Deportable for an AF\n    status: draft")
    assert draft != RULES
    result = Engine(load_all(make_rules(tmp_path / "b", draft, PARAMS)), "plain").advise(case_with([count()]))
    assert result["review"] == {"rules": len(used), "reviewed": len(used) - 1, "unreviewed": 1}
    from engine.present.render import render
    assert f"{len(used)} rules concluded the findings above; 1 of them is a draft not yet reviewed" in render(result)
    assert "every one was reviewed by a practitioner" in render(reviewed)
