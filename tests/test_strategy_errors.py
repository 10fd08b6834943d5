"""The counter-offer search skips only the patches the case-file schema rejects: a bug while patching or
re-evaluating an alternative propagates instead of looking like "no safer alternative"."""

from __future__ import annotations

from typing import Any

import pytest

from engine.explain import strategy
from engine.explain.evaluate import Engine
from engine.law.packs import load_all
from engine.model.casefile import CaseFile

from .conftest import case, make_rules
from .test_engine import PARAMS, RULES


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(load_all(make_rules(tmp_path_factory.mktemp("e"), RULES, PARAMS)), "plain")


def af_case() -> Any:
    """A theft with 365 days: an aggravated felony whose counter-offer is 364 days."""
    return case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-26",
                 "client": {"immigration": {"status": "lpr", "admission_date": "2010-01-01"}},
                 "options": [{"id": "a", "counts": [{"offense": {"statute": "TEST", "elements": ["theft"], "cimt": False},
                                                     "committed_on": "2026-01-01", "sentence": {"custody_days": 365}}]}]})


def test_the_unpatched_search_finds_the_counter_offer(engine: Engine) -> None:
    alts = engine.advise(af_case(), alternatives=True)["options"][0]["alternatives"]
    assert [a["patch"] for a in alts] == [{"counts[0].sentence.custody_days": 364}]


def test_a_bug_while_patching_is_not_swallowed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> Any:
        raise KeyError("sentence")
    monkeypatch.setattr(strategy, "_patch_case", broken)
    with pytest.raises(KeyError, match="sentence"):
        engine.advise(af_case(), alternatives=True)


def test_a_bug_while_re_evaluating_an_alternative_is_not_swallowed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> Any:
        raise ZeroDivisionError("bug")
    monkeypatch.setattr(engine, "applying", broken)   # how the search re-evaluates a candidate
    with pytest.raises(ZeroDivisionError):
        engine.advise(af_case(), alternatives=True)


def test_a_patch_the_schema_rejects_is_skipped(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def rejected(*_args: Any) -> Any:
        return CaseFile.model_validate({"format": 1})   # a real pydantic ValidationError
    monkeypatch.setattr(strategy, "_patch_case", rejected)
    assert engine.advise(af_case(), alternatives=True)["options"][0]["alternatives"] == []
