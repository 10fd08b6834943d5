"""The federal schedules table's own checks and its edges (engine/law/schedules.py): each inconsistent item with its
exact message, a name listed twice, an alias with nothing to look up, a date after the table's last item, a
plural in -ies, and suggestions."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from engine.law.schedules import federal_status, suggest
from engine.model.errors import InputError

D = dt.date


def table(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "schedules.yaml"
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def problems(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as exc:
        federal_status("x", D(2020, 1, 1), path)
    return [(p.field, p.message) for p in exc.value.problems]


@pytest.mark.parametrize("item, message", [
    ("{from: 2001-01-01, to: 2000-01-01, schedule: I, cite: '21 C.F.R. § 1308.11'}",
     "Value error, 'to' (2000-01-01) must be after 'from' (2001-01-01)"),
    ("{from: 2001-01-01, to: 2001-01-01, schedule: I, cite: '21 C.F.R. § 1308.11'}",
     "Value error, 'to' (2001-01-01) must be after 'from' (2001-01-01)"),
    ("{from: 2001-01-01, schedule: I, certainty: unverified, cite: '21 C.F.R. § 1308.11'}",
     "Value error, an unverified item needs a note saying what is unconfirmed"),
    ("{from: 2001-01-01, cite: '21 C.F.R. § 1308.11'}",
     "Value error, a controlled item without a schedule needs a note saying why"),
])
def test_an_inconsistent_item_says_what_is_wrong(tmp_path: Path, item: str, message: str) -> None:
    p = table(tmp_path, f"""\
        substances:
          - name: testine
            status:
              - {item}
        """)
    assert problems(p) == [("substances[0].status[0]", message)]


def test_a_value_of_the_wrong_kind_shows_what_was_given(tmp_path: Path) -> None:
    p = table(tmp_path, """\
        substances:
          - name: testine
            status:
              - {from: 2001-01-01, schedule: VI, cite: "21 C.F.R. § 1308.11"}
        """)
    ((field, message),) = problems(p)
    assert field == "substances[0].status[0].schedule"
    assert message.startswith("Input should be 'I', 'II', 'III', 'IV' or 'V'") and message.endswith("(got 'VI')")


def test_a_name_listed_twice_and_an_alias_without_letters(tmp_path: Path) -> None:
    p = table(tmp_path, """\
        substances:
          - name: testine
            aliases: ["--"]
            status:
              - {from: 2001-01-01, schedule: I, cite: "21 C.F.R. § 1308.11"}
          - name: testine
            status:
              - {from: 2001-01-01, schedule: II, cite: "21 C.F.R. § 1308.12"}
        """)
    assert problems(p) == [("substances[0].aliases[0]", "alias '--' has no letters or digits"),
                           ("substances[1].name", "substance 'testine' is listed twice")]


TABLE = """\
    substances:
      - name: fake_berry
        aliases: ["blue drops"]
        status:
          - {from: 2001-01-01, to: 2010-06-01, schedule: IV, cite: "Test Reg. § 1"}
          - {from: 2010-06-01, to: 2020-01-01, controlled: false, cite: "Test Reg. § 2 (decontrolled)"}
"""


def test_dates_after_the_last_item_are_not_covered(tmp_path: Path) -> None:
    p = table(tmp_path, TABLE)
    assert federal_status("fake berry", D(2010, 5, 31), p).schedule == "IV"
    assert federal_status("fake berry", D(2010, 6, 1), p).controlled is False
    last = federal_status("fake berry", D(2019, 12, 31), p)
    assert (last.controlled, last.since, last.until) == (False, D(2010, 6, 1), D(2020, 1, 1))
    after = federal_status("fake berry", D(2020, 1, 1), p)
    assert (after.controlled, after.name, after.cite, after.since) == (None, "fake_berry", "", D(2020, 1, 1))
    assert after.note == "The table does not cover fake_berry on or after 2020-01-01."


def test_a_plural_in_ies_and_a_salt_are_found(tmp_path: Path) -> None:
    p = table(tmp_path, TABLE)
    assert federal_status("Fake Berries", D(2005, 1, 1), p).name == "fake_berry"
    assert federal_status("fake berry hydrochloride", D(2005, 1, 1), p).name == "fake_berry"
    assert federal_status("Blue Drops", D(2005, 1, 1), p).name == "fake_berry"     # an alias, plural stripped


def test_suggestions(tmp_path: Path) -> None:
    p = table(tmp_path, TABLE)
    assert suggest("fake berries", p) == "fake_berry"      # found outright
    assert suggest("fake bery", p) == "fake_berry"         # the nearest name
    assert suggest("zzzz", p) == ""
    unknown = federal_status("fake bery", D(2005, 1, 1), p)
    assert unknown.controlled is None and unknown.name == ""
    assert unknown.note.endswith("check 21 C.F.R. part 1308 by hand (did you mean 'fake_berry'?)")
