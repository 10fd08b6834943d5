"""What both evaluators share: encoding python facts into flat engine facts, three-valued tests, and the
summary facts asserted at each stratum boundary."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Protocol

from engine.compile.compiler import Conj, Leaf, Node, Program, Ref, Synthetic
from engine.compile.facts import AT_MOST

Fact = dict[str, Any]


APPLIES = "a"     # a firing whose condition is true: the finding applies
POSSIBLE = "p"    # a firing whose condition is true or unknown: the finding is possible
NONE = "n"        # in a summary: the code was not found on that count


class Found(NamedTuple):
    """A finding as the engines carry it: its code, count id ("*": option level, "h<i>": the i-th prior
    conviction), status (APPLIES or POSSIBLE) and the rule that made it."""
    code: str
    cid: str
    st: str
    by: str


@dataclass(frozen=True)
class Firing:
    rule: int                 # index into program.rules
    disjunct: int
    mode: str                 # APPLIES: the condition is true; POSSIBLE: it is true or unknown
    cid: str                  # the count id ("*" for an option-scope rule)
    refs: tuple[Found, ...]   # the findings it matched


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _shift(v: Any, s: Synthetic) -> Any:
    if isinstance(v, dt.date):
        return add_months(v, 12 * s.years + s.months) + dt.timedelta(days=s.days)
    return v + s.days


def _prefix(a: Any, b: Any) -> bool:
    return str(a).startswith(str(b))


def _not_prefix(a: Any, b: Any) -> bool:
    return not str(a).startswith(str(b))


_PY: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "prefix": _prefix, "not_prefix": _not_prefix}


def _encode_value(v: Any) -> Any:
    return v.toordinal() if isinstance(v, dt.date) else v


def encode(program: Program, scope: str, values: dict[str, Any], other: Optional[dict[str, Any]] = None) -> Fact:
    """Flat engine fact of one scope. `other` is the option's values, for comparisons across facts."""
    fact: Fact = {"t": scope}
    for path, v in values.items():
        spec = program.facts[path]
        if spec.type == "tags":
            tags = program.tag_keys.get(path)
            if tags is not None:
                present = set(v)
                for t in tags:
                    fact[f"{spec.key}__{t}"] = True if t == "" else (t in present)
        else:
            fact[spec.key] = _encode_value(v)
    both = {**(other or {}), **values}
    for s in program.synthetic:
        if s.scope != scope:
            continue
        left, right = both.get(s.left), both.get(s.right)
        if left is not None and right is not None:
            fact[s.key] = _PY[s.op](left, _shift(right, s))
    return fact


class Trace:
    """What a three-valued test read: the unknown facts that left it undecided (`missing`) and the record facts
    whose silence the rule's burden decided (`resolved`). Only the facts that matter to the outcome are kept."""

    __slots__ = ("missing", "resolved", "burden")

    def __init__(self, burden: bool = True) -> None:
        self.missing: set[str] = set()
        self.resolved: set[str] = set()
        self.burden = burden   # False: ignore the burden, leaving silent record facts unknown (what-if)


class Check(Protocol):
    def __call__(self, f: Fact, tr: Optional[Trace] = None, /) -> Optional[bool]: ...
_MISSING = object()
_BOUND = {k.replace(".", "__"): v.replace(".", "__") for k, v in AT_MOST.items()}


def _exceeds(op: str, value: Any, bound: Any) -> bool:
    """Whether `x op value` is false for every x <= bound (the test asks for more than the bound allows)."""
    try:
        return bool((op == "ge" and bound < value) or (op == "gt" and bound <= value) or (op == "eq" and bound < value))
    except TypeError:
        return False


def _leaf_check(lf: Leaf) -> Check:
    key, value, paths, dflt = lf.key, lf.value, lf.paths, lf.dflt
    if lf.op == "exists":
        def exists(f: Fact, tr: Optional[Trace] = None) -> Optional[bool]:
            return key in f
        return exists
    if lf.op == "missing":
        if dflt:   # the silence of a record fact that a burden decides: traced as resolved
            def silent(f: Fact, tr: Optional[Trace] = None) -> Optional[bool]:
                if key in f:
                    return False
                if tr is not None:
                    tr.resolved.update(paths)
                return True
            return silent
        def missing(f: Fact, tr: Optional[Trace] = None) -> Optional[bool]:
            return key not in f
        return missing
    cmp = _PY[lf.op]
    bound_key = _BOUND.get(key) if lf.op in ("ge", "gt", "eq") else None

    def check(f: Fact, tr: Optional[Trace] = None) -> Optional[bool]:
        v = f.get(key, _MISSING)
        if v is _MISSING:
            if bound_key is not None and bound_key in f and _exceeds(lf.op, value, f[bound_key]):
                return False   # an unknown sentence is at most the statutory maximum (facts.AT_MOST)
            if tr is None:
                return dflt
            if dflt is None or not tr.burden:
                tr.missing.update(paths)
                return None
            tr.resolved.update(paths)
            return dflt
        try:
            return bool(cmp(v, value))
        except TypeError:
            return False
    return check


def _always(f: Fact, tr: Optional[Trace] = None) -> Optional[bool]:
    return True


@functools.cache
def compile_check(n: Optional[Node]) -> Check:
    """The one three-valued (Kleene) test of a condition tree, as a closure: True, False or None (unknown).
    With a Trace it also records the facts that decided an unknown result and the silent record facts that a
    burden resolved; without one it is the fast path used for activations."""
    if n is None:
        return _always
    if isinstance(n, Leaf):
        return _leaf_check(n)
    parts = [compile_check(k) for k in n.items]
    decisive = n.op == "any"   # all stops at the first False, any at the first True

    def check(f: Fact, tr: Optional[Trace] = None) -> Optional[bool]:
        if tr is None:
            unknown = False
            for p in parts:
                r = p(f)
                if r is decisive:
                    return decisive
                if r is None:
                    unknown = True
            return None if unknown else not decisive
        missing: set[str] = set()
        resolved: set[str] = set()
        unknown = False
        for p in parts:
            sub = Trace(tr.burden)
            r = p(f, sub)
            if r is decisive:
                tr.resolved |= sub.resolved
                return decisive
            resolved |= sub.resolved
            if r is None:
                unknown = True
                missing |= sub.missing
        if unknown:
            tr.missing |= missing
        tr.resolved |= resolved
        return None if unknown else not decisive
    return check


def tri(n: Optional[Node], fact: Fact, trace: Trace) -> Optional[bool]:
    """Three-valued value of a tree, recording in `trace` what decided it."""
    return compile_check(n)(fact, trace)


Activation = tuple[int, int, str, str]   # (rule index, disjunct index, count id or "*", a | p)


def activation_facts(acts: list[Activation]) -> list[Fact]:
    """The durable_rules form of the activations (see compiler._durable): per count and bucket, facts with a
    property k<rule>_<disjunct> (value 1) per activation, at most ACTIVATION_PROPS each. Their status (a or p)
    stays with the runner, which reads it when the rule fires."""
    from engine.compile.compiler import ACTIVATION_BUCKETS, ACTIVATION_PROPS
    groups: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for ri, di, cid, _st in acts:
        groups.setdefault((cid, ri % ACTIVATION_BUCKETS), []).append((f"k{ri}_{di}", 1))
    out: list[Fact] = []
    for (cid, b), props in groups.items():
        for i in range(0, len(props), ACTIVATION_PROPS):
            fact: Fact = {"t": "w", "b": b, "cid": cid, "n": i}
            fact.update(props[i:i + ACTIVATION_PROPS])
            out.append(fact)
    return out


def firing_key(program: Program, acts: list[Activation], cnts: list[Fact]) -> tuple[Any, ...]:
    """Everything an evaluation's firings depend on: the program, the activations, the count ids and what tells
    their schemes apart (both evaluators read nothing else of the facts). Two evaluations with the same key fire
    the same rules on the same findings, so the firings of one are the firings of the other."""
    keys = scheme_keys(cnts)
    return (program.digest, tuple(acts), tuple((c["cid"], keys[c["cid"]]) for c in cnts))


def activations(program: Program, opt: Fact, cnts: list[Fact]) -> list[Activation]:
    """(rule, disjunct, count id, st) for every rule disjunct whose fact tests are true (a) or unknown (p)."""
    if program.checks is None:
        program.checks = [[(compile_check(d.opt), compile_check(d.cnt)) for d in r.disjuncts] for r in program.rules]
    out: list[Activation] = []
    for ri, rule in enumerate(program.rules):
        for di, (ocheck, ccheck) in enumerate(program.checks[ri]):
            ov = ocheck(opt)
            if ov is False:
                continue
            if rule.scope == "option":
                out.append((ri, di, "*", "a" if ov else "p"))
                continue
            for c in cnts:
                cv = ccheck(c)
                if cv is False:
                    continue
                out.append((ri, di, c["cid"], "a" if (ov and cv) else "p"))
    return out


def scheme_keys(cnts: list[Fact]) -> dict[str, tuple[Optional[str], Optional[int]]]:
    """Per count id, what tells its scheme of criminal misconduct apart: the record's scheme (counts with the
    same one arose from a single scheme) and the commission date (as an ordinal)."""
    return {c["cid"]: (c.get("count__record__scheme"), c.get("count__committed_on")) for c in cnts}


def _separate_bounds(applying: list[str], possible: list[str], keys: dict[str, tuple[Optional[str], Optional[int]]]) -> tuple[int, int]:
    """How many separate schemes the counts of a code certainly (na_s) and at most (nap_s) arose from.

    Counts with the same recorded scheme are one. Counts committed on different dates are separate (Matter of
    Adetiba, 20 I&N Dec. 506, 509-10 (BIA 1992)); counts on the same day with no recorded scheme may be one or
    several (Matter of Islam, 25 I&N Dec. 637 (BIA 2011)): the lower bound merges them, the upper does not."""
    def lower(cids: list[str]) -> int:
        groups: set[Any] = set()
        for cid in cids:
            scheme, day = keys.get(cid, (None, None))
            groups.add(("s", scheme) if scheme is not None else ("d", day) if day is not None else ("u", None))
        known = {g for g in groups if g[0] != "u"}
        return len(known) if known else len(groups)

    def upper(cids: list[str]) -> int:
        schemes = {keys.get(cid, (None, None))[0] for cid in cids} - {None}
        return len(schemes) + sum(1 for cid in cids if keys.get(cid, (None, None))[0] is None)
    return lower(applying), upper(applying + possible)


def summaries(program: Program, stratum: int, findings: set[tuple[str, str, str, str]], cids: list[str],
              keys: Optional[dict[str, tuple[Optional[str], Optional[int]]]] = None,
              only: Optional[set[str]] = None) -> list[Fact]:
    """Closed-world summaries of the codes whose producers all ran in lower strata (of the codes in `only`, if
    given)."""
    out: list[Fact] = []
    for code, first in sorted(program.summary_codes.items()):
        if first != stratum or (only is not None and code not in only):
            continue
        status: dict[str, str] = {}
        for c, cid, st, _ in findings:
            if c == code and (st == "a" or status.get(cid) != "a"):
                status[cid] = st
        na = sum(1 for cid in cids if status.get(cid) == "a")
        nap = sum(1 for cid in cids if cid in status)
        na_s, nap_s = _separate_bounds([c for c in cids if status.get(c) == "a"],
                                       [c for c in cids if status.get(c) == "p"], keys or {})
        for cid in cids:
            st = status.get(cid, "n")
            out.append({"t": "s", "code": code, "cid": cid, "st": st, "none_a": st == "n", "none_p": st != "a"})
        top = status.get("*")   # a finding at the option level (a code concluded at both scopes)
        overall = "a" if na or top == "a" else ("p" if nap or top == "p" else "n")
        out.append({"t": "s", "code": code, "cid": "*", "st": overall, "none_a": overall == "n", "none_p": overall != "a",
                    "na": na, "nap": nap, "na_s": na_s, "nap_s": nap_s})
    return out


def ref_matches_summary(ref: Ref, s: Fact, lenient: bool) -> bool:
    if ref.kind == "neg":
        return bool(s["none_p"] if lenient else s["none_a"])
    na, nap, n = (s["na_s"], s["nap_s"], ref.n) if ref.separate else (s["na"], s["nap"], ref.n)
    if ref.op == "eq":
        return bool((na <= n <= nap) if lenient else (na == n == nap))
    upward = ref.op in ("ge", "gt")
    key = (nap if lenient else na) if upward else (na if lenient else nap)
    return bool(_PY[ref.op](key, n))


def disjunct_paths(program: Program, ri: int, di: int) -> tuple[str, ...]:
    """conj_paths of a rule disjunct of the program, computed once per program (assembly reads them per firing)."""
    if program.paths is None:
        program.paths = [[tuple(conj_paths(d)) for d in r.disjuncts] for r in program.rules]
    found: tuple[str, ...] = program.paths[ri][di]
    return found


def conj_paths(d: Conj) -> list[str]:
    from engine.compile.compiler import leaves
    seen: list[str] = []
    for lf in leaves(d.opt) + leaves(d.cnt):
        for p in lf.paths:
            if p not in seen:
                seen.append(p)
    return seen
