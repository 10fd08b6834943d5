"""Counter-offers at the edges the first strategy tests do not reach: a counter-offer of zero (any custody at
all triggers the consequence), a consequence of `high` severity, an option with two serious consequences that
different changes avoid, and the limit on the list. Every expected list is worked out by hand from
engine/explain/strategy.py's rules: the boundary of each `gt` test is its value, the cost of a numeric change is
|target - current| / max(current, 1), the cheapest change without new consequences is picked for each serious
consequence, and the picks are listed cheapest first."""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

import pytest

from engine.explain import strategy
from engine.explain.evaluate import Engine
from engine.law.packs import load_all

from .conftest import case, make_rules

RULES = """\
rules:
  - id: t.chain.jail
    title: Any custody at all
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 2(a)"}]
    when: {fact: count.sentence.custody_days, gt: 0}
    then: {code: employment.jail_bar, kind: consequence, domain: employment, severity: critical, title: "Jail bar",
           summary: "Any custody bars the job", explanation: "Test Code § 2(a) bars anyone sentenced to custody"}
  - id: t.chain.loss
    title: A loss over ten thousand dollars
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 3(b)"}]
    when: {fact: count.record.loss_amount, gt: 10000}
    then: {code: licensing.loss_revocation, kind: consequence, domain: licensing, severity: high, title: "Loss revocation",
           summary: "The license is revoked", explanation: "Test Code § 3(b) revokes on a loss over $10,000"}
  - id: t.chain.probation
    title: Any probation
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 4"}]
    when: {fact: count.sentence.probation_months, ge: 1}
    then: {code: housing.probation_notice, kind: consequence, domain: housing, severity: low, title: "Probation notice",
           summary: "The landlord is told", explanation: "Test Code § 4 requires notice of probation"}
"""

JAIL = "Count 1: a term of 0 days (counting suspended time) instead of a term of 30 days (counting suspended time)"
# loss_amount is a float in the case file, the rule's threshold an int: the label shows both as they are
LOSS = "Count 1: a loss of $10000 tied to the count instead of a loss of $20000.0 tied to the count"


@pytest.fixture(scope="module", params=["durable", "plain"])
def engine(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(load_all(make_rules(tmp_path_factory.mktemp("sm"), RULES)), request.param)


def one_count(**sentence_and_record: Any) -> Any:
    sentence = {k: v for k, v in sentence_and_record.items() if k in ("custody_days", "probation_months")}
    record = {k: v for k, v in sentence_and_record.items() if k == "loss_amount"}
    return case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-26",
                 "options": [{"id": "a", "counts": [{"offense": {"statute": "TEST"}, "committed_on": "2026-01-01",
                                                     "sentence": sentence, "record": record}]}]})


def alternatives(engine: Engine, c: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = engine.advise(c, alternatives=True)["options"][0]["alternatives"]
    return result


def test_any_custody_gets_the_counter_offer_of_no_custody(engine: Engine) -> None:
    # custody_days gt 0: the nearest value outside is 0 days, a counter-offer like any other
    assert alternatives(engine, one_count(custody_days=30)) == [
        {"change": JAIL, "patch": {"counts[0].sentence.custody_days": 0}, "avoids": ["employment.jail_bar"],
         "triggers": [], "avoids_titles": ["Jail bar"], "avoids_other": 0, "triggers_titles": []}]


def test_a_high_severity_consequence_gets_an_alternative(engine: Engine) -> None:
    # the only consequence is `high` (not critical): still serious enough to look for a safer plea
    assert alternatives(engine, one_count(loss_amount=20000)) == [
        {"change": LOSS, "patch": {"counts[0].record.loss_amount": 10000}, "avoids": ["licensing.loss_revocation"],
         "triggers": [], "avoids_titles": ["Loss revocation"], "avoids_other": 0, "triggers_titles": []}]


def test_a_low_severity_consequence_gets_none(engine: Engine) -> None:
    assert alternatives(engine, one_count(probation_months=12)) == []


def test_each_serious_consequence_gets_its_own_change_cheapest_first(engine: Engine) -> None:
    # loss 20000 -> 10000 costs 0.5, custody 30 -> 0 costs 1.0; each avoids one of the two serious consequences
    alts = alternatives(engine, one_count(custody_days=30, loss_amount=20000))
    assert [a["patch"] for a in alts] == [{"counts[0].record.loss_amount": 10000}, {"counts[0].sentence.custody_days": 0}]
    assert [a["avoids"] for a in alts] == [["licensing.loss_revocation"], ["employment.jail_bar"]]
    assert [a["change"] for a in alts] == [LOSS, JAIL]


def test_a_minor_consequence_avoided_on_the_way_is_counted_apart(engine: Engine) -> None:
    # custody to 0 avoids the jail bar; probation stays, so the low-severity notice is neither avoided nor new
    alts = alternatives(engine, one_count(custody_days=30, probation_months=12))
    assert [(a["patch"], a["avoids"], a["avoids_other"]) for a in alts] == [
        ({"counts[0].sentence.custody_days": 0}, ["employment.jail_bar"], 0)]


def test_the_list_is_cut_at_the_limit_cheapest_kept(engine: Engine) -> None:
    c = one_count(custody_days=30, loss_amount=20000)
    on = dt.date(2026, 11, 26)
    option = engine.evaluate_option(c, c.options[0], on, None)
    assert [a["patch"] for a in strategy.alternatives(engine, c, option, on, None, limit=1)] == [
        {"counts[0].record.loss_amount": 10000}]
    assert len(strategy.alternatives(engine, c, option, on, None, limit=2)) == 2


# ---------------------------------------------------------------- the other kinds of change
MORE_RULES = """\
rules:
  - id: t.chain.jail-or-probation
    title: Any custody or probation
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 5"}]
    when:
      any:
        - {fact: count.sentence.custody_days, gt: 0}
        - {fact: count.sentence.probation_months, ge: 1}
    then: {code: employment.supervision_bar, kind: consequence, domain: employment, severity: critical, title: "Supervision bar",
           summary: "Custody or probation bars the job", explanation: "Test Code § 5"}
  - id: t.chain.cocaine
    title: A record naming cocaine
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 6"}]
    when: {fact: count.record.substance, eq: cocaine}
    then: {code: licensing.named_drug, kind: consequence, domain: licensing, severity: high, title: "Named drug",
           summary: "A named drug revokes the license", explanation: "Test Code § 6"}
  - id: t.chain.statute
    title: The felony statute
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 7"}]
    when: {fact: count.offense.statute, eq: "TC 1"}
    then: {code: housing.felony_eviction, kind: consequence, domain: housing, severity: critical, title: "Eviction",
           summary: "Eviction", explanation: "Test Code § 7"}
  - id: t.chain.conviction
    title: Any conviction with a stated term
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 8"}]
    when:
      all:
        - {fact: count.disposition, eq: conviction}
        - {fact: count.sentence.custody_days, known: true}
    then: {code: benefits.conviction_bar, kind: consequence, domain: benefits, severity: high, title: "Benefits bar",
           summary: "Benefits lost", explanation: "Test Code § 8"}
"""
OFFENSES = {"pack.yaml": """\
    id: t.offenses
    title: Test catalog
    jurisdiction: US-TX
    domain: offenses
    version: 1.0.0
    current_through: 2026-01-01
    maintainers: [tests]
    """, "catalog.yaml": """\
    offenses:
      - {statute: "TC 1", citation: "Test Code § 1", title: "Felony", max_days: 730, notes: "The lesser offense is TC 2."}
      - {statute: "TC 2", citation: "Test Code § 2", title: "Lesser", max_days: 30}
    """}


@pytest.fixture(scope="module", params=["durable", "plain"])
def more(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = make_rules(tmp_path_factory.mktemp("more"), MORE_RULES)
    (root / "t" / "offenses").mkdir()
    for name, text in OFFENSES.items():
        (root / "t" / "offenses" / name).write_text(textwrap.dedent(text))
    return Engine(load_all(root), request.param)


def plea(**count: Any) -> Any:
    return case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-26",
                 "options": [{"id": "a", "counts": [{"offense": {"statute": "TEST"}, **count}]}]})


def test_only_the_term_not_already_outside_is_offered(more: Engine) -> None:
    # custody 0 is already outside `gt 0`: only the probation is changed
    alts = alternatives(more, plea(sentence={"custody_days": 0, "probation_months": 12}))
    assert [(a["change"], a["patch"]) for a in alts] == [
        ("Count 1: 0 months of probation instead of 12 months of probation", {"counts[0].sentence.probation_months": 0})]


def test_lowering_the_term_lowers_the_suspended_part_with_it(more: Engine) -> None:
    alts = alternatives(more, plea(sentence={"custody_days": 30, "suspended_days": 20}))
    assert [a["patch"] for a in alts] == [{"counts[0].sentence.custody_days": 0}]
    assert alts[0]["avoids"] == ["employment.supervision_bar"]


def test_a_record_that_names_no_substance(more: Engine) -> None:
    alts = alternatives(more, plea(record={"substance": "cocaine"}))
    assert [(a["change"], a["patch"], a["avoids"]) for a in alts] == [
        ("Count 1: record names no specific substance", {"counts[0].record.substance": "unspecified"}, ["licensing.named_drug"])]


def test_a_lesser_offense_caps_the_term_and_the_suspended_part(more: Engine) -> None:
    alts = alternatives(more, plea(offense={"statute": "TC 1"}, sentence={"custody_days": 100, "suspended_days": 80},
                                   disposition="conviction"))
    lesser = [a for a in alts if "offense.statute" in next(iter(a["patch"]))]
    assert [(a["change"], a["patch"], a["avoids"]) for a in lesser] == [
        ("Count 1: plead to TC 2 (Lesser) instead of TC 1, with the term capped at its 30-day maximum",
         {"counts[0].offense.statute": "TC 2"}, ["housing.felony_eviction"])]


def test_diversion_for_a_conviction_and_no_number_for_a_rule_that_asks_only_whether_a_term_is_known(more: Engine) -> None:
    # `custody_days known: true` has no threshold to move below: the conviction is what a change can avoid
    alts = alternatives(more, plea(disposition="conviction", sentence={"custody_days": 0}))
    assert [(a["change"], a["patch"], a["avoids"]) for a in alts] == [
        ("Count 1: pre-plea diversion with no plea or admission instead of conviction",
         {"counts[0].disposition": "diversion_no_plea"}, ["benefits.conviction_bar"])]


def test_no_diversion_is_offered_for_a_plea_that_is_already_one(more: Engine) -> None:
    alts = alternatives(more, plea(disposition="diversion_no_plea", sentence={"custody_days": 30}))
    assert [a["patch"] for a in alts] == [{"counts[0].sentence.custody_days": 0}]
