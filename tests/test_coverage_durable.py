"""The durable_rules runner never fails silently (engine/run/durable_engine.py): a ruleset the engine rejects, an
error code from an assert or a retraction, an action it cannot name and a closed ruleset are all EngineErrors
with the exact message, and after an error the session is empty again, so the next evaluation is right."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from typing import Any

import durable_rules_engine
import pytest

from engine.compile.compiler import Program, _distinct_property_hashes, fnv32
from engine.explain.evaluate import Engine
from engine.law.packs import load_all
from engine.model.errors import EngineError
from engine.run.durable_engine import FACT_IDS, DurableRunner
from engine.run.plain import PlainRunner

from .conftest import ROOT, case, make_rules
from .test_engine import PARAMS, RULES

ON = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(load_all(make_rules(tmp_path_factory.mktemp("dur"), RULES, PARAMS)), "durable")


def theft_case(days: int = 365) -> Any:
    return case({"format": 1, "jurisdiction": "US-TX", "as_of": "2026-11-26",
                 "client": {"immigration": {"status": "lpr", "admission_date": "2010-01-01"}},
                 "options": [{"id": "a", "counts": [{"offense": {"statute": "TEST", "elements": ["theft"], "cimt": True},
                                                     "committed_on": "2026-01-01", "sentence": {"custody_days": days}}]}]})


def facts(engine: Engine, days: int = 365) -> tuple[Program, Any, Any]:
    c = theft_case(days)
    run = engine.run_option(c, c.options[0], ON, 5)
    return run.program, run.opt_fact, run.cnt_facts


def test_a_ruleset_the_engine_rejects_is_an_engine_error(engine: Engine) -> None:
    program, _, _ = facts(engine)
    broken = dataclasses.replace(program, durable={"r": {"all": "not a list of patterns"}})
    with pytest.raises(EngineError, match=r"^durable_rules rejected the compiled ruleset: "):
        DurableRunner(broken)


def test_a_closed_ruleset_refuses_to_run_and_closes_once(engine: Engine) -> None:
    program, opt, cnts = facts(engine)
    runner = DurableRunner(program)
    assert runner.run(opt, cnts) == PlainRunner(program).run(opt, cnts)
    runner.close()
    runner.close()   # a second close is a no-op
    with pytest.raises(EngineError, match=r"^the durable_rules ruleset was closed$"):
        runner.run(opt, cnts)


def test_an_action_for_an_unknown_rule_is_an_error_and_the_session_is_left_empty(engine: Engine) -> None:
    program, opt, cnts = facts(engine)
    runner = DurableRunner(dataclasses.replace(program, actions={}))
    with pytest.raises(EngineError, match=r"^durable_rules fired an unknown rule 't\.chain\.[a-z-]+#0'$"):
        runner.run(opt, cnts)
    assert runner.handle is None   # a session that failed mid-action is discarded, never reused


def test_a_match_on_a_count_with_no_activation_is_an_error(engine: Engine) -> None:
    """The mode of a match comes from the status of the activation the runner asserted for its count; a match on a
    count with none (durable_rules would have joined the wrong facts) is an EngineError, not a guessed mode."""
    program, opt, cnts = facts(engine)
    runner = DurableRunner(program)
    name, (ri, di) = next(iter(program.actions.items()))
    runner._status = {}
    matched = {f"r{i}": {"t": "f", "code": ref.code, "cid": "0", "st": "a", "by": "x"}
               for i, ref in enumerate(program.rules[ri].disjuncts[di].refs)}
    with pytest.raises(EngineError, match=r"^durable_rules fired '[^']+' on count '0', which has no activation for it$"):
        runner._act(name, {**matched, "c": {"t": "w", "cid": "0"}})


def test_durable_rules_drops_a_second_fact_whose_id_has_the_same_32_bit_hash() -> None:
    """What the runner's fact ids guard against, shown on durable_rules itself: "40189" and "797186" have the same
    FNV-1a hash (compiler.fnv32), and a second fact with such an id is dropped as already seen (code 2)."""
    assert fnv32("40189") == fnv32("797186")
    handle = durable_rules_engine.create_ruleset("collateral_test_ids", json.dumps({"r": {"all": [{"m": {"t": "x"}}]}}))

    def fired(ids: list[str]) -> tuple[int, list[int]]:
        sid = "ids-" + "-".join(ids)
        code, state = durable_rules_engine.assert_facts(handle, json.dumps([{"t": "x", "v": i, "sid": sid, "id": ids[i]}
                                                                             for i in range(2)]))
        out: list[int] = []
        result = durable_rules_engine.start_action_for_state(handle, state)
        message = result[1] if result else None
        while message:
            out.append(json.loads(message)["r"]["m"]["v"])
            message = durable_rules_engine.complete_and_start_action(handle, state)
        return code, sorted(out)
    assert fired(["1", "2"]) == (0, [0, 1])
    assert fired(["40189", "797186"]) == (2, [0])


def test_fact_ids_below_the_limit_have_distinct_hashes_and_skip_the_state_fact(engine: Engine,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    hashes = {fnv32(str(n)) for n in range(FACT_IDS)}
    assert len(hashes) == FACT_IDS and fnv32(str(FACT_IDS)) in hashes
    program, opt, cnts = facts(engine)
    runner = DurableRunner(program)
    runner._next_id, runner._state_id = 0, fnv32("0")   # the session's state fact has the hash of id "0"
    assert [runner._new_id() for _ in range(3)] == ["1", "2", "3"]
    runner._next_id = FACT_IDS
    with pytest.raises(EngineError, match=r"^an evaluation asserted more than 797,186 facts"):
        runner._new_id()
    seen: list[list[str]] = []
    real = durable_rules_engine.assert_facts

    def recording(handle: int, text: str) -> Any:
        seen.append([f["id"] for f in json.loads(text)])
        return real(handle, text)
    monkeypatch.setattr(durable_rules_engine, "assert_facts", recording)   # the module the runner calls
    runner.run(opt, cnts)
    ids = [i for batch in seen for i in batch]
    assert len(ids) > 3 and len(set(ids)) == len(ids)   # every fact of the session has an id of its own


def test_property_names_with_the_same_hash_are_refused() -> None:
    with pytest.raises(EngineError, match=r"cannot tell the properties '40189' and '797186' apart"):
        _distinct_property_hashes({"r": {"all": [{"a": {"$and": [{"t": "x"}, {"40189": 1}]}},
                                                 {"b": {"$and": [{"t": "y"}, {"797186": 1}]}}]}})


REUSE = """
import dataclasses, datetime as dt, sys, tempfile
from pathlib import Path
from tests.conftest import case, make_rules
from tests.test_engine import PARAMS, RULES
from engine.model.errors import EngineError
from engine.explain.evaluate import Engine
from engine.law.packs import load_all
from engine.run.plain import PlainRunner
eng = Engine(load_all(make_rules(Path(tempfile.mkdtemp()), RULES, PARAMS)), "durable")
c = case(%r)
run = eng.run_option(c, c.options[0], dt.date(2026, 11, 26), 5)
runner = eng.runner(run.program)
runner.program = dataclasses.replace(run.program, actions={})   # every action now fails
try:
    runner.run(run.opt_fact, run.cnt_facts)
    sys.exit(4)
except EngineError:
    pass
again = eng.run_option(c, c.options[0], dt.date(2026, 11, 26), 5)   # the engine builds a new session
ok = again.firings == PlainRunner(run.program).run(run.opt_fact, run.cnt_facts) and eng.runner(run.program) is not runner
sys.exit(0 if ok else 3)
"""


def test_after_an_error_in_an_action_the_engine_evaluates_right_again() -> None:
    # in a child process: durable_rules' corrupt action queue after an abandoned action could crash this one
    data = theft_case().model_dump(mode="json", by_alias=True, exclude_none=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLLATERAL_CACHE": "off"}
    p = subprocess.run([sys.executable, "-c", REUSE % (data,)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]


def test_an_error_code_on_assert_is_an_engine_error(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    program, opt, cnts = facts(engine)
    runner = DurableRunner(program)
    monkeypatch.setattr(durable_rules_engine, "assert_facts", lambda handle, text: (301, 0))
    with pytest.raises(EngineError, match=r"^durable_rules returned code 301 on assert$"):
        runner.run(opt, cnts)
    monkeypatch.undo()
    assert runner.handle is None   # discarded after a failure
    observed = DurableRunner(program)   # "observed": a fact taken for one already held is a loss, never accepted
    monkeypatch.setattr(durable_rules_engine, "assert_facts", lambda handle, text: (2, 0))
    with pytest.raises(EngineError, match=r"^durable_rules took a fact of this evaluation for one it already held \(code 2\)"):
        observed.run(opt, cnts)
    monkeypatch.undo()
    fresh = engine.runner(program)
    assert fresh is not runner and fresh.run(opt, cnts) == PlainRunner(program).run(opt, cnts)


def test_a_session_that_cannot_be_deleted_is_an_engine_error(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    program, opt, cnts = facts(engine)
    runner = DurableRunner(program)

    def failing(handle: Any, sid: str) -> None:
        raise durable_rules_engine.error("error code: 309")
    monkeypatch.setattr(durable_rules_engine, "delete_state", failing)
    with pytest.raises(EngineError, match=r"^durable_rules failed to delete the session: error code: 309$"):
        runner.run(opt, cnts)
    monkeypatch.undo()
    assert runner.run(opt, cnts) == PlainRunner(program).run(opt, cnts)   # each evaluation has its own session


def test_evaluations_do_not_see_each_other(engine: Engine) -> None:
    program, opt, cnts = facts(engine)
    _, opt_short, cnts_short = facts(engine, 30)
    runner = DurableRunner(program)
    long_ = runner.run(opt, cnts)
    short = runner.run(opt_short, cnts_short)
    assert short == PlainRunner(program).run(opt_short, cnts_short)
    assert runner.run(opt, cnts) == long_
    assert {program.rules[f.rule].produces for f in long_} - {program.rules[f.rule].produces for f in short} == {
        "imm.aggravated_felony.G", "imm.deportable.aggravated_felony"}
    assert runner.remaining_facts() == []
    runner.close()
