"""The durable_rules engine and the plain evaluator agree exactly: the same rule firings (rule, disjunct,
mode, count, matched findings) and the same result, on a generated docket over the real packs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.batch.docket import generate
from engine.explain.evaluate import Engine
from engine.model.casefile import CaseFile


def _same_firings(durable_engine: Engine, plain_engine: Engine, cases: list[dict[str, Any]]) -> list[Any]:
    """The firings of every option of the cases, after checking that both evaluators made exactly the same."""
    out: list[Any] = []
    for data in cases:
        case = CaseFile.model_validate(data)
        for option in case.options:
            a = durable_engine.run_option(case, option, dt.date(2026, 11, 26), None)
            b = plain_engine.run_option(case, option, dt.date(2026, 11, 26), None)
            assert a.firings == b.firings, f"{data['case_id']}/{option.id}"
            out.extend(a.firings)
    return out


def test_both_evaluators_fire_the_same_rules_on_200_generated_cases(durable_engine: Engine, plain_engine: Engine) -> None:
    fired = _same_firings(durable_engine, plain_engine, generate(200, durable_engine.catalogs, seed=7))
    assert len(fired) > 1000   # the docket exercises the rules


def test_both_evaluators_agree_on_options_of_many_counts(durable_engine: Engine, plain_engine: Engine) -> None:
    """Options of 12 to 30 counts: the rules that read two or more findings of one count join them through the
    anchor (compiler._anchors), and must pair the findings of each count exactly as the plain evaluator does,
    never across counts."""
    fired = _same_firings(durable_engine, plain_engine, generate(12, durable_engine.catalogs, seed=29, counts=(12, 30)))
    pairs = sum(1 for f in fired if sum(1 for r in f.refs if r.cid == f.cid) >= 2)
    assert len(fired) > 1000 and pairs > 50   # many counts, and firings on two findings of one count among them


def test_both_evaluators_give_the_same_result_document(durable_engine: Engine, plain_engine: Engine) -> None:
    for data in generate(30, durable_engine.catalogs, seed=11):
        case = CaseFile.model_validate(data)
        a: dict[str, Any] = durable_engine.advise(case)
        b: dict[str, Any] = plain_engine.advise(case)
        a["engine"] = b["engine"] = None
        assert a == b, data["case_id"]


def test_the_generated_docket_holds_only_possible_case_files(plain_engine: Engine) -> None:
    # the benchmark's and the screen's synthetic cases must pass the case file's plausibility checks (an offense
    # after the law date, a conviction before the offense or a date before birth would be refused)
    from engine.model.casefile import plausibility
    from engine.model.yamlsrc import Located
    for data in generate(400, plain_engine.catalogs, seed=3):
        case = CaseFile.model_validate(data)
        errors, _ = plausibility(case, Located(data, {}, "generated"), dt.date(2026, 11, 26))
        assert errors == [], (data["case_id"], [str(e) for e in errors])
