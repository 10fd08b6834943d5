"""The applicant's view down a chain of findings: a relief bar that reads a classification which itself reads
the silent-record classification (bar <- any aggravated felony <- trafficking) is decided on the applicant's
view of the whole chain (Pereida v. Wilkinson, 592 U.S. 224 (2021)), while removability still needs the
government's proof at every link (Moncrieffe v. Holder, 569 U.S. 184, 190-91 (2013))."""

from __future__ import annotations

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
        - {fact: count.offense.elements, has: possession_with_intent}
        - {fact: count.record.remuneration, eq: "yes"}
    then: {code: imm.aggravated_felony.B, kind: classification, domain: immigration, severity: critical,
           title: Trafficking AF, summary: "sum", explanation: "why"}
  - id: t.chain.any-af
    title: Any aggravated felony
    status: reviewed
    certainty: clear
    scope: option
    burden: government
    citations: [{cite: "8 U.S.C. § 1101(a)(43)"}]
    when: {finding: imm.aggravated_felony.B, any_count: true}
    then: {code: imm.aggravated_felony, kind: classification, domain: immigration, severity: critical,
           title: Aggravated felony, summary: "sum", explanation: "why"}
  - id: t.chain.deportable
    title: Deportable
    status: reviewed
    certainty: clear
    scope: option
    burden: government
    citations: [{cite: "8 U.S.C. § 1227(a)(2)(A)(iii)"}]
    when: {finding: imm.aggravated_felony}
    then: {code: imm.deportable.aggravated_felony, kind: consequence, domain: immigration, severity: critical,
           title: Deportable AF, summary: "sum", explanation: "why"}
  - id: t.chain.bar
    title: Relief bar
    status: reviewed
    certainty: clear
    scope: option
    burden: applicant
    citations: [{cite: "8 U.S.C. § 1229b(a)(3)"}]
    when: {finding: imm.aggravated_felony}
    then: {code: imm.relief_bar.cancellation_lpr, kind: consequence, domain: immigration, severity: critical,
           title: Cancellation barred, summary: "sum", explanation: "why"}
"""


@pytest.fixture(scope="module", params=["durable", "plain"])
def engine(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(load_all(make_rules(tmp_path_factory.mktemp("chain"), RULES)), request.param)


def option(record: dict[str, Any], divisible: bool) -> Any:
    offense = {"statute": "TEST 1", "class": "felony", "elements": ["possession_with_intent"], "divisible": divisible}
    return case({"format": 1, "jurisdiction": "US-GA", "as_of": "2026-11-01",
                 "client": {"immigration": {"status": "lpr", "admission_date": "2005-01-01"}},
                 "options": [{"id": "o", "counts": [{"offense": offense, "committed_on": "2025-06-01",
                                                     "disposition": "conviction", "record": record}]}]})


def test_a_bar_two_links_away_from_the_silent_fact_still_stands_under_a_divisible_statute(engine: Engine) -> None:
    result = engine.advise(option({}, divisible=True))
    f = findings(result)
    assert f["o/imm.relief_bar.cancellation_lpr"]["status"] == "applies"
    assert f["o/imm.relief_bar.cancellation_lpr"]["silent_record"] == ["counts[0].record.remuneration"]
    for code in ("imm.aggravated_felony.B", "imm.aggravated_felony", "imm.deportable.aggravated_felony"):
        assert not any(x["code"] == code for x in result["options"][0]["findings"]), code
    view = {v["code"]: v for v in result["options"][0]["applicant_view"]}
    assert sorted(view) == ["imm.aggravated_felony", "imm.aggravated_felony.B"]
    assert {(v["view"], v["burden"], v["status"]) for v in view.values()} == {("applicant", "applicant", "applies")}
    establish = [(i["fact"], i["codes"]) for i in result["options"][0]["record_instructions"] if i["kind"] == "establish"]
    assert establish == [("counts[0].record.remuneration", ["imm.relief_bar.cancellation_lpr"])]


def test_under_an_indivisible_statute_the_whole_chain_takes_the_least_culpable_reading(engine: Engine) -> None:
    result = engine.advise(option({}, divisible=False))
    assert not any(x["code"].startswith("imm.") for x in result["options"][0]["findings"])
    assert result["options"][0]["applicant_view"] == []


def test_a_record_that_rules_the_fact_out_lifts_the_bar(engine: Engine) -> None:
    result = engine.advise(option({"remuneration": "no"}, divisible=True))
    assert not any(x["code"].startswith("imm.") for x in result["options"][0]["findings"])
    assert result["options"][0]["record_instructions"] == []


def test_a_record_that_names_the_fact_proves_every_link(engine: Engine) -> None:
    f = findings(engine.advise(option({"remuneration": "yes"}, divisible=True)))
    for fid in ("o/imm.aggravated_felony.B@0", "o/imm.aggravated_felony", "o/imm.deportable.aggravated_felony",
                "o/imm.relief_bar.cancellation_lpr"):
        assert f[fid]["status"] == "applies" and f[fid]["silent_record"] == [], fid


OPEN_TERM = """\
rules:
  - id: t.chain.trafficking
    title: Trafficking with a year's term
    status: reviewed
    certainty: clear
    scope: count
    burden: government
    citations: [{cite: "8 U.S.C. § 1101(a)(43)(B)"}]
    when:
      all:
        - {fact: count.record.remuneration, eq: "yes"}
        - {fact: count.sentence.custody_days, ge: 365}
    then: {code: imm.aggravated_felony.B, kind: classification, domain: immigration, severity: critical,
           title: Trafficking AF, summary: "sum", explanation: "why"}
"""


@pytest.fixture(scope="module")
def open_term_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(load_all(make_rules(tmp_path_factory.mktemp("open"), OPEN_TERM)), "plain")


def keep_silent(engine: Engine, sentence: dict[str, Any]) -> list[str]:
    c = case({"format": 1, "jurisdiction": "US-GA", "as_of": "2026-11-01",
              "options": [{"id": "o", "counts": [{"offense": {"statute": "T"}, "sentence": sentence}]}]})
    o = engine.advise(c)["options"][0]
    assert o["findings"] == []                      # the government cannot prove remuneration on a silent record
    return [i["fact"] for i in o["record_instructions"] if i["kind"] == "keep_silent"]


def test_keep_silent_when_only_the_record_stands_between_the_plea_and_the_finding(open_term_engine: Engine) -> None:
    assert keep_silent(open_term_engine, {"custody_days": 400}) == ["counts[0].record.remuneration"]
    assert keep_silent(open_term_engine, {"custody_days": 30}) == []      # no finding whatever the record says


# the burden made the silent leaf false: with the term still open, counsel still gets the instruction
def test_keep_silent_while_the_term_is_still_open(open_term_engine: Engine) -> None:
    assert keep_silent(open_term_engine, {}) == ["counts[0].record.remuneration"]
