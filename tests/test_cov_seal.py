"""Sealed results (engine/review/seal.py) at the edges `collateral verify` reports: a pack applied now or no longer
applied, another engine version, the same content in another JSON layout, a value that is not JSON."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from engine.model.casefile import load_case
from engine.review.seal import canonical, case_digest, result_digest, result_text, seal, verify

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ca-theft-lpr.yaml"


def _result(packs: list[tuple[str, str, str]], engine: Any = None) -> dict[str, Any]:
    r: dict[str, Any] = {"as_of": "2026-11-26", "options": [{"id": "offer", "findings": []}],
                         "packs": [{"id": i, "version": v, "digest": d} for i, v, d in packs]}
    if engine is not None:
        r["engine"] = engine
    return r


@pytest.fixture(scope="module")
def digest() -> str:
    return case_digest(load_case(EXAMPLE))


def _sealed(packs: list[tuple[str, str, str]], engine: Any = None) -> dict[str, Any]:
    return seal(_result(packs, engine), load_case(EXAMPLE), {"alternatives": False})


def test_canonical_writes_dates_as_iso_text_and_refuses_other_objects() -> None:
    assert canonical({"b": dt.date(2026, 1, 2), "a": "é"}) == '{"a":"é","b":"2026-01-02"}'.encode()
    with pytest.raises(TypeError, match="not JSON: set"):
        canonical({"a": {1, 2}})


def test_the_evaluator_name_is_outside_the_digest_even_when_engine_is_not_a_mapping() -> None:
    a = _result([], {"version": "1", "evaluator": "plain"})
    b = _result([], {"version": "1", "evaluator": "durable"})
    assert result_digest(a) == result_digest(b)
    c, d = _result([], "plain"), _result([], "durable")   # an odd engine field is kept as it is, so it counts
    assert result_digest(c) != result_digest(d)


def test_verify_names_a_pack_no_longer_applied_and_one_applied_now(digest: str) -> None:
    stored = _sealed([("us.fines", "1.0.0", "sha256:a"), ("us.housing", "1.2.0", "sha256:b")])
    fresh = _sealed([("us.fines", "1.0.0", "sha256:a"), ("us.benefits", "2.0.0", "sha256:c")])
    same, lines = verify(stored, result_text(stored), fresh, digest)
    assert not same
    assert "packs:   different: us.benefits 2.0.0 is applied now; us.housing 1.2.0 is no longer applied" in lines


def test_verify_names_a_new_version_and_an_edit_without_one(digest: str) -> None:
    stored = _sealed([("us.fines", "1.0.0", "sha256:a"), ("us.housing", "1.2.0", "sha256:b")])
    fresh = _sealed([("us.fines", "1.1.0", "sha256:x"), ("us.housing", "1.2.0", "sha256:y")])
    same, lines = verify(stored, result_text(stored), fresh, digest)
    assert not same
    assert "packs:   different: us.fines 1.0.0 -> 1.1.0; us.housing 1.2.0 edited without a new version" in lines


def test_verify_reports_another_engine_version(digest: str) -> None:
    stored = _sealed([("us.fines", "1.0.0", "sha256:a")])
    fresh = copy.deepcopy(stored)
    stored["seal"]["engine_version"] = "0.0.1"
    stored["seal"]["result_digest"] = result_digest(stored)   # sealed as such
    same, lines = verify(stored, result_text(stored), fresh, digest)
    assert not same
    assert f"engine:  different (0.0.1 -> {fresh['seal']['engine_version']})" in lines


def test_verify_same_content_in_another_layout_is_the_same(digest: str) -> None:
    stored = _sealed([("us.fines", "1.0.0", "sha256:a")])
    fresh = copy.deepcopy(stored)
    compact = json.dumps(stored)
    same, lines = verify(stored, compact, fresh, digest)
    assert same
    assert lines[0].startswith("sealed:  yes (sha256:")
    assert "facts:   same (" + digest + ")" in lines and "packs:   same (1 packs)" in lines
    assert lines[-1] == "result:  same content (the file's JSON layout differs)"
    same, lines = verify(stored, None, fresh, digest)   # no text to compare byte for byte
    assert same and lines[-1] == "result:  same content (the file's JSON layout differs)"
    same, lines = verify(stored, result_text(fresh), fresh, digest)
    assert same and lines[-1] == "result:  same, byte for byte"


def test_verify_a_result_without_a_seal_is_different_everywhere(digest: str) -> None:
    fresh = _sealed([("us.fines", "1.0.0", "sha256:a")])
    same, lines = verify(_result([]), None, fresh, digest)
    assert not same
    assert lines[0].startswith("sealed:  NO: the result file was changed after it was sealed")
    assert f"facts:   different: the case file's facts changed (None -> {digest})" in lines
    assert "packs:   different: us.fines 1.0.0 is applied now" in lines
