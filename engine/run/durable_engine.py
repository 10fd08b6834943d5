"""The durable_rules engine: the only module that imports durable_rules.

One ruleset per compiled program, registered once and reused. Every evaluation runs in a session of its own (a
new sid): assert the facts, drain the actions with our own dispatch loop (so an exception in an action
propagates instead of being swallowed), assert each later stratum's summary facts, then delete the
session. Two evaluations never see each other, and memory stays flat.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from typing import Any, Optional

import durable_rules_engine as _dre

from engine.compile.compiler import Program, Ref, fnv32
from engine.model.errors import EngineError
from engine.run.runtime import (
    Activation,
    Fact,
    Firing,
    Found,
    activation_facts,
    activations,
    ref_matches_summary,
    scheme_keys,
    summaries,
)

_OK, _OBSERVED = 0, 2   # RULES_OK, ERR_EVENT_OBSERVED (a fact durable_rules takes for one it already holds)
# Every fact of a session gets an id of its own: str(n), n counting from 0. durable_rules 2.0.28 keeps a session's
# facts by the 32-bit hash of their id and takes a second fact whose id has the same hash for one already seen: it
# drops it and reports "observed", which a batch cannot tell from a true duplicate. The ids it makes up itself hash
# the fact with its session id, so a loss depended on the session (about one evaluation in 100,000 lost firings,
# and never the same one twice). str(0) .. str(FACT_IDS - 1) have pairwise distinct hashes; str(FACT_IDS) has the
# hash of "40189" (tests/test_coverage_durable.py checks both).
FACT_IDS = 797_186
_id_hashes: list[int] = []
_names = itertools.count()
_lock = threading.Lock()
# One ruleset per compiled program (by its content digest) for the life of the process, shared by every Engine
# that compiles the same program, each with its own lock. A ruleset is never deleted: durable_rules 2.0.28 can
# crash the process when one is freed (its state nodes hold pointers that are only initialised once an action
# has run, see docs/engine.md), and a process holds few distinct programs (one per jurisdiction, circuit and
# state of the law). A ruleset whose session failed is set aside, never reused.
_rulesets: dict[str, tuple[int, str, str, threading.Lock]] = {}


def _ruleset(program: Program) -> tuple[int, str, str, threading.Lock]:
    """(handle, name, key, lock) of the ruleset of this program's definition, created on first use."""
    text = json.dumps(program.durable, ensure_ascii=False, sort_keys=True)
    key = hashlib.sha256(text.encode()).hexdigest()
    with _lock:
        found = _rulesets.get(key)
        if found is not None:
            return found
        name = f"collateral_{program.digest}_{next(_names)}"
        try:
            handle = _dre.create_ruleset(name, text)
        except Exception as exc:  # the engine rejects the definition: a compiler bug, never ignored
            raise EngineError(f"durable_rules rejected the compiled ruleset: {exc}") from exc
        _rulesets[key] = found = (handle, name, key, threading.Lock())
        return found


class DurableRunner:
    name = "durable_rules"

    def __init__(self, program: Program) -> None:
        self.program = program
        self.handle: Optional[int]
        self.handle, self.ruleset_name, self._key, self._session = _ruleset(program)
        self._derived: set[tuple[str, str, str, str]] = set()
        self._firings: set[Firing] = set()
        self._pending: list[Fact] = []
        self._reads: frozenset[str] | set[str] = program.read_codes
        self._summarised: set[str] = set()
        self._status: dict[tuple[int, int, str], str] = {}
        self._sid, self._next_id, self._state_id = "", 0, 0
        # per rule disjunct that reads findings, computed once per program: the codes it reads as findings, those
        # it reads as summaries, the code its rule produces (for _live), and its references by pattern alias (_act)
        self._reads_of: dict[tuple[int, int], tuple[frozenset[str], frozenset[str], str, list[tuple[str, Ref]]]] = {
            (ri, di): (frozenset(ref.code for ref in d.refs if ref.kind == "pos"),
                       frozenset(ref.code for ref in d.refs if ref.kind != "pos"), r.produces,
                       [(f"r{i}", ref) for i, ref in enumerate(d.refs)])
            for ri, r in enumerate(program.rules) for di, d in enumerate(r.disjuncts) if d.refs}

    def close(self) -> None:
        """Set the ruleset aside after a failure: no runner uses it again (it is not freed, see _rulesets)."""
        handle, self.handle = self.handle, None
        if handle is not None:
            with _lock:
                if _rulesets.get(self._key, (None,))[0] == handle:
                    del _rulesets[self._key]

    # ------------------------------------------------------------ one evaluation
    def run(self, opt: Fact, cnts: list[Fact], acts: Optional[list[Activation]] = None) -> set[Firing]:
        if self.handle is None:
            raise EngineError("the durable_rules ruleset was closed")
        with self._session:   # one evaluation at a time in the ruleset's session
            return self._run(opt, cnts, activations(self.program, opt, cnts) if acts is None else acts)

    def _run(self, opt: Fact, cnts: list[Fact], acts: list[Activation]) -> set[Firing]:
        self._sid = f"e{next(_names)}"
        self._next_id = 0
        self._state_id = fnv32(f"sid-{self._sid}")   # the id of the state fact durable_rules keeps in the session
        self._derived, self._firings, self._pending = set(), set(), []
        self._reads = self.program.read_codes   # until _live narrows it to this evaluation
        cids = [c["cid"] for c in cnts]
        keys = scheme_keys(cnts)
        rules = self.program.rules
        reads = self._reads_of
        joined: list[Activation] = []
        fired: set[str] = set()
        for act in acts:
            ri, di, cid, st = act
            if (ri, di) in reads:
                joined.append(act)
            else:   # fact tests alone: it fires as its activation says, with nothing to join (compiler._durable)
                fired.add(rules[ri].produces)
                self._fire(ri, di, st, cid, ())
        joined, self._reads, self._summarised = self._live(joined, fired)
        self._status = {(ri, di, cid): st for ri, di, cid, st in joined}
        direct, self._pending = [f for f in self._pending if f["code"] in self._reads], []
        top = max((rules[ri].stratum for ri, _di, _cid, _st in joined), default=0)
        try:
            self._assert_batch([*activation_facts(joined), *direct, *self._summaries(0, cids, keys), {"t": "phase", "n": 0}])
            # a stratum's summaries once the lower strata reached their fixpoint; none above the last live join
            for stratum in range(1, top + 1):
                later = self._summaries(stratum, cids, keys)
                if later:
                    self._assert_batch(later)
        except BaseException:
            # after an abandoned action durable_rules 2.0.28 leaves the session's action queue corrupt (the next
            # evaluation reads a broken message): the ruleset is discarded, and the engine builds a new one
            self.close()
            raise
        self._reset()
        return self._firings

    def _live(self, joined: list[Activation], fired: set[str]
              ) -> tuple[list[Activation], set[str], set[str]]:
        """The join activations that can still fire, and the findings and summaries their patterns read.

        A pattern that reads a finding (a `pos` reference) can match only if some rule can produce that finding in
        this evaluation: one that fired from its facts alone, or a live join (to a fixpoint). An activation
        whose findings no rule can produce is never sent, and neither is a finding or a summary that no live
        activation reads: durable_rules would match them against nothing. Sound, because every firing needs its
        activation fact and every finding it reads; the plain evaluator, which sends nothing, is the oracle."""
        reads = self._reads_of
        can = set(fired)
        live: list[Activation] = []
        rest = joined
        while True:
            waiting = []
            for act in rest:
                pos = reads[act[0], act[1]][0]
                if can.issuperset(pos):
                    live.append(act)
                    can.add(reads[act[0], act[1]][2])
                else:
                    waiting.append(act)
            if len(waiting) == len(rest):
                break
            rest = waiting
        live.sort()   # the order the activations came in (rule, disjunct), whatever round made them live
        found: set[str] = set()
        summarised: set[str] = set()
        for ri, di, _cid, _st in live:
            pos, other, _, _ = reads[ri, di]
            found.update(pos)
            summarised.update(other)
        return live, found, summarised

    def _summaries(self, stratum: int, cids: list[str], keys: dict[str, Any]) -> list[Fact]:
        """The summaries some live pattern reads: the option-level one of each code, the per-count ones only of the
        codes a same-count `neg` reference reads (compiler._ref_tests)."""
        per_count = self.program.count_summaries
        return [s for s in summaries(self.program, stratum, self._derived, cids, keys, self._summarised)
                if s["cid"] == "*" or s["code"] in per_count]

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
            for f in batch:
                f["sid"] = self._sid
                f["id"] = self._new_id()
            text = json.dumps(batch, ensure_ascii=False, separators=(",", ":"))
            try:
                code, state = _dre.assert_facts(self.handle, text)
            except _dre.error as exc:   # e.g. a limit of the engine: never a traceback, never a silent loss
                raise EngineError(f"durable_rules failed on assert: {exc}") from exc
            if code == _OBSERVED:   # every fact has an id of its own (_new_id): a fact "seen" is a fact lost
                raise EngineError("durable_rules took a fact of this evaluation for one it already held (code 2): "
                                  "a firing could be lost")
            if code != _OK:
                raise EngineError(f"durable_rules returned code {code} on assert")
            self._drain(state)
            batch, self._pending = self._copies(self._pending), []

    def _new_id(self) -> str:
        """The next fact id of this session: one whose hash no other fact of the session has (FACT_IDS)."""
        n = self._next_id
        while True:
            if n >= FACT_IDS:
                raise EngineError(f"an evaluation asserted more than {FACT_IDS:,} facts: durable_rules could not tell them apart")
            if len(_id_hashes) <= n:
                with _lock:   # runners of other rulesets may extend it at the same time
                    while len(_id_hashes) <= n:
                        _id_hashes.extend([fnv32(str(i)) for i in range(len(_id_hashes), len(_id_hashes) + 4096)])
            n += 1
            if _id_hashes[n - 1] != self._state_id:
                break
        self._next_id = n
        return str(n - 1)

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
            ri, di = self.program.actions[name]
        except KeyError:
            raise EngineError(f"durable_rules fired an unknown rule {name!r}") from None
        cid = matched["c"]["cid"]
        # the mode of this match: applies when the activation is `a` and every reference strictly holds (the
        # patterns are lenient: each holds or may hold), possible otherwise
        status = self._status.get((ri, di, cid))
        if status is None:
            raise EngineError(f"durable_rules fired {name!r} on count {cid!r}, which has no activation for it")
        strict = status == "a"
        found: list[Found] = []
        for alias, ref in self._reads_of[ri, di][3]:
            f = matched[alias]
            if ref.kind == "pos":
                found.append(Found(f["code"], f["cid"], f["st"], f["by"]))
                strict = strict and f["st"] == "a"
            else:
                strict = strict and ref_matches_summary(ref, f, False)
        self._fire(ri, di, "a" if strict else "p", cid, tuple(sorted(found)))

    def _fire(self, ri: int, di: int, mode: str, cid: str, refs: tuple[Found, ...]) -> None:
        """Record a firing and derive its finding once; the finding goes to durable_rules only if some rule
        reads it (the summaries of the later strata are computed here, from every derived finding)."""
        rule = self.program.rules[ri]
        self._firings.add(Firing(ri, di, mode, cid, refs))
        key = (rule.produces, cid, mode, rule.id)
        if key in self._derived:
            return   # idempotent: a rule fires once per combination of facts matched, each deriving the same finding
        self._derived.add(key)
        if key[0] in self._reads:
            self._pending.append({"t": "f", "code": key[0], "cid": cid, "st": mode, "by": rule.id})

    def _reset(self) -> None:
        """Delete the evaluation's session with everything in it.

        Retracting the facts instead (the session reused) is quadratic in durable_rules 2.0.28 (4.6 s of 6.4 for
        an option of 50 counts) and crashed it with a segmentation fault on some cases (a three-count New York
        case in tests/test_reliability.py). Deleting a session is safe once an action has completed on it
        (before that its state nodes hold uninitialised pointers): the `__guard` rule on the phase-0 fact, which
        every evaluation asserts and drains, is that action."""
        try:
            _dre.delete_state(self.handle, self._sid)
        except _dre.error as exc:
            raise EngineError(f"durable_rules failed to delete the session: {exc}") from exc

    def remaining_facts(self) -> list[Fact]:
        """Facts still in the last evaluation's session (none: it was deleted); for tests."""
        try:
            data = json.loads(_dre.get_facts(self.handle, self._sid))
        except _dre.error:   # error 309: the session no longer exists
            return []
        return list(data) if isinstance(data, list) else []
