"""Boundary tests with the real packs: each threshold a rule compares against a parameter, tested at, above and
below the line. Every expected value is worked out by hand from the statute and the pack's parameters (the
source is named beside each test), never taken from a run of the code."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import pytest

from engine.compile.facts import years_between
from engine.explain.evaluate import Engine

from .conftest import case

AS_OF = "2026-11-26"


def offense(**over: Any) -> dict[str, Any]:
    base = {"statute": "TEST 1", "class": "misdemeanor", "max_days": 365, "elements": ["theft"], "mens_rea": "knowing",
            "force": "none", "cimt": True, "inchoate": "none"}
    return {**base, **over}


def advise(engine: Engine, count: dict[str, Any], jurisdiction: str = "US-CA", admission: str = "2015-01-01",
           client: Optional[dict[str, Any]] = None) -> dict[str, set[str]]:
    """code -> statuses of the findings of option `offer`."""
    c = {"format": 1, "jurisdiction": jurisdiction, "as_of": AS_OF,
         "client": client or {"birth_date": "1980-01-01",
                              "immigration": {"status": "lpr", "admission_date": admission, "lpr_date": admission,
                                              "goals": ["remain"], "conduct": [], "prior_relief": [], "prior_removal": False}},
         "options": [{"id": "offer", "counts": [{"committed_on": "2026-01-01", "disposition": "conviction", "plea": "guilty",
                                                 **count}]}]}
    out: dict[str, set[str]] = {}
    for f in engine.advise(case(c))["options"][0]["findings"]:
        out.setdefault(f["code"], set()).add(f["status"])
    return out


# --- 8 U.S.C. § 1182(a)(2)(A)(ii)(II): the petty-offense exception --------------------------------------------
# "the maximum penalty possible for the crime ... did not exceed imprisonment for one year and ... the alien was
# not sentenced to a term of imprisonment in excess of 6 months". Parameters: petty_offense_imposed_days = 180
# (six months, read conservatively as 180 days), petty_offense_max_days = 365. Sentence imposed counts suspended
# time (8 U.S.C. § 1101(a)(48)(B)); custody_days is that term.
@pytest.mark.parametrize(("days", "within"), [(179, True), (180, True), (181, False)])
def test_petty_offense_sentence_imposed_at_most_180_days(durable_engine: Engine, days: int, within: bool) -> None:
    found = advise(durable_engine, {"offense": offense(), "sentence": {"custody_days": days}})
    assert found["imm.cimt"] == {"applies"}
    if within:
        assert found.get("imm.petty_offense_penalty") == {"applies"}
        assert found.get("imm.petty_offense_exception") == {"applies"}
    else:
        assert "imm.petty_offense_penalty" not in found
        assert "imm.petty_offense_exception" not in found


@pytest.mark.parametrize(("max_days", "within"), [(364, True), (365, True), (366, False)])
def test_petty_offense_maximum_possible_penalty_at_most_one_year(durable_engine: Engine, max_days: int, within: bool) -> None:
    found = advise(durable_engine, {"offense": offense(max_days=max_days), "sentence": {"custody_days": 30}})
    assert ("imm.petty_offense_penalty" in found) is within
    assert ("imm.petty_offense_exception" in found) is within


# --- 8 U.S.C. § 1101(a)(43)(G): theft "for which the term of imprisonment [is] at least one year" -----------------
# agf_term_min_days = 365; the term ordered counts suspended time (§ 1101(a)(48)(B)). 364 days is not an
# aggravated felony, 365 and 366 are.
@pytest.mark.parametrize(("days", "felony"), [(364, False), (365, True), (366, True)])
def test_theft_aggravated_felony_at_a_one_year_term(durable_engine: Engine, days: int, felony: bool) -> None:
    found = advise(durable_engine, {"offense": offense(), "sentence": {"custody_days": days}})
    if felony:
        assert found.get("imm.aggravated_felony.G") == {"applies"}
        assert found.get("imm.deportable.aggravated_felony") == {"applies"}
    else:
        assert "imm.aggravated_felony.G" not in found
        assert "imm.deportable.aggravated_felony" not in found


def test_suspended_time_counts_toward_the_one_year_term(durable_engine: Engine) -> None:
    # 365 days ordered, 335 of them suspended: the term is still 365 days (§ 1101(a)(48)(B))
    found = advise(durable_engine, {"offense": offense(), "sentence": {"custody_days": 365, "suspended_days": 335}})
    assert found.get("imm.aggravated_felony.G") == {"applies"}


# --- 8 U.S.C. § 1101(a)(43)(M)(i): fraud or deceit "in which the loss to the victim or victims exceeds $10,000" ---
# agf_loss_threshold_usd = 10000: exactly $10,000 does not exceed it; $10,000.01 and $10,001 do.
@pytest.mark.parametrize(("loss", "felony"), [(9999, False), (10000, False), (10000.01, True), (10001, True)])
def test_fraud_loss_must_exceed_ten_thousand_dollars(durable_engine: Engine, loss: float, felony: bool) -> None:
    found = advise(durable_engine, {"offense": offense(elements=["fraud_deceit"]), "sentence": {"custody_days": 30},
                                    "record": {"loss_amount": loss}})
    if felony:
        assert found.get("imm.aggravated_felony.M") == {"applies"}
    else:
        assert "imm.aggravated_felony.M" not in found


# --- 8 U.S.C. § 1227(a)(2)(A)(i)(II): a CIMT "for which a sentence of one year or longer may be imposed" --------
# cimt_deportability_possible_days = 365: the statutory maximum (not the sentence) must be at least 365 days.
# Admission 2023-01-01, offense 2026-01-01: inside the five-year window of (i)(I).
@pytest.mark.parametrize(("max_days", "deportable"), [(364, False), (365, True), (366, True)])
def test_single_cimt_deportability_needs_a_possible_year(durable_engine: Engine, max_days: int, deportable: bool) -> None:
    found = advise(durable_engine, {"offense": offense(max_days=max_days), "sentence": {"custody_days": 30}},
                   admission="2023-01-01")
    assert found["imm.cimt"] == {"applies"}
    if deportable:
        assert found.get("imm.deportable.cimt") == {"applies"}
    else:
        assert "imm.deportable.cimt" not in found


# 8 U.S.C. § 1227(a)(2)(A)(i)(I): committed "within five years after the date of admission". An admission on a
# leap day (2020-02-29) still has a five-year window; an offense on 2024-06-01 is well inside it.
def test_the_five_year_window_from_a_leap_day_admission(durable_engine: Engine) -> None:
    found = advise(durable_engine, {"offense": offense(), "sentence": {"custody_days": 30}, "committed_on": "2024-06-01"},
                   admission="2020-02-29")
    assert found.get("imm.deportable.cimt") == {"applies"}


# A lawful permanent resident has been "admitted" (8 U.S.C. § 1101(a)(13)(A), (20); Matter of Rosas-Ramirez,
# 22 I&N Dec. 616 (BIA 1999): adjustment is an admission), even when the case file gives no admission date.
def test_an_lpr_without_an_admission_date_is_admitted(durable_engine: Engine) -> None:
    found = advise(durable_engine, {"offense": offense(), "sentence": {"custody_days": 365}},
                   client={"immigration": {"status": "lpr"}})
    assert found.get("imm.deportable.aggravated_felony") == {"applies"}


def test_a_one_year_maximum_is_both_petty_and_deportable(durable_engine: Engine) -> None:
    # the two limits meet at 365: "did not exceed" one year (212) and "one year or longer" (237) both hold
    found = advise(durable_engine, {"offense": offense(max_days=365), "sentence": {"custody_days": 30}}, admission="2023-01-01")
    assert found.get("imm.petty_offense_exception") == {"applies"}
    assert found.get("imm.deportable.cimt") == {"applies"}


# --- the 18th birthday -----------------------------------------------------------------------------------------
# A person born 2008-11-26 turns 18 on 2026-11-26: 17 the day before, 18 on the day and after.
@pytest.mark.parametrize(("on", "age"), [(dt.date(2026, 11, 25), 17), (dt.date(2026, 11, 26), 18), (dt.date(2026, 11, 27), 18)])
def test_years_between_turns_at_the_birthday(on: dt.date, age: int) -> None:
    assert years_between(dt.date(2008, 11, 26), on) == age


# Fla. Stat. § 322.055(1): "If a person 18 years of age or older is convicted of ... possession or sale of ...
# a controlled substance", the court directs the suspension of the driver's license. The plea is on AS_OF.
@pytest.mark.parametrize(("birth", "suspended"), [("2008-11-27", False), ("2008-11-26", True), ("2008-11-25", True)])
def test_florida_drug_license_suspension_from_the_18th_birthday(durable_engine: Engine, birth: str, suspended: bool) -> None:
    found = advise(durable_engine, {"offense": offense(elements=["controlled_substance", "drug_possession"], cimt=False,
                                                       max_days=365, mens_rea="knowing"), "sentence": {"custody_days": 0}},
                   jurisdiction="US-FL", client={"birth_date": birth, "immigration": {"status": "us_citizen"}})
    if suspended:
        assert found.get("driving.license_suspension") == {"applies"}
    else:
        assert "driving.license_suspension" not in found


# --- California: penalties "for every ten dollars ($10), or part of ten dollars ($10)" of the base fine ------------
def test_california_penalties_round_the_base_fine_up_to_ten_dollars(durable_engine: Engine) -> None:
    # Base fine $241 = 24 full tens and a part: 25 units of $10. As of 2026-11-26 (rules/us-ca/fines/parameters.yaml):
    #   Pen. Code § 1464(a)(1)        $10 x 25 = 250.00
    #   Gov. Code § 76000(a)(1)       $7  x 25 = 175.00
    #   Gov. Code § 70372(a)(1)       $5  x 25 = 125.00
    #   Gov. Code § 76000.5(a)(1)     $2  x 25 =  50.00
    #   Gov. Code § 76104.6(a)(1)     $1  x 25 =  25.00
    #   Gov. Code § 76104.7(a)        $4  x 25 = 100.00      (the $4 rate, in force from 2012-06-27)
    #   Pen. Code § 1465.7(a)         20% x 241 = 48.20       (on the fine itself, no rounding to $10)
    #   Pen. Code § 1465.8(a)(1)      $40 court operations assessment per conviction
    #   Gov. Code § 70373(a)(1)       $30 conviction assessment (misdemeanor)
    #   Pen. Code § 1202.4(b)(1)      $150 restitution fine, the misdemeanor minimum (the stayed § 1202.44 fine adds nothing)
    # Total: 241 + (250 + 175 + 125 + 50 + 25 + 100 = 725) + 48.20 + 40 + 30 + 150 = 1,234.20
    c = case({"format": 1, "jurisdiction": "US-CA", "as_of": AS_OF, "client": {"immigration": {"status": "us_citizen"}},
              "options": [{"id": "offer", "counts": [{
                  "offense": {"statute": "TEST 1", "class": "misdemeanor", "max_days": 180, "elements": ["trespass"],
                              "mens_rea": "knowing", "force": "none"},
                  "committed_on": "2026-01-01", "disposition": "conviction", "sentence": {"fine": 241, "restitution": 0}}]}]})
    opt = durable_engine.advise(c)["options"][0]
    amounts = {f["code"]: f["amount"] for f in opt["findings"] if f["domain"] == "fines" and f["amount"] is not None}
    assert amounts == {
        "fines.base_fine": 241.00,
        "fines.state_penalty_assessment": 250.00,
        "fines.county_penalty": 175.00,
        "fines.court_construction_penalty": 125.00,
        "fines.ems_penalty": 50.00,
        "fines.dna_penalty": 25.00,
        "fines.dna_additional_penalty": 100.00,
        "fines.state_surcharge": 48.20,
        "fines.court_operations_assessment": 40.00,
        "fines.conviction_assessment": 30.00,
        "fines.restitution_fine": 150.00,
    }
    assert opt["financial"]["total"] == 1234.20


@pytest.mark.parametrize(("fine", "units"), [(240, 24), (241, 25), (249.99, 25), (250, 25), (250.01, 26)])
def test_california_state_penalty_steps_at_each_ten_dollars(durable_engine: Engine, fine: float, units: int) -> None:
    # Pen. Code § 1464(a)(1): $10 for every $10 or part of $10; a whole multiple of $10 has no extra part
    c = case({"format": 1, "jurisdiction": "US-CA", "as_of": AS_OF, "client": {"immigration": {"status": "us_citizen"}},
              "options": [{"id": "offer", "counts": [{
                  "offense": {"statute": "TEST 1", "class": "misdemeanor", "max_days": 180, "elements": ["trespass"]},
                  "committed_on": "2026-01-01", "disposition": "conviction", "sentence": {"fine": fine, "restitution": 0}}]}]})
    f = next(f for f in durable_engine.advise(c)["options"][0]["findings"] if f["code"] == "fines.state_penalty_assessment")
    assert f["amount"] == 10.0 * units


# --- the Padilla label ------------------------------------------------------------------------------------------
# docs/result-format.md: `padilla` is `clear` (advise as near-certain: Padilla v. Kentucky, 559 U.S. 356, 369 (2010),
# where the consequence is "truly clear") or `risk`. It is `clear` only for an immigration consequence that applies,
# with certainty clear along its whole chain; otherwise `risk`.
def _finding(engine: Engine, code: str, count: dict[str, Any], admission: str = "2015-01-01") -> dict[str, Any]:
    c = {"format": 1, "jurisdiction": "US-CA", "as_of": AS_OF,
         "client": {"immigration": {"status": "lpr", "admission_date": admission}},
         "options": [{"id": "offer", "counts": [{"committed_on": "2026-01-01", "disposition": "conviction", "plea": "guilty", **count}]}]}
    return next(f for f in engine.advise(case(c))["options"][0]["findings"] if f["code"] == code)


def test_padilla_clear_only_for_an_applying_consequence_of_clear_certainty(durable_engine: Engine) -> None:
    af = _finding(durable_engine, "imm.deportable.aggravated_felony", {"offense": offense(), "sentence": {"custody_days": 365}})
    assert (af["status"], af["certainty"], af["padilla"]) == ("applies", "clear", "clear")


def test_padilla_risk_when_the_consequence_is_only_possible(durable_engine: Engine) -> None:
    af = _finding(durable_engine, "imm.deportable.aggravated_felony", {"offense": offense()})   # no sentence stated
    assert (af["status"], af["padilla"]) == ("possible", "risk")


def test_padilla_risk_when_the_classification_is_less_than_clear(durable_engine: Engine) -> None:
    af = _finding(durable_engine, "imm.deportable.aggravated_felony",
                  {"offense": offense(certainty="likely"), "sentence": {"custody_days": 365}})
    assert (af["status"], af["certainty"], af["padilla"]) == ("applies", "likely", "risk")


def test_padilla_clear_never_labels_a_possible_or_uncertain_consequence(durable_engine: Engine) -> None:
    # over the cases above and a CIMT inside the five-year window: `clear` implies applies and certainty clear
    seen = 0
    for count, admission in [({"offense": offense(), "sentence": {"custody_days": 365}}, "2015-01-01"),
                             ({"offense": offense()}, "2015-01-01"),
                             ({"offense": offense(certainty="likely"), "sentence": {"custody_days": 365}}, "2015-01-01"),
                             ({"offense": offense(), "sentence": {"custody_days": 30}}, "2023-01-01")]:
        c = {"format": 1, "jurisdiction": "US-CA", "as_of": AS_OF, "client": {"immigration": {"status": "lpr", "admission_date": admission}},
             "options": [{"id": "offer", "counts": [{"committed_on": "2026-01-01", "disposition": "conviction", "plea": "guilty", **count}]}]}
        for f in durable_engine.advise(case(c))["options"][0]["findings"]:
            if f["domain"] == "immigration" and f["kind"] == "consequence":
                seen += 1
                assert f["padilla"] in ("clear", "risk")
                if f["padilla"] == "clear":
                    assert (f["status"], f["certainty"]) == ("applies", "clear"), f["id"]
    assert seen >= 4


def test_padilla_label_only_on_immigration_consequences(durable_engine: Engine) -> None:
    g = _finding(durable_engine, "imm.aggravated_felony.G", {"offense": offense(), "sentence": {"custody_days": 365}})
    assert g["kind"] == "classification" and g["padilla"] is None
