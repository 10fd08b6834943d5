"""What the engine reuses instead of recomputing must give what recomputing gives.

- The firings of an evaluation are kept by what they depend on (runtime.firing_key: the program, the
  activations, the count ids and their schemes). An engine that reuses them must give the same result document
  as one that keeps nothing, and must reuse them for the prong alternatives of a divisible statute that activate
  the same rules as the statute as a whole.
- The counter-offer search reads only the codes that apply to each candidate (Engine.applying): they must be
  the codes, kinds, severities and titles of the full evaluation's applying findings.

The cases are the synthetic docket's (engine/batch/docket.py), over the real packs, under both evaluators."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from engine.batch.docket import generate
from engine.explain import evaluate
from engine.explain.evaluate import Engine
from engine.model.casefile import CaseFile, default_circuit

ON = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def docket(real_packs: Any) -> list[CaseFile]:
    catalogs = Engine(real_packs, "plain").catalogs
    return [CaseFile.model_validate(c) for c in generate(24, catalogs, seed=20261206)]


@pytest.mark.parametrize("evaluator", ["durable", "plain"])
def test_reused_firings_give_the_same_result_as_none_kept(real_packs: Any, docket: list[CaseFile], evaluator: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    reusing = Engine(real_packs, evaluator)
    with_reuse = [json.dumps(reusing.advise(c, ON), sort_keys=True) for c in docket]
    monkeypatch.setattr(evaluate, "FIRINGS_KEPT", 0)
    fresh = Engine(real_packs, evaluator)
    assert [json.dumps(fresh.advise(c, ON), sort_keys=True) for c in docket] == with_reuse
    assert not fresh._firings   # nothing was kept


def test_prong_alternatives_that_activate_the_same_rules_are_not_run_again(real_packs: Any, docket: list[CaseFile]) -> None:
    engine = Engine(real_packs, "plain")
    calls = {"evaluations": 0, "runs": 0}
    run_option, runner = engine.run_option, engine.runner

    def counting_run_option(*a: Any) -> Any:
        calls["evaluations"] += 1
        return run_option(*a)

    def counting_runner(program: Any) -> Any:
        r = runner(program)

        class Counted:
            name = r.name

            def run(self, *a: Any) -> Any:
                calls["runs"] += 1
                return r.run(*a)
        return Counted()

    engine.run_option = counting_run_option  # type: ignore[method-assign]
    engine.runner = counting_runner  # type: ignore[method-assign]
    divisible = [c for c in docket if any(engine.catalogs.lookup(c.jurisdiction, n.offense.statute) is not None
                                          and engine.catalogs.lookup(c.jurisdiction, n.offense.statute).divisible  # type: ignore[union-attr]
                                          and n.offense.prong is None for o in c.options for n in o.counts)]
    assert divisible, "the docket has counts under divisible statutes with no prong named"
    for c in divisible:
        engine.advise(c, ON)
    assert calls["runs"] < calls["evaluations"]


@pytest.mark.parametrize("evaluator", ["durable", "plain"])
def test_the_codes_the_search_reads_are_those_of_the_full_evaluation(real_packs: Any, docket: list[CaseFile], evaluator: str) -> None:
    engine = Engine(real_packs, evaluator)
    compared = 0
    for c in docket:
        circuit = c.circuit or default_circuit(c.jurisdiction)
        for option in c.options:
            full = engine.evaluate_option(c, option, ON, circuit)
            expected = {f["code"]: {k: f[k] for k in ("kind", "severity", "title")}
                        for f in full["findings"] if f["status"] == "applies"}
            got = {code: {k: f[k] for k in ("kind", "severity", "title")} for code, f in engine.applying(c, option, ON, circuit).items()}
            assert got == expected, (c.case_id, option.id)
            compared += len(expected)
    assert compared > 100
