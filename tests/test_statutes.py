"""Statutes found however an attorney writes them; an unresolvable statute is a case-file error; `collateral
statutes` shows what the tool will assume; dated maxima by offense or conviction date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from engine.explain.evaluate import Engine
from engine.law.catalog import CatalogEntry, Catalogs, DatedInt, max_days_on

from .conftest import case


@pytest.fixture(scope="module")
def catalogs(plain_engine: Engine) -> Catalogs:
    return plain_engine.catalogs


@pytest.mark.parametrize("jurisdiction,text,key,prong", [
    # California: abbreviations and full names, combined sections choosing the prong
    ("US-CA", "PC 487(a)", "PC 487(a)", None),
    ("US-CA", "Pen. Code § 487(a)", "PC 487(a)", None),
    ("US-CA", "Cal. Penal Code § 487(a)", "PC 487(a)", None),
    ("US-CA", "Penal Code section 487(a)", "PC 487(a)", None),
    ("US-CA", "PC 459/460(b)", "PC 459", "second-degree"),
    ("US-CA", "Cal. Penal Code §§ 459/460(a)", "PC 459", "first-degree"),
    ("US-CA", "Health & Safety Code 11350(a)", "HS 11350(a)", None),
    # New York: a subsection below the catalog's key falls back to the section and names the prong
    ("US-NY", "PL 120.00(2)", "PL 120.00", "2"),
    ("US-NY", "N.Y. Penal Law § 155.25", "PL 155.25", None),
    ("US-NY", "NYPL 155.25", "PL 155.25", None),
    # Texas
    ("US-TX", "Tex. Penal Code § 31.03", "PC 31.03", None),
    ("US-TX", "TPC 31.03", "PC 31.03", None),
    ("US-TX", "Tex. Health & Safety Code § 481.115", "HSC 481.115", None),
    # Florida, including its own "s. ..., F.S." form, down to the paragraph that is the prong
    ("US-FL", "Fla. Stat. § 784.03(1)(a)1.", "F.S. 784.03(1)", "1a1"),
    ("US-FL", "F.S. 784.03(1)(a)2", "F.S. 784.03(1)", "1a2"),
    ("US-FL", "s. 784.03(1)(a)2., F.S.", "F.S. 784.03(1)", "1a2"),
    # federal
    ("US", "8 USC § 1326", "8 U.S.C. 1326", None),
    ("US", "8 U.S.C. 1326", "8 U.S.C. 1326", None),
])
def test_a_citation_resolves_in_the_forms_attorneys_write(catalogs: Catalogs, jurisdiction: str, text: str,
                                                          key: str, prong: str | None) -> None:
    found = catalogs.find(jurisdiction, text)
    assert found is not None, text
    assert (found[0].statute, found[1]) == (key, prong)


@pytest.mark.parametrize("jurisdiction,text,nearest", [
    ("US-CA", "PC 487a", "PC 487(a)"),            # § 487a is another statute (theft of animal carcasses): never guessed
    ("US-CA", "HS 11360", "HS 11360(a)(2)"),      # the bare section has felony grades: not resolved to the misdemeanor
    ("US", "18 USC 1326", "8 U.S.C. 1326"),
])
def test_an_unknown_citation_does_not_resolve_and_suggests_the_nearest(catalogs: Catalogs, jurisdiction: str,
                                                                        text: str, nearest: str) -> None:
    assert catalogs.find(jurisdiction, text) is None
    assert nearest in catalogs.suggest(jurisdiction, text)


def test_a_subsection_does_not_fall_back_to_an_alias_of_another_grade() -> None:
    c = Catalogs()
    grade = CatalogEntry.model_validate({"statute": "X 10(a)", "aliases": ["X 10"], "citation": "X § 10(a)"})
    c.add("US-ZZ", "t", [grade])
    assert c.find("US-ZZ", "X 10")[0].statute == "X 10(a)"    # type: ignore[index]
    assert c.find("US-ZZ", "X 10(b)") is None                  # (b) is not (a)


def test_a_maximum_is_chosen_by_offense_or_conviction_date_as_the_law_says() -> None:
    increase = [DatedInt.model_validate({"from": "2000-01-01", "value": 365}),
                DatedInt.model_validate({"from": "2020-01-01", "value": 730, "applies_by": "offense"})]
    # offense in 2019, conviction in 2021: the increase does not reach an earlier offense
    assert max_days_on(increase, dt.date(2021, 5, 1), dt.date(2019, 6, 1)) == 365
    assert max_days_on(increase, dt.date(2021, 5, 1), dt.date(2020, 6, 1)) == 730
    by_conviction = [DatedInt.model_validate({"from": "2000-01-01", "value": 365}),
                     DatedInt.model_validate({"from": "2015-01-01", "value": 364, "applies_by": "conviction"})]
    assert max_days_on(by_conviction, dt.date(2016, 1, 1), dt.date(2014, 6, 1)) == 364   # Velasquez-Rios


def test_an_unresolvable_statute_without_elements_is_a_case_file_error(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("format: 1\njurisdiction: US-CA\noptions:\n  - id: a\n    counts:\n      - offense: {statute: \"PC 487a\"}\n")
    r = CliRunner().invoke(main, ["advise", str(f)])
    assert r.exit_code == 2
    assert f"{f}:6: options[0].counts[0].offense.statute: 'PC 487a' is not in the US-CA offense catalog" in r.output
    assert "did you mean 'PC 487(a)'?" in r.output


def test_with_elements_it_is_analysed_warned_at_the_top_and_ranked_after_known_options(durable_engine: Engine) -> None:
    c = case({"format": 1, "jurisdiction": "US-CA", "as_of": "2026-11-01",
              "client": {"immigration": {"status": "lpr", "admission_date": "2010-01-01"}, "priorities": ["immigration"]},
              "options": [
                  {"id": "elements", "counts": [{"offense": {"statute": "PC 999.9", "elements": ["trespass"], "class": "misdemeanor",
                                                             "max_days": 180, "mens_rea": "knowing", "cimt": False},
                                                "sentence": {"custody_days": 0}}]},
                  {"id": "known", "counts": [{"offense": {"statute": "PC 487(a)"}, "sentence": {"custody_days": 365}}]}]})
    result: dict[str, Any] = durable_engine.advise(c)
    assert any("PC 999.9 is not in the US-CA offense catalog" in w for w in result["warnings"])
    assert result["comparison"]["ranked"] == ["known", "elements"]
    assert "outside the offense catalog" in result["comparison"]["reasons"][0]
    from engine.present.render import render
    memo = render(result)
    assert memo.index("**Read first:**") < memo.index("## Client")


def test_collateral_statutes_shows_what_the_tool_assumes() -> None:
    r = CliRunner().invoke(main, ["statutes", "US-CA", "Cal. Penal Code § 459/460(b)", "--as-of", "2026-11-01"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("PC 459 — Burglary")
    assert "maximum in force on 2026-11-01: 2190 days" in r.output
    assert "prong second-degree:" in r.output and "<- named by the citation" in r.output
    assert "authority: Descamps v. United States" in r.output
    listing = CliRunner().invoke(main, ["statutes", "US-NY", "larceny"])
    assert listing.exit_code == 0 and "PL 155.25" in listing.output and "PL 155.30" in listing.output
    none = CliRunner().invoke(main, ["statutes", "US-NY", "zzzz"])
    assert none.exit_code == 2 and "nothing in the US-NY catalog matches 'zzzz'" in none.output
    bad = CliRunner().invoke(main, ["statutes", "US-ZZ"])
    assert bad.exit_code == 2 and "no offense catalog for US-ZZ" in bad.output


@pytest.mark.parametrize("jurisdiction, statute, prong, substance, named", [
    ("US-FL", "Fla. Stat. § 893.13(6)(a)", None, "marijuana", "cannabis"),          # Said: the record's cannabis
    ("US-FL", "F.S. 893.13(6)(a)", None, "cocaine", "federal-substance"),           # Guillen: the record's cocaine
    ("US-FL", "F.S. 893.13(6)(a)", None, "ketamine", None),                         # listed by no prong: left open
    ("US-FL", "F.S. 893.13(6)(a)", None, None, None),
    ("US-FL", "F.S. 893.13(6)(a)", "florida-only-substance", "marijuana", "florida-only-substance"),   # the plea's word
    ("US-NY", "PL 120.00(2)", None, None, "2"),                                     # the citation's subsection
])
def test_the_prong_the_plea_names(catalogs: Catalogs, jurisdiction: str, statute: str, prong: Any, substance: Any,
                                  named: Any) -> None:
    from engine.model.casefile import Offense
    offense = Offense.model_validate({"statute": statute, **({"prong": prong} if prong else {})})
    assert catalogs.named_prong(offense, jurisdiction, substance) == named


def test_a_count_whose_record_names_the_substance_gets_no_prong_question(durable_engine: Engine) -> None:
    result = durable_engine.advise(case({
        "format": 1, "jurisdiction": "US-FL", "as_of": "2022-03-24",
        "client": {"immigration": {"status": "lpr", "admission_date": "2011-01-01"}},
        "options": [{"id": o, "counts": [{"offense": {"statute": "F.S. 893.13(6)(a)"}, "committed_on": "2017-03-01",
                                          "disposition": "conviction", "plea": "guilty", "sentence": {"custody_days": 0},
                                          **({"record": {"substance": s}} if s else {})}]}
                    for o, s in (("named", "marijuana"), ("silent", None))]}))
    risks = {o["id"]: o["prong_risks"] for o in result["options"]}
    assert risks["named"] == [] and [r["count"] for r in risks["silent"]] == [0]


def test_a_search_lists_the_titles_that_start_with_the_words_first(catalogs: Catalogs) -> None:
    found = [e.statute for e in catalogs.search("US-CA", "grand theft")]
    # PC 484g (access-card fraud) mentions grand theft inside its title; the grand thefts come first, in key order
    assert found[:5] == ["PC 487(a)", "PC 487(b)(3)", "PC 487(c)", "PC 487(d)(1)", "PC 487(d)(2)"]
    assert "PC 484g" in found[5:]


def test_no_counter_offer_changes_the_drug_the_record_names(durable_engine: Engine) -> None:
    result = durable_engine.advise(case({
        "format": 1, "jurisdiction": "US-FL", "as_of": "2022-03-24",
        "client": {"immigration": {"status": "lpr", "admission_date": "2011-01-01"}},
        "options": [{"id": "cocaine", "counts": [{"offense": {"statute": "F.S. 893.13(6)(a)"}, "committed_on": "2017-03-01",
                                                  "disposition": "conviction", "plea": "guilty", "sentence": {"custody_days": 0},
                                                  "record": {"substance": "cocaine"}}]}]}), alternatives=True)
    patches = [a["patch"] for a in result["options"][0]["alternatives"]]
    # the cannabis or Florida-only alternative would be a plea to another drug; leaving the drug unnamed is not
    assert not any("counts[0].offense.prong" in p for p in patches)
    assert {"counts[0].record.substance": "unspecified"} in patches
