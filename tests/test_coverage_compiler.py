"""Every authoring mistake the rule compiler reports, each with the exact message, the rule and the place in
its `when` (or its amount, or the derived fact) where it is, so a pack author can fix it from the message
alone; and the rule forms that compile but read an edge: a comparison past the last value of an ordered fact,
a finding concluded at both scopes, a derived fact out of force."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engine.compile.compiler import CompileError, compile_program
from engine.explain.evaluate import Engine
from engine.law.packs import load_all

from .conftest import case, findings, make_rules

ON = dt.date(2026, 11, 26)
RULE = """\
  - id: t.chain.{id}
    title: A test rule
    status: draft
    certainty: clear
    scope: {scope}
    citations: [{{cite: "8 U.S.C. § 1101(a)(48)(A)"}}]
    when: {when}
    then: {{code: {code}, kind: classification, domain: immigration, severity: info, title: Test, summary: Test rule,
           explanation: Test rule{extra}}}
"""
PARAMS = """\
parameters:
  old:
    description: a value that ended long ago
    unit: days
    values:
      - {from: 1990-01-01, to: 2000-01-01, value: 10, cite: "Old Code § 1"}
  years:
    description: an offset in years
    unit: years
    values:
      - {from: 1990-01-01, value: 5, cite: "Test Code § 5"}
"""


def rule(id: str, when: str, code: str = "imm.cimt", scope: str = "count", extra: str = "") -> str:
    return RULE.format(id=id, when=when, code=code, scope=scope, extra=extra)


def problems(tmp: Path, rules: str, extra: dict[str, str] | None = None) -> list[str]:
    ps = load_all(make_rules(tmp, "rules:\n" + rules, PARAMS, extra))
    assert ps.problems == []
    with pytest.raises(CompileError) as exc:
        compile_program(ps.packs, ON, 9, set(ps.vocabulary["elements"]), license_tags=set(ps.vocabulary["licenses"]))
    return [f"{p.field}: {p.message}" + (f" (did you mean '{p.suggestion}'?)" if p.suggestion else "") for p in exc.value.problems]


WHEN = "t.chain.bad: when"
FIELD_OPS = "eq, ne, lt, le, gt, ge, in, not_in, has, has_any, has_all, known, starts_with"
GOALS = "remain, travel, naturalize, adjust, daca, tps, asylum, u_or_t_visa"


@pytest.mark.parametrize("when, where, message", [
    # the shape of a condition
    ("{all: [[]]}", ".all[0]", "expected a condition (all, any, not, fact, finding or count)"),
    ("{all: []}", "", "'all' takes a non-empty list and nothing beside it"),
    ("{any: [{fact: count.plea, eq: guilty}], fact: count.plea}", "", "'any' takes a non-empty list and nothing beside it"),
    ("{not: {fact: count.plea, eq: guilty}, fact: count.plea}", "", "'not' takes one condition and nothing beside it"),
    ("{fakt: count.plea, eq: guilty}", "",
     "unknown condition form ['eq', 'fakt']; expected all, any, not, fact, finding or count (did you mean 'fact'?)"),
    ("{not: {all: [{fact: count.plea, eq: guilty}, {fact: count.plea, eq: guily}]}}", ".not.all[1].eq",
     "'guily' is not a value of count.plea; expected one of guilty, nolo_contendere, alford, trial (did you mean 'guilty'?)"),
    # findings and counts of findings
    ("{finding: imm.cimt, any_counts: true}", "", "unexpected key(s) ['any_counts'] in a finding condition (did you mean 'any_count'?)"),
    ("{count: imm.cimt, ge: 1.5}", "", "a count condition takes one of eq, lt, le, gt, ge with a whole number (and optionally separate: true)"),
    ("{count: imm.cimt, ne: 1}", "", "a count condition takes one of eq, lt, le, gt, ge with a whole number (and optionally separate: true)"),
    ("{count: imm.cimt}", "", "a count condition takes one of eq, lt, le, gt, ge with a whole number (and optionally separate: true)"),
    ("{count: imm.nope, ge: 1}", ".count", "no rule concludes the code 'imm.nope'"),
    # facts and operators
    ("{fact: count.plea}", "", f"a fact condition takes exactly one operator ({FIELD_OPS})"),
    ("{fact: count.plea, eq: guilty, ne: alford}", "", f"a fact condition takes exactly one operator ({FIELD_OPS}) (did you mean 'eq'?)"),
    ("{fact: count.committed_on, lt: '2020'}", ".lt", "count.committed_on is a date; expected YYYY-MM-DD, got '2020'"),
    ("{fact: count.sentence.custody_days, ge: ten}", ".ge", "count.sentence.custody_days is a number; got 'ten'"),
    ("{fact: count.sentence.custody_days, ge: true}", ".ge", "count.sentence.custody_days is a number; got True"),
    ("{fact: count.offense.cimt, eq: 'yes'}", ".eq", "count.offense.cimt is true or false; got 'yes'"),
    ("{fact: count.offense.statute, eq: [PC 484]}", ".eq", "count.offense.statute is text; got ['PC 484']"),
    ("{fact: count.plea, known: 1}", ".known", "known takes true or false"),
    # lists (tags)
    ("{fact: count.offense.elements, eq: theft}", ".eq", "count.offense.elements is a list; use has, has_any, has_all or known"),
    ("{fact: count.offense.elements, has: [theft]}", ".has", "has takes a tag"),
    ("{fact: count.offense.elements, has_any: theft}", ".has_any", "has_any takes a list of tags"),
    ("{fact: count.offense.elements, has_all: []}", ".has_all", "has_all takes a list of tags"),
    ("{fact: client.licenses.held, has: registered_nurs}", ".has",
     "unknown license code 'registered_nurs' (rules/vocabulary.yaml licenses) (did you mean 'registered_nurse'?)"),
    ("{fact: client.immigration.goals, has_any: [travel, travle]}", ".has_any",
     f"'travle' is not a value of client.immigration.goals; expected one of {GOALS} (did you mean 'travel'?)"),
    ("{fact: count.plea, has: guilty}", ".has", "has works on list facts; count.plea is a enum"),
    # text, lists of values, order
    ("{fact: count.plea, starts_with: gu}", ".starts_with",
     "starts_with takes text (or a list of texts) and works on text facts such as count.offense.statute"),
    ("{fact: count.offense.statute, starts_with: []}", ".starts_with",
     "starts_with takes text (or a list of texts) and works on text facts such as count.offense.statute"),
    ("{fact: count.offense.statute, starts_with: ['PC 4', '']}", ".starts_with",
     "starts_with takes text (or a list of texts) and works on text facts such as count.offense.statute"),
    ("{fact: count.plea, in: guilty}", ".in", "in takes a non-empty list"),
    ("{fact: count.plea, not_in: []}", ".not_in", "not_in takes a non-empty list"),
    ("{fact: count.plea, lt: guilty}", ".lt", "count.plea has no order; use eq, ne, in or not_in"),
    ("{fact: count.offense.mens_rea, gt: knowingly}", ".gt", "'knowingly' is not a value of count.offense.mens_rea (did you mean 'knowing'?)"),
    # comparisons between two facts
    ("{fact: count.committed_on, has: {fact: count.convicted_on}}", ".has", "has cannot compare two facts"),
    ("{fact: count.committed_on, lt: {fact: count.convicted_onn}}", ".lt.fact",
     "unknown fact 'count.convicted_onn' (did you mean 'count.convicted_on'?)"),
    ("{fact: count.committed_on, lt: {fact: count.convicted_on, plus: {weeks: 2}}}", ".lt",
     "compare with {fact: PATH, plus: {years: N, months: N, days: N}}"),
    ("{fact: count.committed_on, lt: {fact: count.convicted_on, plus: {days: 1.5}}}", ".lt",
     "compare with {fact: PATH, plus: {years: N, months: N, days: N}}"),
    ("{fact: count.committed_on, lt: {fact: count.convicted_on, minus: {days: 1}}}", ".lt",
     "compare with {fact: PATH, plus: {years: N, months: N, days: N}}"),
    ("{fact: count.committed_on, lt: {fact: count.convicted_on, plus: {years: {param: yeers}}}}", ".lt.plus.years",
     "unknown parameter 'yeers' in pack t.chain (did you mean 'years'?)"),
    ("{fact: count.committed_on, lt: {fact: count.sentence.custody_days}}", ".lt",
     "cannot compare count.committed_on (date) with count.sentence.custody_days (int)"),
    ("{fact: count.plea, eq: {fact: count.disposition}}", ".eq", "cannot compare count.plea (enum) with count.disposition (enum)"),
])
def test_each_mistake_in_a_condition_is_reported_where_it_is(tmp_path: Path, when: str, where: str, message: str) -> None:
    assert problems(tmp_path, rule("bad", when)) == [f"{WHEN}{where}: {message}"]


def test_a_parameter_with_no_value_in_force_is_reported_like_in_an_amount(tmp_path: Path) -> None:
    assert problems(tmp_path, rule("bad", "{fact: count.sentence.custody_days, ge: {param: old}}")) == [
        f"{WHEN}.ge: parameter old has no value in force on 2026-11-26"]


def test_an_option_rule_cannot_compare_with_a_count_fact(tmp_path: Path) -> None:
    when = "{fact: client.immigration.admission_date, lt: {fact: count.committed_on, plus: {years: {param: years}}}}"
    assert problems(tmp_path, rule("bad", when, scope="option")) == [
        f"{WHEN}.lt: 'count.committed_on' is a count fact; only a rule with scope: count can read it"]


def test_every_mistake_of_a_pack_is_reported_at_once(tmp_path: Path) -> None:
    rules = rule("bad", "{fact: count.plea, eq: guily}") + rule("worse", "{fact: count.pleaa, eq: guilty}", code="imm.other")
    assert problems(tmp_path, rules) == [
        f"{WHEN}.eq: 'guily' is not a value of count.plea; expected one of guilty, nolo_contendere, alford, trial (did you mean 'guilty'?)",
        "t.chain.worse: when.fact: unknown fact 'count.pleaa' (did you mean 'count.plea'?)"]


def test_negating_a_finding_concluded_at_both_scopes_needs_any_count(tmp_path: Path) -> None:
    rules = (rule("count-level", "{fact: count.offense.cimt, eq: true}", code="imm.both")
             + rule("option-level", "{fact: client.immigration.status, eq: lpr}", code="imm.both", scope="option")
             + rule("bad", "{not: {finding: imm.both}}", code="imm.reader"))
    assert problems(tmp_path, rules) == [
        f"{WHEN}.not: 'imm.both' is concluded at both scopes; negating it in a count-scope rule needs any_count: true"]


AMOUNT_RULE = """\
  - id: t.chain.fee
    title: A fee
    status: draft
    certainty: clear
    scope: count
    citations: [{{cite: "Test Code § 9"}}]
    when: {{fact: count.sentence.fine, gt: 0}}
    then: {{code: fines.fee, kind: consequence, domain: fines, severity: low, title: Fee, summary: A fee, explanation: A fee,
           amount: {amount}}}
"""


@pytest.mark.parametrize("amount, message", [
    ("{param: fee}", "t.chain.fee: then.amount: unknown parameter 'fee' in pack t.chain"),
    ("{param: yeers}", "t.chain.fee: then.amount: unknown parameter 'yeers' in pack t.chain (did you mean 'years'?)"),
    ("{param: old}", "t.chain.fee: then.amount: parameter old has no value in force on 2026-11-26"),
    ("{fact: client.finances.annual_incom}",
     "t.chain.fee: then.amount: unknown fact 'client.finances.annual_incom' (did you mean 'client.finances.annual_income'?)"),
])
def test_a_mistake_in_an_amount_is_reported_with_the_rule(tmp_path: Path, amount: str, message: str) -> None:
    assert problems(tmp_path, AMOUNT_RULE.format(amount=amount)) == [message]


def test_a_mistake_in_a_derived_fact_is_reported_with_the_fact(tmp_path: Path) -> None:
    derived = """\
    derived:
      - {path: count.sentence.custody_days, description: a fact that exists, value: 1, cite: "Test § 1"}
      - {path: count.fee_base, description: the fee base, value: {mul: [{fact: count.sentence.fin}, 2]}, cite: "Test § 2"}
    """
    assert problems(tmp_path, rule("ok", "{fact: count.offense.cimt, eq: true}"), {"derived.yaml": derived}) == [
        "count.sentence.custody_days: a derived fact cannot redefine an existing fact",
        "count.fee_base: value: unknown fact 'count.sentence.fin' (did you mean 'count.sentence.fine'?)"]


# ---------------------------------------------------------------- forms that compile, read at their edge
EDGE_RULES = """\
rules:
  - id: t.chain.beyond-intent
    title: A mens rea above the highest
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 30"}]
    when: {fact: count.offense.mens_rea, gt: intent}
    then: {code: imm.never, kind: classification, domain: immigration, severity: info, title: Never, summary: never, explanation: never}
  - id: t.chain.not-beyond-intent
    title: Not above the highest
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 31"}]
    when: {not: {fact: count.offense.mens_rea, gt: intent}}
    then: {code: imm.always, kind: classification, domain: immigration, severity: info, title: Always, summary: always, explanation: always}
  - id: t.chain.fee-base
    title: A fee on the doubled fine
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 32"}]
    when: {fact: count.fee_base, gt: 0}
    then: {code: fines.fee, kind: consequence, domain: fines, severity: low, title: Fee, summary: fee, explanation: fee,
           amount: {fact: count.fee_base}}
"""
DERIVED = """\
derived:
  - path: count.fee_base
    description: twice the fine, from 2020 until 2030
    effective: {from: 2020-01-01, to: 2030-01-01}
    value: {mul: [{fact: count.sentence.fine}, 2]}
    cite: "Test Code § 32(a)"
"""


@pytest.fixture(scope="module")
def edge_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(load_all(make_rules(tmp_path_factory.mktemp("edge"), EDGE_RULES, extra={"derived.yaml": DERIVED})), "plain")


def edge_case(as_of: str, **offense: Any) -> Any:
    return case({"format": 1, "jurisdiction": "US-TX", "as_of": as_of,
                 "options": [{"id": "o", "counts": [{"offense": {"statute": "TEST", **offense}, "sentence": {"fine": 100}}]}]})


def test_above_the_highest_value_is_never_true_but_unknown_while_the_fact_is(edge_engine: Engine) -> None:
    known = findings(edge_engine.advise(edge_case("2026-11-26", mens_rea="intent")))
    assert "o/imm.never@0" not in known
    assert known["o/imm.always@0"]["status"] == "applies"
    unknown = findings(edge_engine.advise(edge_case("2026-11-26")))
    assert unknown["o/imm.never@0"]["status"] == "possible"
    assert unknown["o/imm.never@0"]["missing_facts"] == ["counts[0].offense.mens_rea"]
    assert unknown["o/imm.always@0"]["status"] == "possible"


def test_a_derived_fact_is_computed_only_while_in_force(edge_engine: Engine) -> None:
    inside = findings(edge_engine.advise(edge_case("2026-11-26")))
    assert inside["o/fines.fee@0"]["status"] == "applies" and inside["o/fines.fee@0"]["amount"] == 200.0
    # on its `to` date the fact is no longer computed: unknown, so the fee turns on it and its amount is unknown
    after = findings(edge_engine.advise(edge_case("2030-01-01")))
    assert after["o/fines.fee@0"]["status"] == "possible"
    assert after["o/fines.fee@0"]["amount"] is None
    before = findings(edge_engine.advise(edge_case("2019-12-31")))
    assert before["o/fines.fee@0"]["status"] == "possible"
