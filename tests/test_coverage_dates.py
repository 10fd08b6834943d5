"""Dated values end the day before their `to` date: a pack parameter (Pack.param_on) and a catalog maximum
(catalog.max_days_on), at, before and after the edges of a value that no later value follows."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.law.catalog import DatedInt, max_days_on
from engine.law.packs import Pack, load_all

from .conftest import make_rules

RULES = """\
rules:
  - id: t.chain.surcharge
    title: A surcharge that was repealed
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 20"}]
    when: {fact: count.sentence.fine, gt: 0}
    then: {code: fines.surcharge, kind: consequence, domain: fines, severity: low, title: "Surcharge",
           summary: "A surcharge", explanation: "Repealed on 2019-09-01", amount: {param: surcharge}}
"""
PARAMS = """\
parameters:
  surcharge:
    description: a surcharge repealed on 2019-09-01, with no later value
    unit: usd
    values:
      - {from: 2010-01-01, to: 2015-01-01, value: 100, cite: "Test Code § 20 (2010)"}
      - {from: 2015-01-01, to: 2019-09-01, value: 150, cite: "Test Code § 20 (2015)"}
"""


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Pack:
    ps = load_all(make_rules(tmp_path_factory.mktemp("d"), RULES, PARAMS))
    assert not ps.problems
    return next(p for p in ps.packs if p.id == "t.chain")


@pytest.mark.parametrize("on, value", [
    (dt.date(2010, 1, 1), 100), (dt.date(2014, 12, 31), 100),
    (dt.date(2015, 1, 1), 150),                  # the `to` of the first value is the `from` of the next
    (dt.date(2019, 8, 31), 150),
])
def test_a_parameter_value_is_in_force_from_its_from_date_until_the_day_before_its_to(pack: Pack, on: dt.date, value: int) -> None:
    assert pack.param_on("surcharge", on) == value


@pytest.mark.parametrize("on", [dt.date(2019, 9, 1), dt.date(2020, 1, 1), dt.date(2009, 12, 31)])
def test_no_parameter_value_on_its_to_date_or_outside(pack: Pack, on: dt.date) -> None:
    with pytest.raises(KeyError, match=f"parameter surcharge has no value in force on {on.isoformat()}"):
        pack.param_on("surcharge", on)


MAXIMA = [DatedInt.model_validate({"from": "2000-01-01", "to": "2014-11-05", "value": 1095}),
          DatedInt.model_validate({"from": "2014-11-05", "to": "2022-01-01", "value": 364})]


@pytest.mark.parametrize("on, days", [
    (dt.date(2000, 1, 1), 1095), (dt.date(2014, 11, 4), 1095),
    (dt.date(2014, 11, 5), 364), (dt.date(2021, 12, 31), 364),
    (dt.date(2022, 1, 1), None),                 # the last value's `to`: not in force that day
    (dt.date(1999, 12, 31), None),
])
def test_a_dated_maximum_ends_the_day_before_its_to(on: dt.date, days: int | None) -> None:
    assert max_days_on(MAXIMA, on) == days


def test_an_undated_maximum_is_itself() -> None:
    assert max_days_on(365, dt.date(2026, 1, 1)) == 365
    assert max_days_on(None, dt.date(2026, 1, 1)) is None
