"""The dated federal schedules table (rules/us/offenses/schedules.yaml) and its lookup (engine/law/schedules.py).

Expected values are taken from the law, not from the module: 21 U.S.C. § 812(c) (schedules as enacted, in force
May 1, 1971), 21 U.S.C. § 802(16)(B)(i) (hemp excluded from "marihuana" by the Agriculture Improvement Act of
2018, Dec. 20, 2018), 65 Fed. Reg. 13235 (GHB in Schedule I, effective Mar. 13, 2000), 64 Fed. Reg. 37673
(ketamine in Schedule III, effective Aug. 12, 1999), 80 Fed. Reg. 54715 ([123I]ioflupane removed, effective
Sept. 11, 2015), 79 Fed. Reg. 37623 (tramadol in Schedule IV, effective Aug. 18, 2014), Pub. L. 119-26 (HALT
Fentanyl Act, July 16, 2025), Harbin v. Sessions, 860 F.3d 58 (2d Cir. 2017) (hCG not federally controlled)."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.law.schedules import SCHEDULES_FILE, federal_status, load_table, normalize_substance, suggest
from engine.model.errors import InputError

D = dt.date


def test_cocaine_is_schedule_ii_in_2020() -> None:
    s = federal_status("cocaine", D(2020, 6, 1))
    assert (s.controlled, s.schedule, s.name) == (True, "II", "cocaine")
    assert "812(c), Schedule II(a)(4)" in s.cite


def test_hemp_was_marihuana_until_the_2018_farm_bill() -> None:
    before = federal_status("hemp", D(2018, 12, 19))
    assert (before.controlled, before.schedule) == (True, "I")
    on_the_day = federal_status("hemp", D(2018, 12, 20))
    assert on_the_day.controlled is False and on_the_day.schedule is None
    assert "802(16)(B)" in on_the_day.cite
    assert federal_status("Industrial Hemp", D(2023, 1, 1)).controlled is False


def test_marijuana_is_still_controlled_after_hemp_and_the_2026_order() -> None:
    for day in (D(1990, 1, 1), D(2019, 1, 1), D(2026, 12, 1)):
        s = federal_status("marijuana", day)
        assert s.controlled is True and s.schedule == "I", day


def test_hcg_is_not_federally_controlled() -> None:
    for text in ("hCG", "human chorionic gonadotropin", "Chorionic Gonadotropin"):
        s = federal_status(text, D(2016, 5, 1))
        assert s.controlled is False and s.name == "chorionic_gonadotropin", text
        assert "Harbin" in s.cite


def test_unknown_name_is_unknown_not_uncontrolled_and_gets_a_suggestion() -> None:
    s = federal_status("unobtainium", D(2020, 1, 1))
    assert s.controlled is None and s.name == "" and s.schedule is None
    assert "not in the federal schedules table" in s.note
    assert suggest("cocain") == "cocaine"
    assert suggest("methamfetamine") == "methamphetamine"
    assert suggest("zzzzqqqq") == ""
    typo = federal_status("heroine", D(2020, 1, 1))
    assert typo.controlled is None and "did you mean 'heroin'" in typo.note


@pytest.mark.parametrize("text,name", [
    ("Cocaine Hydrochloride", "cocaine"), ("crack", "cocaine"), ("COCAINE BASE", "cocaine"),
    ("Marihuana", "marijuana"), ("marijuana", "marijuana"), ("  MARIJUANA  ", "marijuana"), ("Hashish", "marijuana"),
    ("crystal-meth", "methamphetamine"), ("Methamphetamines", "methamphetamine"), ("Xanax", "alprazolam"),
    ("[123I]Ioflupane", "ioflupane_i123"), ("3,4-Methylenedioxymethamphetamine", "mdma"), ("Ecstasy", "mdma"),
    ("testosterone cypionate", "testosterone"), ("fentanyl analogues", "fentanyl_related_substances"),
    ("Diviner's sage", "salvia_divinorum"), ("Magic Mushrooms", "psilocybin"), ("THC", "tetrahydrocannabinol"),
])
def test_aliases_case_spacing_salts_and_plurals(text: str, name: str) -> None:
    assert normalize_substance(text) == name


def test_a_name_outside_the_table_is_returned_in_snake_case() -> None:
    assert normalize_substance("Unobtainium Salt") == "unobtainium_salt"
    assert normalize_substance("not_federally_controlled") == "not_federally_controlled"


def test_dates_before_a_substance_was_first_scheduled() -> None:
    # GHB: on no schedule until the order effective Mar. 13, 2000 (Pub. L. 106-172; 65 Fed. Reg. 13235).
    assert federal_status("GHB", D(1999, 12, 31)).controlled is False
    assert federal_status("gamma-hydroxybutyric acid", D(2000, 3, 12)).controlled is False
    ghb = federal_status("ghb", D(2000, 3, 13))
    assert (ghb.controlled, ghb.schedule, ghb.since) == (True, "I", D(2000, 3, 13))
    # Ketamine: Schedule III from Aug. 12, 1999.
    assert federal_status("ketamine", D(1999, 8, 11)).controlled is False
    assert (federal_status("Ketamine Hydrochloride", D(1999, 8, 12)).schedule) == "III"
    # Tramadol: Schedule IV from Aug. 18, 2014.
    assert federal_status("tramadol", D(2014, 8, 17)).controlled is False
    assert federal_status("Ultram", D(2014, 8, 18)).schedule == "IV"


def test_dates_the_table_does_not_cover_are_unknown() -> None:
    s = federal_status("cocaine", D(1971, 4, 30))       # before the Controlled Substances Act's schedules took effect
    assert s.controlled is None and s.name == "cocaine" and "does not cover" in s.note
    assert federal_status("cocaine", D(1971, 5, 1)).controlled is True
    frs = "fentanyl-related substances"
    assert federal_status(frs, D(2017, 6, 1)).controlled is None        # the class order came on Feb. 6, 2018
    assert federal_status(frs, D(2019, 6, 1)).schedule == "I"
    assert "Pub. L. 119-26" in federal_status(frs, D(2025, 7, 16)).cite


def test_decontrol_of_ioflupane() -> None:
    assert federal_status("ioflupane", D(2015, 9, 10)).schedule == "II"
    after = federal_status("DaTscan", D(2015, 9, 11))
    assert after.controlled is False and "80 Fed. Reg. 54715" in after.cite


def test_depends_means_unknown_with_a_reason() -> None:
    s = federal_status("delta-8 THC", D(2020, 1, 1))
    assert s.controlled is None and s.name == "delta_8_thc" and "hemp" in s.note
    assert federal_status("delta-8 THC", D(2017, 1, 1)).controlled is True


def test_a_datetime_is_taken_as_its_date() -> None:
    assert federal_status("hemp", dt.datetime(2018, 12, 20, 23, 59)).controlled is False


def test_loader_is_cached_per_path() -> None:
    assert load_table(SCHEDULES_FILE) is load_table(SCHEDULES_FILE)


# ---------------------------------------------------------------- the whole file, read without the module

def _raw() -> list[dict[str, Any]]:
    data = yaml.safe_load(SCHEDULES_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    subs = data["substances"]
    assert isinstance(subs, list)
    return subs


def test_every_status_item_has_a_cite_and_dated_items_are_in_order_without_overlap() -> None:
    names: set[str] = set()
    for sub in _raw():
        name = sub["name"]
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert name not in names, name
        names.add(name)
        items = sub["status"]
        assert items, name
        for i, item in enumerate(items):
            assert isinstance(item.get("cite"), str) and len(item["cite"].strip()) >= 3, (name, i)
            assert isinstance(item["from"], dt.date), (name, i)
            if i + 1 < len(items):
                nxt = items[i + 1]["from"]
                assert item["from"] < nxt, f"{name}: item {i} is not before item {i + 1}"
                assert item.get("to") in (None, nxt), f"{name}: item {i} overlaps or leaves a gap"
            elif item.get("to") is not None:
                assert item["to"] > item["from"], name


def test_items_are_internally_consistent() -> None:
    for sub in _raw():
        for item in sub["status"]:
            controlled = item.get("controlled", True)
            assert controlled in (True, False, "depends"), sub["name"]
            if controlled is not True:
                assert "schedule" not in item, sub["name"]
            else:
                assert item.get("schedule") in (None, "I", "II", "III", "IV", "V"), sub["name"]
            if item.get("certainty", "verified") == "unverified" or controlled == "depends":
                assert item.get("note"), sub["name"]
            assert item.get("certainty", "verified") in ("verified", "unverified"), sub["name"]


def test_the_table_covers_what_the_immigration_pack_names() -> None:
    for text in ("cocaine", "heroin", "fentanyl", "methamphetamine", "amphetamine", "marijuana", "hashish", "mdma",
                 "lsd", "psilocybin", "pcp", "oxycodone", "hydrocodone", "morphine", "codeine", "methadone",
                 "buprenorphine", "alprazolam", "diazepam", "clonazepam", "ghb", "ketamine", "anabolic_steroids",
                 "cathinone", "mescaline", "peyote", "opium", "tramadol", "carisoprodol"):
        assert federal_status(text, D(2020, 1, 1)).controlled is True, text


# ---------------------------------------------------------------- errors point at the file and line

def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "schedules.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_overlapping_items_are_reported_with_file_and_line(tmp_path: Path) -> None:
    p = _write(tmp_path, """\
        substances:
          - name: widget
            status:
              - from: 2000-01-01
                to: 2005-01-01
                schedule: "I"
                cite: "21 U.S.C. § 812(c)"
              - from: 2004-01-01
                controlled: false
                cite: "65 Fed. Reg. 1"
        """)
    with pytest.raises(InputError) as exc:
        load_table(p)
    text = str(exc.value)
    assert f"{p}:{_line_of(p, 'to: 2005-01-01')}" in text and "overlaps" in text


def test_items_out_of_order_are_reported(tmp_path: Path) -> None:
    p = _write(tmp_path, """\
        substances:
          - name: widget
            status:
              - {from: 2005-01-01, schedule: "I", cite: "21 U.S.C. § 812(c)"}
              - {from: 2001-01-01, controlled: false, cite: "65 Fed. Reg. 1"}
        """)
    with pytest.raises(InputError) as exc:
        load_table(p)
    assert f"{p}:{_line_of(p, '2001-01-01')}" in str(exc.value)


def test_unknown_field_and_missing_cite_are_reported_with_line_and_suggestion(tmp_path: Path) -> None:
    p = _write(tmp_path, """\
        substances:
          - name: widget
            status:
              - from: 2000-01-01
                schedul: "I"
                cite: "21 U.S.C. § 812(c)"
              - from: 2001-01-01
                controlled: false
        """)
    with pytest.raises(InputError) as exc:
        load_table(p)
    problems = {pr.field: pr for pr in exc.value.problems}
    typo = problems["substances[0].status[0].schedul"]
    assert typo.line == _line_of(p, "schedul:") and typo.suggestion == "schedule"
    assert problems["substances[0].status[1].cite"].line == _line_of(p, "2001-01-01")


def test_an_alias_naming_two_substances_is_an_error(tmp_path: Path) -> None:
    p = _write(tmp_path, """\
        substances:
          - name: widget
            aliases: [gadget]
            status:
              - {from: 2000-01-01, schedule: "I", cite: "21 U.S.C. § 812(c)"}
          - name: gizmo
            aliases: [Gadget]
            status:
              - {from: 2000-01-01, controlled: false, cite: "21 U.S.C. § 812(c)"}
        """)
    with pytest.raises(InputError) as exc:
        load_table(p)
    text = str(exc.value)
    assert f"{p}:{_line_of(p, 'aliases: [Gadget]')}" in text and "already names substance 'widget'" in text


def test_a_schedule_on_an_uncontrolled_item_and_depends_without_a_note_are_errors(tmp_path: Path) -> None:
    p = _write(tmp_path, """\
        substances:
          - name: widget
            status:
              - {from: 2000-01-01, controlled: false, schedule: "II", cite: "21 U.S.C. § 812(c)"}
              - {from: 2001-01-01, controlled: depends, cite: "21 U.S.C. § 812(c)"}
        """)
    with pytest.raises(InputError) as exc:
        load_table(p)
    by_line = {pr.line: pr.message for pr in exc.value.problems}
    assert "schedule is given only when controlled is true" in by_line[_line_of(p, "2000-01-01")]
    assert "needs a note" in by_line[_line_of(p, "2001-01-01")]


def test_a_file_that_is_not_a_table_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_table(_write(tmp_path, "- just a list\n"))
    with pytest.raises(InputError):
        load_table(tmp_path / "missing.yaml")
