"""The bundled packs: `packs check` finds no error, and every named test case beside the rules passes under
both evaluators (each case is its own pytest item)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from engine.packs import load_all
from engine.packtools import check, collect_tests, run_test

_PS = load_all()
_TESTS, _PROBLEMS = collect_tests(_PS)


def test_the_bundled_packs_pass_packs_check() -> None:
    errors, _warnings = check(_PS, dt.date(2026, 11, 26))
    assert errors == []


def test_every_test_file_is_valid() -> None:
    assert _PROBLEMS == []


def test_every_rule_fires_in_some_test_case(plain_engine: Any) -> None:
    from engine.packtools import unfired_rules
    fired: set[str] = set()
    for pt in _TESTS:
        run_test(plain_engine, pt, fired)
    assert unfired_rules(_PS, fired) == []


@pytest.mark.parametrize("evaluator", ["durable", "plain"])
@pytest.mark.parametrize("pt", _TESTS, ids=[f"{t.pack.id}:{t.name}" for t in _TESTS])
def test_pack_case(pt: Any, evaluator: str, durable_engine: Any, plain_engine: Any) -> None:
    engine = durable_engine if evaluator == "durable" else plain_engine
    failures = run_test(engine, pt)
    assert failures == [], f"{pt.file}:{pt.line}: {pt.name}\n" + "\n".join(failures)
