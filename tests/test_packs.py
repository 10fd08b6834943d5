"""The bundled packs: `packs check` finds no error, and every named test case beside the rules passes under
both evaluators (each case is its own pytest item), in strict mode: every finding of the test's own pack on an
option it has expectations for is named by the test (applies, possible, absent, amounts, todo) or listed under
`ignore`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from engine.author.packtools import check, collect_tests, run_test
from engine.law.packs import load_all

_PS = load_all()
_TESTS, _PROBLEMS = collect_tests(_PS)
_ROOT = Path(__file__).resolve().parent.parent

# Findings of a test's own pack that the test deliberately leaves unnamed because they are wrong in law for the
# test's facts (issue 17, strict review): the rule must be fixed, not the test. Each entry is (test file, test
# name) -> the "option: code" findings that strict mode reports; any other failure still fails the case. When
# a rule is fixed and its finding disappears (or the test names it), the entry fails: remove it.
KNOWN_WRONG: dict[tuple[str, str], set[str]] = {
    # none: the 44 findings the strict review found wrong in law (2026-12-06) were fixed in the rules
}

_STRICT = re.compile(r"^(\S+): strict: (\S+) \(")


def test_the_bundled_packs_pass_packs_check() -> None:
    errors, _warnings = check(_PS, dt.date(2026, 11, 26))
    assert errors == []


def test_every_test_file_is_valid() -> None:
    assert _PROBLEMS == []


def test_every_rule_fires_in_some_test_case(plain_engine: Any) -> None:
    from engine.author.packtools import unfired_rules
    fired: set[str] = set()
    for pt in _TESTS:
        run_test(plain_engine, pt, fired)
    assert unfired_rules(_PS, fired) == []


def test_known_wrong_entries_name_existing_tests() -> None:
    keys = {(str(Path(pt.file).resolve().relative_to(_ROOT)), pt.name) for pt in _TESTS}
    assert sorted(set(KNOWN_WRONG) - keys) == []


@pytest.mark.parametrize("evaluator", ["durable", "plain"])
@pytest.mark.parametrize("pt", _TESTS, ids=[f"{t.pack.id}:{t.name}" for t in _TESTS])
def test_pack_case(pt: Any, evaluator: str, durable_engine: Any, plain_engine: Any) -> None:
    engine = durable_engine if evaluator == "durable" else plain_engine
    failures = run_test(engine, pt, strict=True)
    known = KNOWN_WRONG.get((str(Path(pt.file).resolve().relative_to(_ROOT)), pt.name), set())
    unnamed = {f"{m.group(1)}: {m.group(2)}" for f in failures if (m := _STRICT.match(f))}
    other = [f for f in failures if not _STRICT.match(f)]
    other += [f"{c}: strict: not named by the test (and not a known-wrong finding)" for c in sorted(unnamed - known)]
    other += [f"{c}: listed in KNOWN_WRONG but no longer reported: remove the entry (and name the code if it is now right)"
              for c in sorted(known - unnamed)]
    assert other == [], f"{pt.file}:{pt.line}: {pt.name}\n" + "\n".join(other)
