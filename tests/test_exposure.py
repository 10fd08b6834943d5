"""The direct consequences: each option's sentence exposure and expected time served from cited credit
parameters, the trial baseline built from the charges, and custody as a priority."""

from __future__ import annotations

from typing import Any

import pytest

from engine.explain.evaluate import Engine

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


# ---------------------------------------------------------------- mandatory minimums
def _federal(**options: Any) -> Any:
    return case({"format": 1, "jurisdiction": "US", "as_of": "2026-11-26",
                 "client": {"immigration": {"status": "us_citizen"}},
                 "options": [{"id": k, **v} for k, v in options.items()]})


def _count(statute: str, days: int | None = None, **offense: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"offense": {"statute": statute, **offense}, "committed_on": "2025-01-01", "disposition": "conviction"}
    if days is not None:
        c["sentence"] = {"custody_days": days}
    return c


def test_a_mandatory_minimum_is_shown_and_a_term_below_it_is_flagged(durable_engine: Engine) -> None:
    # 18 U.S.C. § 1028A(a)(1): a term of 2 years, never concurrent (§ 1028A(b)(2))
    r = durable_engine.advise(_federal(low={"counts": [_count("18 U.S.C. 1028A", 365, prong="a1")]},
                                       ok={"counts": [_count("18 U.S.C. 1028A", 730, prong="a1")]}))
    exp = {o["id"]: o["sentence_exposure"] for o in r["options"]}
    assert exp["low"]["counts"][0]["min_days"] == 730 and exp["low"]["counts"][0]["min_consecutive"] is True
    assert any("below the mandatory minimum of 730 days" in n for n in exp["low"]["notes"])
    assert not any("mandatory minimum" in n for n in exp["ok"]["notes"])   # at the minimum: not below it


def test_an_open_prong_takes_the_least_minimum_and_consecutive_minimums_always_add(durable_engine: Engine) -> None:
    # 1028A(a)(1) 2 years, (a)(2) 5 years: with the prong open, the least culpable one's minimum
    r = durable_engine.advise(_federal(open={"counts": [_count("18 U.S.C. 1028A")]}))
    assert r["options"][0]["sentence_exposure"]["min_days"] == 730
    # concurrent terms: minimums the law makes consecutive still add up (924(c) 5 years + 1028A 2 years); a
    # minimum the case file gives for a count the law does not make consecutive runs with the others
    both = {"consecutive": False, "counts": [_count("18 U.S.C. 924(c)", prong="dtc"), _count("18 U.S.C. 1028A", prong="a1"),
                                             _count("21 U.S.C. 841(a)(1)", prong="pwid", min_days=3650),
                                             _count("21 U.S.C. 841(a)(1)", prong="pwid", min_days=1825)]}
    r = durable_engine.advise(_federal(both=both))
    assert r["options"][0]["sentence_exposure"]["min_days"] == 1825 + 730 + 3650
    both["consecutive"] = True
    r = durable_engine.advise(_federal(both=both))
    assert r["options"][0]["sentence_exposure"]["min_days"] == 1825 + 730 + 3650 + 1825


def test_the_memo_gives_the_minimum_on_the_count_and_flags_a_term_below_it(durable_engine: Engine) -> None:
    from engine.present.memo import build
    r = durable_engine.advise(_federal(low={"counts": [_count("18 U.S.C. 1028A", 365, prong="a1")]}))
    memo = build(r)
    assert "mandatory minimum 2 years, consecutive to any other term" in memo.options[0].counts[0]
    assert any("below the mandatory minimum" in s for s in memo.options[0].sentences)
