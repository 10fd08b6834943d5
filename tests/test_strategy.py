"""Plea strategy: safer alternatives found from the rules' own thresholds and re-checked with every rule,
ranking by the client's priorities, and only decisive questions."""

from __future__ import annotations

from typing import Any

import pytest

from engine.explain.evaluate import Engine
from engine.law.packs import load_all

from .conftest import case, make_rules
from .test_engine import PARAMS, RULES

FINES = """\
rules:
  - id: t.chain.fine
    title: A fine on every count
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 1(a)"}]
    when: {fact: count.sentence.fine, gt: 0}
    then: {code: fines.base_fine, kind: consequence, domain: fines, severity: high, title: "Fine",
           summary: "A fine", explanation: "The fine imposed", amount: {fact: count.sentence.fine}}
"""


@pytest.fixture(params=["durable", "plain"])
def engine(request: Any, tmp_path_factory: Any) -> Engine:
    root = make_rules(tmp_path_factory.mktemp("s"), RULES, PARAMS, {"fines.rules.yaml": FINES})
    return Engine(load_all(root), request.param)


def two_options(a: dict[str, Any], b: dict[str, Any], priorities: list[str]) -> Any:
    base = {"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-26",
            "client": {"immigration": {"status": "lpr", "admission_date": "2010-01-01"}, "priorities": priorities}}
    return case({**base, "options": [{"id": "a", "counts": [a]}, {"id": "b", "counts": [b]}]})


def count(days: int, fine: int = 0, elements: tuple[str, ...] = ("theft",)) -> dict[str, Any]:
    return {"offense": {"statute": "TEST", "elements": list(elements), "cimt": False}, "committed_on": "2026-01-01",
            "sentence": {"custody_days": days, "fine": fine}}


def test_one_day_less_is_found_as_the_counter_offer_and_rechecked(engine: Engine) -> None:
    c = two_options(count(365), count(30), ["immigration"])
    r = engine.advise(c, alternatives=True)
    alts = r["options"][0]["alternatives"]
    assert alts[0]["change"] == "Count 1: a term of 364 days (counting suspended time) instead of a term of 365 days (counting suspended time)"
    assert alts[0]["patch"] == {"counts[0].sentence.custody_days": 364}
    assert "imm.deportable.aggravated_felony" in alts[0]["avoids"]
    assert alts[0]["triggers"] == []
    assert r["options"][1]["alternatives"] == []   # nothing serious to avoid


def test_the_counter_offer_is_the_threshold_not_a_fixed_number(engine: Engine) -> None:
    # 400 days: the rule's own threshold (a dated parameter, 365) gives 364, and gaining relief is not a new consequence
    r = engine.advise(two_options(count(400), count(30), ["immigration"]), alternatives=True)
    alt = r["options"][0]["alternatives"][0]
    assert alt["patch"] == {"counts[0].sentence.custody_days": 364}
    assert alt["triggers"] == []


def test_ranking_follows_the_clients_priorities(engine: Engine) -> None:
    # option a: aggravated felony, no fine; option b: no immigration consequence, a fine
    a, b = count(365), count(30, fine=5000)
    imm_first = engine.advise(two_options(a, b, ["immigration", "fines"]))
    fines_first = engine.advise(two_options(a, b, ["fines", "immigration"]))
    assert imm_first["comparison"]["ranked"] == ["b", "a"]
    assert fines_first["comparison"]["ranked"] == ["a", "b"]
    assert fines_first["comparison"]["reasons"] == [
        "a ranks above b: fines — worst applying consequence none vs high (fines is priority 1 of the client)"]
    assert imm_first["comparison"]["by_domain"] == {"immigration": {"a": "critical", "b": "none"},
                                                    "fines": {"a": "none", "b": "high"}}


def test_a_conflict_across_domains_shows_in_the_comparison_table(engine: Engine) -> None:
    r = engine.advise(two_options(count(365), count(30, fine=5000), ["immigration"]))
    table = r["comparison"]["by_domain"]
    assert table["immigration"]["a"] == "critical" and table["immigration"]["b"] == "none"
    assert table["fines"]["a"] == "none" and table["fines"]["b"] == "high"
    assert r["options"][1]["financial"]["total"] == 5000.0
    assert r["comparison"]["conflicts"] == ["a is better than b for fines but worse for immigration"]
    diff = next(d for d in r["comparison"]["differences"] if d["option"] == "a")
    assert diff["avoided_by"] == "b" and "imm.deportable.aggravated_felony" in diff["codes"]


def test_only_decisive_questions_are_asked(engine: Engine) -> None:
    c = case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-26",
              "client": {"immigration": {"status": "lpr"}},        # admission date unknown; income unknown
              "options": [{"id": "a", "counts": [count(30)]}]})
    r = engine.advise(c)
    assert [q["fact"] for q in r["options"][0]["questions"]] == []   # nothing turns on the unknown facts here
    c2 = case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-26",
               "client": {"immigration": {"status": "lpr"}},
               "options": [{"id": "a", "counts": [{"offense": {"statute": "TEST", "elements": ["theft"], "cimt": True},
                                                   "committed_on": "2026-01-01", "sentence": {"custody_days": 30, "fine": 0}}]}]})
    q = engine.advise(c2)["options"][0]["questions"]
    assert [x["fact"] for x in q] == ["client.immigration.admission_date"]
    assert q[0]["stakes"] == "critical" and q[0]["why"] == ["a/imm.deportable.cimt@0"]


def test_a_lesser_offense_named_in_the_catalog_is_tried_and_rechecked(durable_engine: Engine) -> None:
    c = case({"format": 1, "jurisdiction": "US-CA", "as_of": "2026-11-26",
              "client": {"immigration": {"status": "lpr", "admission_date": "2023-01-01", "conduct": [], "prior_relief": []},
                         "priorities": ["immigration"]},
              "options": [{"id": "offer", "counts": [{"offense": {"statute": "PC 487(a)"}, "committed_on": "2026-03-01",
                                                       "disposition": "conviction", "plea": "guilty",
                                                       "sentence": {"custody_days": 240, "fine": 0}}]}]})
    alts = durable_engine.advise(c, alternatives=True)["options"][0]["alternatives"]
    lesser = next(a for a in alts if a["patch"] == {"counts[0].offense.statute": "PC 484(a)"})
    assert "imm.deportable.cimt" in lesser["avoids"]          # a 180-day maximum is under the one-year threshold
    assert lesser["change"].endswith("with the term capped at its 180-day maximum")
