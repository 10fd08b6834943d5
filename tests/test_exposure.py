"""The direct consequences: each option's sentence exposure and expected time served from cited credit
parameters, the trial baseline built from the charges, and custody as a priority."""

from __future__ import annotations

from typing import Any

import pytest

from engine.evaluate import Engine

from .conftest import case


def _case(priorities: list[str], jurisdiction: str = "US-CA", charges: bool = True, **options: Any) -> Any:
    data: dict[str, Any] = {"format": 1, "jurisdiction": jurisdiction, "as_of": "2026-11-26",
                            "client": {"immigration": {"status": "us_citizen"}, "priorities": priorities},
                            "options": [{"id": k, **v} for k, v in options.items()]}
    if charges:
        data["charges"] = [{"offense": {"statute": "PC 487(a)"}, "committed_on": "2026-03-14"},
                           {"offense": {"statute": "PC 459/460(b)"}, "committed_on": "2026-03-14"}]
    return case(data)


LONG = {"counts": [{"offense": {"statute": "PC 487(a)"}, "committed_on": "2026-03-14", "sentence": {"custody_days": 365}}]}
SHORT = {"counts": [{"offense": {"statute": "PC 490.2"}, "committed_on": "2026-03-14",
                     "sentence": {"custody_days": 90, "suspended_days": 30}}]}


def test_expected_time_follows_the_states_credit_and_the_trial_baseline_is_added(durable_engine: Engine) -> None:
    r = durable_engine.advise(_case(["custody"], long=LONG, short=SHORT))
    exp = {o["id"]: o["sentence_exposure"] for o in r["options"]}
    assert [o["id"] for o in r["options"]] == ["long", "short", "trial"]
    # Cal. Penal Code § 4019(f): half-time; 90 imposed, 30 suspended -> 60 confined -> 30 expected
    assert (exp["short"]["confined_days"], exp["short"]["expected_days"]) == (60, 30)
    assert exp["short"]["counts"][0]["credit_cite"].startswith("Cal. Penal Code § 4019")
    # a wobbler earns the same half-time either way: 365 -> 183 (half up)
    assert exp["long"]["expected_days"] == 183
    # trial: convicted as charged, the term open up to each maximum, added up when the structure is not stated
    assert exp["trial"]["imposed_days"] is None and exp["trial"]["max_days"] == 1095 + 1095
    assert any("worst case" in n for n in exp["trial"]["notes"])


def test_custody_as_the_first_priority_ranks_by_expected_time_served(durable_engine: Engine) -> None:
    r = durable_engine.advise(_case(["custody"], long=LONG, short=SHORT))
    assert r["comparison"]["ranked"] == ["short", "long", "trial"]
    assert r["comparison"]["reasons"][0] == ("short ranks above long: custody — time expected to be served 30 days "
                                             "vs 183 days (custody is priority 1 of the client)")


def test_without_custody_as_a_priority_time_does_not_rank_the_options(durable_engine: Engine) -> None:
    # the same two offers, where custody is not a priority and nothing else differs for a citizen... except the
    # collateral consequences: the ranking must not mention custody
    r = durable_engine.advise(_case(["fines"], charges=False, long=LONG, short=SHORT))
    assert not any("custody" in x for x in r["comparison"]["reasons"])


def test_consecutive_or_concurrent_as_the_option_says(durable_engine: Engine) -> None:
    two = {"counts": [{"offense": {"statute": "PC 490.2"}, "committed_on": "2026-03-14", "sentence": {"custody_days": 100}},
                      {"offense": {"statute": "PC 490.2"}, "committed_on": "2026-03-14", "sentence": {"custody_days": 60}}]}
    r = durable_engine.advise(_case([], charges=False, conc={**two, "consecutive": False}, cons={**two, "consecutive": True}))
    exp = {o["id"]: o["sentence_exposure"] for o in r["options"]}
    assert (exp["conc"]["confined_days"], exp["conc"]["expected_days"]) == (100, 50)
    assert (exp["cons"]["confined_days"], exp["cons"]["expected_days"]) == (160, 80)


@pytest.mark.parametrize("days,expected", [(365, 365), (366, 312)])
def test_federal_good_time_only_above_one_year(durable_engine: Engine, days: int, expected: int) -> None:
    # 18 U.S.C. § 3624(b)(1): more than one year earns up to 54 days per year imposed: 366 x 0.852 = 311.8 -> 312
    opt = {"counts": [{"offense": {"statute": "8 U.S.C. 1326", "class": "felony"}, "committed_on": "2026-03-14",
                       "sentence": {"custody_days": days}}]}
    r = durable_engine.advise(_case([], jurisdiction="US", charges=False, plea=opt))
    assert r["options"][0]["sentence_exposure"]["expected_days"] == expected


def test_trial_is_a_reserved_option_id_when_charges_are_given() -> None:
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="option id 'trial' is reserved"):
        _case([], trial=SHORT)
