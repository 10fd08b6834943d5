"""Who decides an unknown: a silent record of conviction resolved by the burden of proof, the applicant's view of
classifications for relief, circumstance-specific facts, and where each unknown goes (client or counsel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.explain.evaluate import Engine
from engine.law.packs import load_all

from .conftest import case, findings, make_rules

RULES = """\
rules:
  - id: t.chain.trafficking
    title: Trafficking classification
    status: reviewed
    certainty: clear
    scope: count
    burden: government
    citations: [{cite: "8 U.S.C. § 1101(a)(43)(B)"}]
    when:
      all:
        - fact: count.offense.elements
          has: possession_with_intent
        - fact: count.record.remuneration
          eq: "yes"
    then: {code: imm.aggravated_felony.B, kind: classification, domain: immigration, severity: critical,
           title: Trafficking AF, summary: "sum", explanation: "why"}
  - id: t.chain.deportable
    title: Deportable
    status: reviewed
    certainty: clear
    scope: option
    burden: government
    citations: [{cite: "8 U.S.C. § 1227(a)(2)(A)(iii)"}]
    when: {finding: imm.aggravated_felony.B, any_count: true}
    then: {code: imm.deportable.aggravated_felony, kind: consequence, domain: immigration, severity: critical,
           title: Deportable AF, summary: "sum", explanation: "why"}
  - id: t.chain.bar
    title: Relief bar
    status: reviewed
    certainty: clear
    scope: option
    burden: applicant
    citations: [{cite: "8 U.S.C. § 1229b(a)(3)"}]
    when: {finding: imm.aggravated_felony.B, any_count: true}
    then: {code: imm.relief_bar.cancellation_lpr, kind: consequence, domain: immigration, severity: critical,
           title: Cancellation barred, summary: "sum", explanation: "why"}
  - id: t.chain.loss
    title: Fraud loss
    status: reviewed
    certainty: clear
    scope: count
    burden: government
    citations: [{cite: "8 U.S.C. § 1101(a)(43)(M)(i)"}]
    when:
      all:
        - fact: count.offense.elements
          has: fraud_deceit
        - fact: count.record.loss_amount
          gt: 10000
    then: {code: imm.aggravated_felony.M, kind: classification, domain: immigration, severity: critical,
           title: Fraud AF, summary: "sum", explanation: "why"}
  - id: t.chain.fine
    title: A fine-based fee (no burden)
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 1(a)"}]
    when:
      all:
        - {fact: count.offense.elements, has: weapon}
        - {fact: count.record.firearm, eq: true}
    then: {code: firearms.enhancement, kind: consequence, domain: firearms, severity: medium,
           title: Firearm, summary: "sum", explanation: "why"}
"""


@pytest.fixture(scope="module", params=["durable", "plain"])
def engine(request: Any, tmp_path_factory: Any) -> Engine:
    root: Path = make_rules(tmp_path_factory.mktemp("burden"), RULES)
    return Engine(load_all(root), request.param)


def option(elements: list[str], record: dict[str, Any], divisible: bool | None = None) -> dict[str, Any]:
    offense: dict[str, Any] = {"statute": "TEST 1", "class": "felony", "max_days": 1825, "elements": elements,
                               "mens_rea": "knowing", "force": "none", "cimt": False}
    if divisible is not None:
        offense["divisible"] = divisible
    return case({"format": 1, "jurisdiction": "US-GA", "as_of": "2026-11-01",
                 "client": {"immigration": {"status": "lpr", "admission_date": "2005-01-01"}},
                 "options": [{"id": "o", "counts": [{"offense": offense, "committed_on": "2025-06-01",
                                                     "disposition": "conviction", "record": record,
                                                     "sentence": {"custody_days": 0}}]}]})


def test_a_silent_record_does_not_establish_a_removability_classification(engine: Engine) -> None:
    result = engine.advise(option(["possession_with_intent"], {}))
    f = findings(result)
    assert "o/imm.aggravated_felony.B@0" not in f        # Moncrieffe: not possible, not asked
    assert "o/imm.deportable.aggravated_felony" not in f
    o = result["options"][0]
    assert o["questions"] == []
    assert [q["fact"] for q in o["counsel_questions"]] == ["counts[0].offense.divisible"]   # for relief only
    kept = [(i["kind"], i["fact"], i["codes"]) for i in o["record_instructions"]]
    assert ("keep_silent", "counts[0].record.remuneration", ["imm.aggravated_felony.B"]) in kept


def test_the_record_naming_the_fact_makes_it_definite_both_ways(engine: Engine) -> None:
    f = findings(engine.advise(option(["possession_with_intent"], {"remuneration": "yes"})))
    assert f["o/imm.aggravated_felony.B@0"]["status"] == "applies"
    assert f["o/imm.deportable.aggravated_felony"]["status"] == "applies"
    assert f["o/imm.deportable.aggravated_felony"]["silent_record"] == []
    f = findings(engine.advise(option(["possession_with_intent"], {"remuneration": "no"})))
    assert not any(k.startswith("o/imm.") for k in f)


def test_an_indivisible_statute_keeps_the_least_culpable_reading_for_relief_too(engine: Engine) -> None:
    f = findings(engine.advise(option(["possession_with_intent"], {}, divisible=False)))
    assert "o/imm.relief_bar.cancellation_lpr" not in f


def test_a_silent_record_under_a_divisible_statute_does_not_carry_the_applicants_burden(engine: Engine) -> None:
    result = engine.advise(option(["possession_with_intent"], {}, divisible=True))
    f = findings(result)
    bar = f["o/imm.relief_bar.cancellation_lpr"]
    assert bar["status"] == "applies"                     # Pereida
    assert bar["silent_record"] == ["counts[0].record.remuneration"]
    assert "o/imm.deportable.aggravated_felony" not in f  # removability still needs the government's proof
    o = result["options"][0]
    assert [v["code"] for v in o["applicant_view"]] == ["imm.aggravated_felony.B"]
    kinds = {(i["kind"], i["fact"]) for i in o["record_instructions"]}
    assert ("establish", "counts[0].record.remuneration") in kinds


def test_unknown_divisibility_is_an_open_classification_for_counsel(engine: Engine) -> None:
    result = engine.advise(option(["possession_with_intent"], {}))
    f = findings(result)
    bar = f["o/imm.relief_bar.cancellation_lpr"]
    assert bar["status"] == "possible"
    o = result["options"][0]
    assert [(q["kind"], q["fact"]) for q in o["counsel_questions"]] == [("classification", "counts[0].offense.divisible")]
    assert o["questions"] == []


def test_a_circumstance_specific_fact_stays_possible(engine: Engine) -> None:
    result = engine.advise(option(["fraud_deceit"], {}))
    f = findings(result)
    assert f["o/imm.aggravated_felony.M@0"]["status"] == "possible"   # Nijhawan: the loss is proved by any evidence
    assert [(q["kind"], q["fact"]) for q in result["options"][0]["counsel_questions"]] == [("record", "counts[0].record.loss_amount")]


def test_a_rule_without_a_burden_leaves_a_record_fact_to_counsel(engine: Engine) -> None:
    result = engine.advise(option(["weapon"], {}))
    f = findings(result)
    assert f["o/firearms.enhancement@0"]["status"] == "possible"
    assert [(q["kind"], q["fact"]) for q in result["options"][0]["counsel_questions"]] == [("record", "counts[0].record.firearm")]


def test_the_florida_battery_prong_is_counsels_record_instruction(durable_engine: Engine) -> None:
    from engine.model.casefile import load_case
    result = durable_engine.advise(load_case(Path(__file__).resolve().parent.parent / "examples" / "fl-domestic-battery.yaml"))
    offer = next(o for o in result["options"] if o["id"] == "offer")
    risk = offer["prong_risks"][0]
    assert risk["safe_prongs"] == ["1a1"]
    harm = next(a for a in risk["alternatives"] if a["prong"] == "1a2")
    assert "imm.deportable.domestic_violence" in harm["adds"]
    f = {x["code"]: x for x in offer["findings"]}
    assert "imm.deportable.domestic_violence" not in f          # least culpable prong for removability
    assert f["imm.relief_bar.cancellation_nonlpr"]["status"] == "applies"   # Pereida for relief
    assert offer["counsel_questions"][0]["fact"] == "counts[0].offense.prong"
    assert result["comparison"]["ranked"] == ["counter", "offer"]


@pytest.mark.parametrize("burden,kind,expected", [
    ("government", "consequence", False), ("government", "relief", True),
    ("applicant", "consequence", True), ("applicant", "relief", False), (None, "consequence", None)])
def test_the_silence_goes_against_whoever_bears_the_burden(burden: str | None, kind: str, expected: bool | None) -> None:
    from engine.compile.compiler import silent_record_value
    assert silent_record_value(burden, kind) is expected


def test_a_divisible_statute_outside_the_catalog_is_described_by_its_prongs(durable_engine: Engine) -> None:
    def plea(prong: str | None) -> Any:
        offense: dict[str, Any] = {
            "statute": "Neb. Rev. Stat. 28-608", "class": "misdemeanor", "max_days": 365, "elements": [],
            "mens_rea": "intent", "divisible": True,
            "prongs": [{"id": "1a", "elements": ["fraud_deceit"], "cimt": True},
                       {"id": "1c", "elements": [], "cimt": False}]}
        if prong:
            offense["prong"] = prong
        return case({"format": 1, "jurisdiction": "US-NE", "as_of": "2026-11-01",
                     "client": {"immigration": {"status": "undocumented", "residence_since": "1995-01-01"}},
                     "options": [{"id": "o", "counts": [{"offense": offense, "committed_on": "2025-06-01",
                                                         "disposition": "conviction", "sentence": {"custody_days": 0}}]}]})
    silent = {f["code"]: f for f in durable_engine.advise(plea(None))["options"][0]["findings"]}
    bar = silent["imm.relief_bar.cancellation_nonlpr"]
    assert bar["status"] == "applies"   # Pereida: the record names no alternative, one of which is a CIMT
    assert bar["facts"].get("counts[0].offense.cimt_unresolved") is True
    assert "imm.cimt" not in silent                                                          # least culpable prong
    named = {f["code"] for f in durable_engine.advise(plea("1c"))["options"][0]["findings"]}
    assert "imm.relief_bar.cancellation_nonlpr" not in named
    fraud = {f["code"] for f in durable_engine.advise(plea("1a"))["options"][0]["findings"]}
    assert {"imm.cimt", "imm.relief_bar.cancellation_nonlpr"} <= fraud
