"""The parts of the result document that are pure functions of the findings (engine/explain/evaluate.py): the questions
for the client and for counsel (each unknown fact once, at the worst stakes of the findings it decides, worst
first, then the fact deciding most findings), the Padilla label, and which unknown facts a possible finding
names (only those that can still change it)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.explain.evaluate import Engine, generic_fact, padilla_label, questions
from engine.law.packs import load_all

from .conftest import case, findings, make_rules


def finding(fid: str, severity: str, missing: list[str], status: str = "possible") -> dict[str, Any]:
    return {"id": fid, "severity": severity, "status": status, "missing_facts": missing}


FINDINGS = [
    finding("o/a", "critical", ["client.immigration.admission_date"]),
    finding("o/b", "low", ["client.immigration.admission_date", "counts[0].sentence.custody_days"]),
    finding("o/c", "medium", ["client.birth_date", "history[1].record.victim_age", "history[0].sentence.custody_days"]),
    finding("o/d", "critical", ["client.civic.registered_voter"], status="applies"),   # not asked: it applies
    finding("o/e", "high", ["client.finances.annual_income"]),
    finding("o/f", "high", ["client.civic.owns_firearm"]),
    finding("o/g", "low", ["client.civic.owns_firearm", "client.birth_date"]),
    finding("o/h", "low", ["client.birth_date", "counts[1].offense.divisible"]),
]
TEXTS = {"client.immigration.admission_date": "When was the client admitted?",
         "count.sentence.custody_days": "How many days of custody?"}


def test_client_questions_once_each_at_the_worst_stakes_worst_first() -> None:
    qs = questions(FINDINGS, TEXTS)
    assert [(q["fact"], q["stakes"], q["why"]) for q in qs] == [
        ("client.immigration.admission_date", "critical", ["o/a", "o/b"]),
        ("client.civic.owns_firearm", "high", ["o/f", "o/g"]),     # high, asked by two findings
        ("client.finances.annual_income", "high", ["o/e"]),
        ("client.birth_date", "medium", ["o/c", "o/g", "o/h"]),    # decides the most findings, but the stakes come first
    ]
    assert qs[0]["ask"] == "When was the client admitted?"
    assert qs[3]["ask"] == "What is client birth date?"          # no text: the fact's path, in words
    assert all("kind" not in q for q in qs)


def test_counsel_questions_name_their_kind_and_the_count_or_prior_conviction() -> None:
    qs = questions(FINDINGS, TEXTS, "counsel")
    assert [(q["fact"], q["kind"], q["stakes"], q["why"]) for q in qs] == [
        ("history[0].sentence.custody_days", "prior_record", "medium", ["o/c"]),
        ("history[1].record.victim_age", "prior_record", "medium", ["o/c"]),
        ("counts[0].sentence.custody_days", "negotiation", "low", ["o/b"]),
        ("counts[1].offense.divisible", "classification", "low", ["o/h"]),
    ]
    asks = {q["fact"]: q["ask"] for q in qs}
    assert asks["counts[0].sentence.custody_days"] == "How many days of custody? (count 1)"
    assert asks["history[0].sentence.custody_days"] == "How many days of custody? (prior conviction 1)"
    assert asks["history[1].record.victim_age"] == "What is count record victim age? (prior conviction 2)"


def test_a_record_fact_of_the_plea_is_counsels_record_question() -> None:
    qs = questions([finding("o/x", "high", ["counts[0].record.remuneration", "client.immigration.status"])], {}, "counsel")
    assert [(q["fact"], q["kind"]) for q in qs] == [("counts[0].record.remuneration", "record")]


def test_generic_fact() -> None:
    assert generic_fact("counts[12].record.loss_amount") == "count.record.loss_amount"
    assert generic_fact("history[0].offense.statute") == "count.offense.statute"
    assert generic_fact("client.birth_date") == "client.birth_date"


@pytest.mark.parametrize("domain, kind, mandatory, applies, certainty, label", [
    ("immigration", "consequence", True, True, "clear", "clear"),
    ("immigration", "consequence", True, True, "likely", "risk"),
    ("immigration", "consequence", True, False, "clear", "risk"),
    ("immigration", "consequence", False, True, "clear", "risk"),
    ("immigration", "classification", True, True, "clear", None),   # a classification is not advice by itself
    ("immigration", "relief", True, True, "clear", None),
    ("employment", "consequence", True, True, "clear", None),       # Padilla is about immigration consequences
    ("relief", "relief", True, True, "clear", None),
])
def test_padilla_label(domain: str, kind: str, mandatory: bool, applies: bool, certainty: str, label: str | None) -> None:
    assert padilla_label(domain, kind, mandatory, applies, certainty) == label


# ---------------------------------------------------------------- which unknown facts a possible finding names
RULES = """\
rules:
  - id: t.chain.armed
    title: Armed, for an LPR
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "8 U.S.C. § 1227(a)(2)(C)"}]
    when:
      all:
        - any:
            - {fact: count.record.firearm, eq: true}
            - {fact: count.offense.elements, has: weapon}
        - {fact: client.immigration.status, eq: lpr}
    then: {code: imm.deportable.firearm, kind: consequence, domain: immigration, severity: critical,
           title: Firearm offense, summary: "sum", explanation: "why"}
"""


@pytest.fixture(scope="module", params=["durable", "plain"])
def engine(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(load_all(make_rules(tmp_path_factory.mktemp("armed"), RULES)), request.param)


def test_an_unknown_fact_that_a_decided_any_does_not_need_is_not_asked(engine: Engine) -> None:
    c = case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-01",
              "options": [{"id": "o", "counts": [{"offense": {"statute": "T", "elements": ["weapon"]}}]}]})
    o = engine.advise(c)["options"][0]
    f = findings({"options": [o]})["o/imm.deportable.firearm@0"]
    assert f["status"] == "possible"
    assert f["missing_facts"] == ["client.immigration.status"]        # the elements decide the any: no firearm question
    assert [q["fact"] for q in o["questions"]] == ["client.immigration.status"]
    assert o["counsel_questions"] == []


def test_both_unknowns_are_asked_while_neither_is_decided(engine: Engine) -> None:
    c = case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-01",
              "options": [{"id": "o", "counts": [{"offense": {"statute": "T", "elements": ["theft"]}}]}]})
    o = engine.advise(c)["options"][0]
    f = findings({"options": [o]})["o/imm.deportable.firearm@0"]
    assert f["missing_facts"] == ["client.immigration.status", "counts[0].record.firearm"]
    assert [(q["fact"], q["kind"]) for q in o["counsel_questions"]] == [("counts[0].record.firearm", "record")]
