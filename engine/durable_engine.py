"""The durable_rules engine: the only module that imports durable_rules.

One ruleset per compiled program, registered once and reused. Every evaluation runs in one long-lived
session (sid "0"): assert the facts, drain the actions with our own dispatch loop (so an exception in an
action propagates instead of being swallowed), assert each later stratum's phase and summary facts, then
retract everything it asserted. Two evaluations never see each other, and memory stays flat.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from typing import Any, Optional

import durable_rules_engine as _dre

from .compiler import Program
from .errors import EngineError
from .runtime import Fact, Firing, Found, activation_facts, activations, scheme_keys, summaries

_OK, _NOT_HANDLED, _OBSERVED = 0, 1, 2
_names = itertools.count()
_lock = threading.Lock()


class DurableRunner:
    name = "durable_rules"

    def __init__(self, program: Program) -> None:
        self.program = program
        with _lock:
            self.ruleset_name = f"collateral_{program.digest}_{next(_names)}"
        try:
            self.handle = _dre.create_ruleset(self.ruleset_name, json.dumps(program.durable, ensure_ascii=False))
        except Exception as exc:  # the engine rejects the definition: a compiler bug, never ignored
            raise EngineError(f"durable_rules rejected the compiled ruleset: {exc}") from exc
        self._asserted: list[str] = []
        self._derived: set[tuple[str, str, str, str]] = set()
        self._firings: set[Firing] = set()
        self._pending: list[Fact] = []

    def close(self) -> None:
        handle, self.handle = getattr(self, "handle", None), None
        if handle is not None:
            _dre.delete_ruleset(handle)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # ------------------------------------------------------------ one evaluation
    def run(self, opt: Fact, cnts: list[Fact]) -> set[Firing]:
        if self.handle is None:
            raise EngineError("the durable_rules ruleset was closed")
        self._asserted, self._derived, self._firings, self._pending = [], set(), set(), []
        cids = [c["cid"] for c in cnts]
        keys = scheme_keys(cnts)
        try:
            acts = activation_facts(activations(self.program, opt, cnts))
            self._assert_batch([*acts, *summaries(self.program, 0, self._derived, cids, keys), {"t": "phase", "n": 0}])
            for stratum in range(1, self.program.strata):
                self._assert_batch([{"t": "phase", "n": stratum}, *summaries(self.program, stratum, self._derived, cids, keys)])
        except BaseException:
            # after an abandoned action durable_rules 2.0.28 leaves the session's action queue corrupt (the next
            # evaluation reads a broken message): the ruleset is discarded, and the engine builds a new one
            self._asserted = []
            self.close()
            raise
        self._reset()
        return self._firings

    def _copies(self, facts: list[Fact]) -> list[Fact]:
        """One copy per slot of the facts whose patterns were fanned out (compiler._fan_out)."""
        fan = self.program.fanout
        if not fan:
            return facts
        out: list[Fact] = []
        for f in facts:
            t = f["t"]
            key = f"phase:{f['n']}" if t == "phase" else (f"{t}:{f['code']}" if t in ("f", "s") else "")
            g = fan.get(key, 1)
            out.extend([f] if g == 1 else [{**f, "g": i} for i in range(g)])
        return out

    def _assert_batch(self, facts: list[Fact]) -> None:
        """Assert a batch and drain its actions; derived facts follow in rounds, one batch per round."""
        batch: list[Fact] = self._copies(facts)
        while batch:
            text = json.dumps(batch, ensure_ascii=False, separators=(",", ":"))
            try:
                code, state = _dre.assert_facts(self.handle, text)
            except _dre.error as exc:   # e.g. a limit of the engine: never a traceback, never a silent loss
                raise EngineError(f"durable_rules failed on assert: {exc}") from exc
            if code not in (_OK, _OBSERVED):
                raise EngineError(f"durable_rules returned code {code} on assert")
            self._asserted.append(text)   # retracted later from the same text, newest batch first
            self._drain(state)
            batch, self._pending = self._copies(self._pending), []

    def _drain(self, state: int) -> None:
        result = _dre.start_action_for_state(self.handle, state)
        message: Optional[str] = result[1] if result else None
        while message:
            try:
                for name, matched in json.loads(message).items():
                    self._act(name, matched)
            except BaseException:
                _dre.abandon_action(self.handle, state)
                raise
            message = _dre.complete_and_start_action(self.handle, state)

    def _act(self, name: str, matched: dict[str, Any]) -> None:
        if name in ("__sink", "__guard"):
            return
        try:
            ri, di, mode = self.program.actions[name]
        except KeyError:
            raise EngineError(f"durable_rules fired an unknown rule {name!r}") from None
        rule = self.program.rules[ri]
        cid = matched["c"]["cid"]
        refs = tuple(sorted(Found(f["code"], f["cid"], f["st"], f["by"]) for alias, f in matched.items()
                            if alias[0] == "r" and f["t"] == "f")) if len(matched) > 1 else ()
        self._firings.add(Firing(ri, di, mode, cid, refs))
        key = (rule.produces, cid, mode, rule.id)
        if key in self._derived:
            return   # idempotent: an `$or` can fire a rule once per satisfied branch
        self._derived.add(key)
        self._pending.append({"t": "f", "code": key[0], "cid": cid, "st": mode, "by": rule.id})

    def _reset(self) -> None:
        """Retract everything asserted, in two calls' worth of order: first the phase facts, newest first, one at
        a time (every rule is gated by its stratum's phase fact, so no rule can match once they are gone), then
        every other fact in one batch, newest first. The session is empty again.

        Retracting batch by batch instead (phase, summary and derived facts of one stratum together) crashes
        durable_rules 2.0.28 with a segmentation fault on some cases (a three-count New York case in
        tests/test_reliability.py); this order was measured not to, over the differential benchmark's cases.
        Every activation was drained after each assert, and the patterns have no negation, so a retraction
        queues nothing; starting an action after a retraction also crashes 2.0.28, so it is never done."""
        batches, self._asserted = self._asserted, []
        facts = [f for text in reversed(batches) for f in json.loads(text)]
        phases = [f for f in facts if f["t"] == "phase"]
        rest = [f for f in facts if f["t"] != "phase"]
        for text in [json.dumps([f], ensure_ascii=False, separators=(",", ":")) for f in phases] + (
                [json.dumps(rest, ensure_ascii=False, separators=(",", ":"))] if rest else []):
            code, _ = _dre.retract_facts(self.handle, text)
            if code not in (_OK, _OBSERVED, _NOT_HANDLED):
                raise EngineError(f"durable_rules returned code {code} on retract")

    def remaining_facts(self) -> list[Fact]:
        """Facts still in the session (empty between evaluations); for tests."""
        data = json.loads(_dre.get_facts(self.handle, "0"))
        return list(data) if isinstance(data, list) else []
