"""A divisible statute whose record names no prong is read at its least culpable prong (Moncrieffe v. Holder,
569 U.S. 184, 190-91 (2013); Mathis v. United States, 579 U.S. 500, 505-06 (2016)): the elements every prong
shares, the lowest mens rea and force, the smallest maximum, a CIMT only if every prong is one (and then the
question which prong is left open), the least certain classification. Worked out by hand for a three-prong
statute (engine/catalog.Catalogs.resolve)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.law.catalog import CatalogEntry, Catalogs
from engine.model.casefile import Offense

ON = dt.date(2026, 11, 26)
ENTRY: dict[str, Any] = {
    "statute": "TC 100", "citation": "Test Code § 100", "title": "Assault", "class": "misdemeanor", "divisible": True,
    "max_days": 365, "certainty": "clear",
    "prongs": [
        {"id": "a", "elements": ["force_against_person", "bodily_injury"], "mens_rea": "intent", "force": "violent",
         "cimt": True, "max_days": 365},
        {"id": "b", "elements": ["force_against_person"], "mens_rea": "reckless", "force": "offensive_touching",
         "cimt": False, "max_days": 180, "certainty": "unsettled"},
        {"id": "c", "elements": ["force_against_person", "weapon"], "mens_rea": "knowing", "force": "violent",
         "cimt": True, "certainty": "likely"},     # no own maximum: the statute's 365
    ],
}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    cats = Catalogs()
    cats.add("US-TX", "t.offenses", [CatalogEntry.model_validate(ENTRY)])
    return cats


def resolve(catalogs: Catalogs, **offense: Any) -> dict[str, Any]:
    values: dict[str, Any] = catalogs.resolve(Offense.model_validate({"statute": "TC 100", **offense}), "US-TX", ON).values
    return values


def test_no_prong_named_reads_the_least_culpable_prong(catalogs: Catalogs) -> None:
    v = resolve(catalogs)
    assert v["count.offense.elements"] == ["force_against_person"]                       # common to a, b, c
    assert v["count.offense.elements_unresolved"] == ["bodily_injury", "weapon"]          # in some prongs only
    assert v["count.offense.mens_rea"] == "reckless"
    assert v["count.offense.force"] == "offensive_touching"
    assert v["count.offense.max_days"] == 180                                              # min(365, 180, 365)
    assert v["count.offense.cimt"] is False                                                # b is not a CIMT
    assert v["count.offense.cimt_unresolved"] is True                                      # a and c are
    assert v["count.offense.certainty"] == "unsettled"                                     # the least certain prong
    assert v["count.offense.divisible"] is True and "count.offense.prong" not in v


def test_a_named_prong_is_read_as_it_is(catalogs: Catalogs) -> None:
    a = resolve(catalogs, prong="a")
    assert (a["count.offense.max_days"], a["count.offense.cimt"], a["count.offense.mens_rea"], a["count.offense.force"]) == \
           (365, True, "intent", "violent")
    assert sorted(a["count.offense.elements"]) == ["bodily_injury", "force_against_person"]
    assert a["count.offense.elements_unresolved"] == [] and a["count.offense.cimt_unresolved"] is False
    assert a["count.offense.prong"] == "a" and a["count.offense.certainty"] == "clear"
    c = resolve(catalogs, prong="c")
    assert c["count.offense.max_days"] == 365 and c["count.offense.certainty"] == "likely"


def test_an_unknown_prong_is_warned_and_read_as_none_named(catalogs: Catalogs) -> None:
    r = catalogs.resolve(Offense.model_validate({"statute": "TC 100", "prong": "z"}), "US-TX", ON)
    assert r.warnings == ["TC 100: prong 'z' is not in the catalog (prongs: a, b, c); the least culpable prong was used."]
    assert r.values["count.offense.max_days"] == 180 and r.values["count.offense.cimt"] is False


def test_every_prong_a_cimt_leaves_nothing_open() -> None:
    entry = {**ENTRY, "prongs": [p for p in ENTRY["prongs"] if p["id"] != "b"]}
    cats = Catalogs()
    cats.add("US-TX", "t.offenses", [CatalogEntry.model_validate(entry)])
    v = resolve(cats)
    assert v["count.offense.cimt"] is True and v["count.offense.cimt_unresolved"] is False
    assert v["count.offense.max_days"] == 365 and v["count.offense.mens_rea"] == "knowing"


def test_a_prong_of_unknown_maximum_or_mens_rea_leaves_it_unknown() -> None:
    entry = {**ENTRY, "max_days": None, "prongs": [{"id": "a", "max_days": 90, "mens_rea": "intent"}, {"id": "b", "cimt": None}]}
    cats = Catalogs()
    cats.add("US-TX", "t.offenses", [CatalogEntry.model_validate(entry)])
    v = resolve(cats)
    assert "count.offense.max_days" not in v and "count.offense.mens_rea" not in v and "count.offense.cimt" not in v


def test_outside_the_catalog_given_elements_without_force_mean_no_force() -> None:
    cats = Catalogs()
    cats.force_elements = frozenset({"force_against_person"})
    cats.add("US-TX", "t.offenses", [])
    plain = cats.resolve(Offense.model_validate({"statute": "TC 9", "elements": ["theft"]}), "US-TX", ON)
    assert plain.values["count.offense.force"] == "none"        # Leocal v. Ashcroft, 543 U.S. 1, 9 (2004)
    assert plain.warnings == ["TC 9 is not in the US-TX offense catalog; only the attributes given in the case file were used."]
    forceful = cats.resolve(Offense.model_validate({"statute": "TC 9", "elements": ["force_against_person"]}), "US-TX", ON)
    assert "count.offense.force" not in forceful.values
    bare = cats.resolve(Offense.model_validate({"statute": "TC 9"}), "US-NV", ON)
    assert "count.offense.force" not in bare.values
    assert bare.warnings == ["No offense catalog for US-NV; TC 9 was analysed only from the attributes given in the case file."]
