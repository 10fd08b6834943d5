"""The amount expressions of rule packs (engine/compile/expr.py) and the money they add up to (evaluate.financial):
each operator on hand-picked numbers, the error message of each authoring mistake, the arithmetic shown to
the attorney, and the two money rules the advice rests on -- an option's `sum` leaves out the prior record,
and the total adds only the amounts that apply (possible ones are totalled apart)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

import pytest

from engine.compile.expr import Expr, evaluate, facts_of, parse, show
from engine.explain.evaluate import Engine, financial
from engine.law.packs import load_all

from .conftest import case, make_rules

FACTS = {"count.sentence.fine", "count.sentence.restitution", "client.finances.annual_income", "count.source"}
PARAMS = {"rate": 0.1, "flat": 40, "text_rate": "2.5", "words": "ten dollars", "flag": True, "table": [1, 2]}


def param(name: str) -> Any:
    if name not in PARAMS:
        raise KeyError(f"unknown parameter '{name}' in pack t.chain")
    return PARAMS[name]


def compile_(raw: Any, scope: str = "count") -> tuple[Optional[Expr], list[str]]:
    errors: list[str] = []
    return parse(raw, errors.append, FACTS, param, scope), errors


def value(raw: Any, values: dict[str, Any] | None = None, counts: list[dict[str, Any]] | None = None,
          scope: str = "count") -> Optional[Decimal]:
    e, errors = compile_(raw, scope)
    assert errors == [] and e is not None
    return evaluate(e, values or {}, counts)


# ---------------------------------------------------------------- each operator, by hand
@pytest.mark.parametrize("raw, want", [
    (7, Decimal(7)),
    (2.5, Decimal("2.5")),
    ({"add": [1, 2, 3.5]}, Decimal("6.5")),
    ({"sub": [10, 3]}, Decimal(7)),
    ({"sub": [3, 10]}, Decimal(-7)),
    ({"mul": [4, 2.5, 2]}, Decimal(20)),
    ({"div": [9, 4]}, Decimal("2.25")),
    ({"min": [5, 3, 9]}, Decimal(3)),
    ({"max": [5, 3, 9]}, Decimal(9)),
    ({"round_up": [241, 10]}, Decimal(250)),      # "$1 for every $10 or part of $10": 25 units
    ({"round_up": [240, 10]}, Decimal(240)),      # a whole multiple stays
    ({"round_down": [249, 10]}, Decimal(240)),
    ({"round_down": [250, 10]}, Decimal(250)),
    ({"round": [2.345, 2]}, Decimal("2.35")),     # half up, not half even (2.34)
    ({"round": [2.325, 2]}, Decimal("2.33")),
    ({"round": [2.5, 0]}, Decimal(3)),
    ({"param": "rate"}, Decimal("0.1")),
    ({"param": "flat"}, Decimal(40)),
    ({"param": "text_rate"}, Decimal("2.5")),    # a dated parameter written as text
    ({"mul": [{"param": "rate"}, {"add": [100, 50]}]}, Decimal("15.0")),
])
def test_each_operator(raw: Any, want: Decimal) -> None:
    assert value(raw) == want


def test_division_by_zero_is_unknown_not_an_error() -> None:
    assert value({"div": [5, 0]}) is None
    assert value({"add": [1, {"div": [5, 0]}]}) is None


def test_a_fact_reads_the_value_and_an_unknown_fact_makes_the_whole_value_unknown() -> None:
    raw = {"add": [{"fact": "count.sentence.fine"}, {"fact": "count.sentence.restitution"}]}
    assert value(raw, {"count.sentence.fine": 100.5, "count.sentence.restitution": 20}) == Decimal("120.5")
    assert value(raw, {"count.sentence.fine": 100.5}) is None
    # a fact of another type (a flag, a date, a list) is no number: unknown
    assert value({"fact": "count.sentence.fine"}, {"count.sentence.fine": True}) is None


# ---------------------------------------------------------------- sum over counts
COUNTS = [{"count.source": "option", "count.sentence.fine": 100},
          {"count.source": "option", "count.sentence.fine": 250},
          {"count.source": "history", "count.sentence.fine": 500}]


def test_sum_over_the_options_counts_leaves_out_the_prior_record() -> None:
    assert value({"sum": {"fact": "count.sentence.fine"}}, counts=COUNTS, scope="option") == Decimal(350)
    assert value({"sum": {"fact": "count.sentence.fine"}, "over": "option_counts"}, counts=COUNTS, scope="option") == Decimal(350)


def test_sum_over_all_counts_includes_the_prior_record() -> None:
    assert value({"sum": {"fact": "count.sentence.fine"}, "over": "all_counts"}, counts=COUNTS, scope="option") == Decimal(850)


def test_sum_of_nothing_is_zero_and_one_unknown_count_makes_it_unknown() -> None:
    assert value({"sum": {"fact": "count.sentence.fine"}}, counts=[], scope="option") == Decimal(0)
    gap = COUNTS + [{"count.source": "option"}]
    assert value({"sum": {"fact": "count.sentence.fine"}}, counts=gap, scope="option") is None
    # an unknown prior count does not matter to a sum over the option's counts
    assert value({"sum": {"fact": "count.sentence.fine"}}, counts=COUNTS[:2] + [{"count.source": "history"}], scope="option") == Decimal(350)


def test_the_arithmetic_shown_names_the_same_counts() -> None:
    e, _ = compile_({"mul": [{"sum": {"fact": "count.sentence.fine"}}, {"param": "rate"}]}, "option")
    assert e is not None
    assert show(e, {}, COUNTS) == "((100 + 250) × 0.1)"
    e2, _ = compile_({"sum": {"fact": "count.sentence.fine"}, "over": "all_counts"}, "option")
    assert e2 is not None
    assert show(e2, {}, COUNTS) == "(100 + 250 + 500)"
    assert show(e2, {}, COUNTS[:1]) == "100"
    assert show(e2, {}, []) == "0"


def test_show_fills_in_the_values_for_a_hand_check() -> None:
    e, _ = compile_({"round_up": [{"sub": [{"fact": "count.sentence.fine"}, {"param": "flat"}]}, 10]})
    assert e is not None
    assert show(e, {"count.sentence.fine": 1241.5}) == "(1,241.5 − 40) rounded up to a multiple of 10"
    assert show(e, {}) == "(? − 40) rounded up to a multiple of 10"
    e2, _ = compile_({"round_down": [{"div": [1000, 3]}, 1]})
    assert e2 is not None
    assert show(e2, {}) == "(1,000 ÷ 3) rounded down to a multiple of 1"
    e3, _ = compile_({"max": [{"round": [0.125, 2]}, 0.25]})
    assert e3 is not None
    assert show(e3, {}) == "max(round(0.12, 2), 0.25)"   # 0.125 shown to cents; the value is computed exactly
    assert evaluate(e3, {}) == Decimal("0.25")


def test_facts_of_lists_every_fact_read() -> None:
    e, _ = compile_({"add": [{"fact": "count.sentence.fine"}, 3, {"mul": [{"fact": "count.sentence.restitution"}, 2]}]})
    assert e is not None and facts_of(e) == ["count.sentence.fine", "count.sentence.restitution"]
    s, _ = compile_({"sum": {"fact": "count.sentence.fine"}}, "option")
    assert s is not None and facts_of(s) == ["count.sentence.fine"]
    assert facts_of(Expr("num", (Decimal(1),))) == []


# ---------------------------------------------------------------- authoring mistakes, with the message
SUM_FORM = "sum is written {sum: EXPR, over: option_counts | all_counts} in an option-scope rule or derived fact"


@pytest.mark.parametrize("raw, scope, message", [
    (True, "count", "an amount expression cannot be true/false"),
    ("12", "count", "expected a number or one of fact, param, add, mul, min, max, sub, div, round_up, round_down, round, sum; got '12'"),
    ({}, "count", "expected a number or one of fact, param, add, mul, min, max, sub, div, round_up, round_down, round, sum; got {}"),
    ({"sum": {"fact": "count.sentence.fine"}}, "count", SUM_FORM),
    ({"sum": {"fact": "count.sentence.fine"}, "over": "history"}, "option", SUM_FORM),
    ({"sum": {"fact": "count.sentence.fine"}, "where": 1}, "option", SUM_FORM),
    ({"add": [1, 2], "sub": [1, 2]}, "count", "one operator per expression; got ['add', 'sub']"),
    ({"fact": "count.sentence.fines"}, "count", "unknown fact 'count.sentence.fines' (did you mean 'count.sentence.fine'?)"),
    ({"fact": "nothing.like.it"}, "count", "unknown fact 'nothing.like.it'"),
    ({"fact": "count.sentence.fine"}, "option", "'count.sentence.fine' is a count fact; in an option scope use sum"),
    ({"param": "nope"}, "count", "unknown parameter 'nope' in pack t.chain"),
    ({"param": "flag"}, "count", "parameter 'flag' is not a number"),
    ({"param": "table"}, "count", "parameter 'table' is not a number"),
    ({"param": "words"}, "count", "parameter value 'ten dollars' is not a number"),
    ({"sub": [1]}, "count", "sub takes two expressions in a list"),
    ({"round": [1, 2, 3]}, "count", "round takes two expressions in a list"),
    ({"add": [1]}, "count", "add takes two or more expressions in a list"),
    ({"max": 3}, "count", "max takes two or more expressions in a list"),
    ({"pow": [2, 3]}, "count", "unknown operator 'pow'"),
])
def test_each_authoring_mistake_is_reported(raw: Any, scope: str, message: str) -> None:
    e, errors = compile_(raw, scope)
    assert e is None
    assert errors == [message]


def test_a_mistake_inside_an_operator_fails_the_whole_expression() -> None:
    e, errors = compile_({"add": [1, {"fact": "nope"}, {"param": "nope"}]})
    assert e is None
    assert errors == ["unknown fact 'nope'", "unknown parameter 'nope' in pack t.chain"]
    e2, errors2 = compile_({"sum": {"fact": "nope"}}, "option")
    assert e2 is None and errors2 == ["unknown fact 'nope'"]


def test_an_unknown_operator_is_refused_when_evaluated() -> None:
    with pytest.raises(ValueError, match="pow"):
        evaluate(Expr("pow", (Expr("num", (Decimal(2),)), Expr("num", (Decimal(3),)))), {})


# ---------------------------------------------------------------- the money of an option, end to end
RULES = """\
rules:
  - id: t.chain.fines-total
    title: The fines of the plea's counts
    status: reviewed
    certainty: clear
    scope: option
    citations: [{cite: "Test Code § 10"}]
    when: {fact: option.count_total, ge: 1}
    then: {code: fines.option_fines, kind: consequence, domain: fines, severity: medium, title: "Fines of the plea",
           summary: "The fines imposed", explanation: "Every count's fine", amount: {sum: {fact: count.sentence.fine}}}
  - id: t.chain.record-fines
    title: A surcharge on every fine on record
    status: reviewed
    certainty: clear
    scope: option
    citations: [{cite: "Test Code § 11"}]
    when: {fact: option.count_total, ge: 1}
    then: {code: fines.record_surcharge, kind: consequence, domain: fines, severity: low, title: "Record surcharge",
           summary: "A surcharge", explanation: "A tenth of every fine on record",
           amount: {mul: [{sum: {fact: count.sentence.fine}, over: all_counts}, 0.1]}}
  - id: t.chain.indigent-fee
    title: A fee waived for higher incomes
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 12"}]
    when:
      all:
        - {fact: count.source, eq: option}
        - {fact: count.sentence.fine, gt: 0}
        - {fact: client.finances.annual_income, lt: 50000}
    then: {code: fines.low_income_fee, kind: consequence, domain: fines, severity: low, title: "Low-income fee",
           summary: "A fee", explanation: "A fee of $75 on each count of the plea unless the income is $50,000 or more", amount: 75}
"""


@pytest.fixture(scope="module", params=["durable", "plain"])
def money_engine(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(load_all(make_rules(tmp_path_factory.mktemp("x"), RULES)), request.param)


def money_case(income: Optional[float]) -> Any:
    fin = {} if income is None else {"annual_income": income}
    return case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-26", "client": {"finances": fin},
                 "history": [{"offense": {"statute": "OLD"}, "convicted_on": "2019-05-01", "sentence": {"fine": 500}}],
                 "options": [{"id": "a", "counts": [{"offense": {"statute": "TEST"}, "sentence": {"fine": 100}},
                                                    {"offense": {"statute": "TEST"}, "sentence": {"fine": 250}}]}]})


def test_an_options_sum_leaves_out_the_prior_convictions(money_engine: Engine) -> None:
    opt = money_engine.advise(money_case(30000))["options"][0]
    f = {x["code"]: x for x in opt["findings"]}
    assert f["fines.option_fines"]["amount"] == 350.0                       # 100 + 250, not the prior 500
    assert f["fines.option_fines"]["arithmetic"] == "(100 + 250) = 350.00"
    assert f["fines.record_surcharge"]["amount"] == 85.0                    # (100 + 250 + 500) x 0.1
    assert f["fines.record_surcharge"]["arithmetic"] == "((100 + 250 + 500) × 0.1) = 85.00"


def test_the_total_adds_only_what_applies_and_possible_amounts_apart(money_engine: Engine) -> None:
    # income known and low: the $75 fee applies on each of the two counts
    known = money_engine.advise(money_case(30000))["options"][0]["financial"]
    assert known["total"] == 350 + 85 + 75 + 75
    assert known["possible_additional"] == 0
    # income unknown: the fees are possible; the total is the certain money only
    unknown = money_engine.advise(money_case(None))["options"][0]["financial"]
    assert unknown["total"] == 350 + 85
    assert unknown["possible_additional"] == 75 + 75
    assert sorted((i["code"], i["status"]) for i in unknown["items"]) == [
        ("fines.low_income_fee", "possible"), ("fines.low_income_fee", "possible"),
        ("fines.option_fines", "applies"), ("fines.record_surcharge", "applies")]
    # income high: no fee at all
    assert money_engine.advise(money_case(80000))["options"][0]["financial"]["total"] == 350 + 85


def _item(code: str, status: str, amount: Optional[float], domain: str = "fines", kind: str = "consequence",
          arithmetic: Optional[str] = "x") -> dict[str, Any]:
    return {"title": code.title(), "code": code, "amount": amount, "status": status, "counts": [0], "domain": domain,
            "kind": kind, "citations": [{"cite": "A § 1"}, {"cite": "B § 2"}], "arithmetic": arithmetic}


def test_financial_items_total_and_ability_to_pay() -> None:
    fs = [_item("fines.a", "applies", 100.25), _item("fines.b", "possible", 40), _item("fines.c", "applies", None),
          _item("fines.d", "possible", None), _item("fines.e", "applies", 1000, arithmetic=None),   # no amount rule
          _item("imm.x", "applies", 5, domain="immigration"), _item("fines.f", "applies", 7, kind="classification")]
    out = financial(fs, {"client.finances.annual_income": 20000.0, "client.finances.household_size": 2,
                         "client.finances.poverty_line": 20000.0})
    assert out["total"] == 100.25
    assert out["possible_additional"] == 40
    assert out["unknown_items"] == ["Fines.C", "Fines.D"]
    assert [i["code"] for i in out["items"]] == ["fines.a", "fines.b", "fines.c", "fines.d"]
    assert out["items"][0]["cite"] == "A § 1; B § 2"
    assert out["ability_to_pay"] == {"income": 20000.0, "household_size": 2, "poverty_line": 20000.0,
                                     "income_to_poverty": 1.0, "total_to_income": 0.005}   # 100.25 / 20000 = 0.0050125
    none = financial([], {})
    assert none["total"] == 0 and none["possible_additional"] == 0 and none["items"] == []
    assert none["ability_to_pay"] == {"income": None, "household_size": None, "poverty_line": None,
                                      "income_to_poverty": None, "total_to_income": None}
