"""The rule compiler: a pure function from rule packs (as of a date, for a jurisdiction and circuit) to a
compiled program. The program is plain data: condition trees over flat facts, disjuncts, strata, and the
durable_rules JSON ruleset built from them. Both evaluators (durable_rules and the plain one) run it.

Safe subset of durable_rules (see docs/engine.md): every pattern starts with a positive type test; the only
joins are equality joins on the count id, last in the activation pattern or in a pattern joined to a rule's anchor
finding; there is no `none()`: negation and counting read summary facts that the runner asserts only after the
lower stratum reached its fixpoint;
a never-firing sink rule and a guard rule are always present; derived facts carry the rule that made them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from engine.compile.expr import Expr
from engine.compile.expr import parse as parse_expr
from engine.compile.facts import FACTS, FactSpec
from engine.law.catalog import CERTAINTY_ORDER
from engine.law.packs import Conclusion, LocatedRule, Pack
from engine.model.errors import EngineError, Problem, nearest

FIELD_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "has", "has_any", "has_all", "known", "starts_with")
COUNT_OPS = ("eq", "lt", "le", "gt", "ge")
NEG_OP = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le", "exists": "missing", "missing": "exists",
          "prefix": "not_prefix", "not_prefix": "prefix"}


# ---------------------------------------------------------------- condition trees (after parsing)
@dataclass(frozen=True)
class Leaf:
    """A primitive test on one key of one fact: key op value. Unknown when the key is absent
    (except exists/missing, which are never unknown)."""
    scope: str            # opt | cnt
    key: str
    op: str               # eq ne lt le gt ge exists missing
    value: Any
    paths: tuple[str, ...]  # the fact paths it reads (for explanations and questions)
    dflt: Optional[bool] = None   # the value when the key is absent: a silent record resolved by the rule's burden


@dataclass(frozen=True)
class Tree:
    op: str               # all | any
    items: tuple[Union[Tree, Leaf], ...]


Node = Union[Tree, Leaf]


@dataclass(frozen=True)
class Ref:
    """A reference to derived findings. kind pos: a finding exists (status carried along);
    neg: no finding (read from the stratum summary); count: how many counts have it (summary)."""
    kind: str             # pos | neg | count
    code: str
    same_count: bool
    op: str = ""
    n: int = 0
    star: bool = False    # pos only: the option-level finding (cid "*") of a code concluded at both scopes
    separate: bool = False  # count only: count separate schemes of criminal misconduct, not counts (summary na_s/nap_s)


@dataclass(frozen=True)
class Conj:
    opt: Optional[Node]
    cnt: Optional[Node]
    refs: tuple[Ref, ...]


@dataclass(frozen=True)
class Synthetic:
    """A comparison between two facts (e.g. a date plus five years), computed when the facts are built."""
    key: str
    scope: str
    left: str
    op: str
    right: str
    years: int
    months: int
    days: int


@dataclass
class CRule:
    id: str
    pack: str
    pack_version: str
    scope: str
    certainty: str
    citations: list[dict[str, Any]]
    then: Conclusion
    disjuncts: list[Conj]
    reads_offense: bool
    produces: str
    amount: Optional[Expr] = None
    stratum: int = 0
    level: int = 0
    param_values: dict[str, Any] = field(default_factory=dict)
    burden: Optional[str] = None


@dataclass
class Derived:
    spec: FactSpec
    expr: Expr
    pack: str
    cite: str


@dataclass
class Program:
    facts: dict[str, FactSpec]
    derived: list[Derived]
    rules: list[CRule]
    synthetic: list[Synthetic]
    tag_keys: dict[str, list[str]]
    summary_codes: dict[str, int]        # code -> the stratum from which its summary exists
    strata: int
    code_scope: dict[str, str]
    digest: str
    durable: dict[str, Any]              # ruleset definition without actions
    actions: dict[str, tuple[int, int]]   # durable rule name -> (rule index, disjunct index)
    checks: Any = None                   # compiled three-valued tests, built by the runtime on first use
    paths: Any = None                    # the facts each rule disjunct reads, built by assembly on first use
    fanout: dict[str, int] = field(default_factory=dict)   # "f:<code>", "s:<code>" -> copies
    read_codes: frozenset[str] = frozenset()   # codes some rule reads as a finding (a `pos` reference)
    count_summaries: frozenset[str] = frozenset()   # codes whose per-count summary some rule reads (same-count `neg`)


class CompileError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# ---------------------------------------------------------------- parsing
class _Parser:
    def __init__(self, lr: LocatedRule, on: dt.date, problems: list[Problem], code_scope: dict[str, str],
                 synthetic: dict[tuple[Any, ...], Synthetic], tag_keys: dict[str, set[str]], vocab_tags: set[str],
                 facts: dict[str, FactSpec]):
        self.facts = facts
        self.license_tags: Optional[set[str]] = None   # None: license codes are not checked
        self.lr = lr
        self.on = on
        self.problems = problems
        self.code_scope = code_scope
        self.synthetic = synthetic
        self.tag_keys = tag_keys
        self.vocab_tags = vocab_tags
        self.reads_offense = False
        self.params: dict[str, Any] = {}
        src = lr.pack.sources.get(lr.file)
        self.index = self._rule_index(src)
        self.src = src

    def _rule_index(self, src: Any) -> int:
        if src is None:
            return 0
        for i, r in enumerate(src.data.get("rules", [])):
            if isinstance(r, dict) and r.get("id") == self.lr.rule.id:
                return i
        return 0

    def err(self, loc: tuple[Any, ...], msg: str, suggestion: str = "") -> None:
        full = ("rules", self.index, "when") + loc
        line = self.src.line(full) if self.src else self.lr.line
        self.problems.append(Problem(self.lr.file, line, f"{self.lr.rule.id}: when" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in loc), msg, suggestion))

    def parse(self, c: Any, loc: tuple[Any, ...] = (), negate: bool = False) -> Optional[PNode]:
        if not isinstance(c, dict) or len(c) == 0:
            self.err(loc, "expected a condition (all, any, not, fact, finding or count)")
            return None
        if "all" in c or "any" in c:
            key = "all" if "all" in c else "any"
            if len(c) != 1 or not isinstance(c[key], list) or not c[key]:
                self.err(loc, f"'{key}' takes a non-empty list and nothing beside it")
                return None
            kids = [self.parse(x, loc + (key, i), negate) for i, x in enumerate(c[key])]
            if any(k is None for k in kids):
                return None
            op = key if not negate else ("any" if key == "all" else "all")
            return PTree(op, [k for k in kids if k is not None])
        if "not" in c:
            if len(c) != 1:
                self.err(loc, "'not' takes one condition and nothing beside it")
                return None
            return self.parse(c["not"], loc + ("not",), not negate)
        if "finding" in c:
            return self._finding(c, loc, negate)
        if "count" in c:
            return self._count(c, loc, negate)
        if "fact" in c:
            return self._fact(c, loc, negate)
        self.err(loc, f"unknown condition form {sorted(c)}; expected all, any, not, fact, finding or count",
                 nearest(next(iter(c)), ["all", "any", "not", "fact", "finding", "count"]))
        return None

    def _code_ok(self, code: Any, loc: tuple[Any, ...]) -> bool:
        if not isinstance(code, str) or code not in self.code_scope:
            self.err(loc, f"no rule concludes the code '{code}'", nearest(str(code), self.code_scope))
            return False
        return True

    def _finding(self, c: dict[str, Any], loc: tuple[Any, ...], negate: bool) -> Optional[PNode]:
        extra = set(c) - {"finding", "any_count"}
        if extra:
            self.err(loc, f"unexpected key(s) {sorted(extra)} in a finding condition", nearest(sorted(extra)[0], ["any_count"]))
            return None
        code = c["finding"]
        if not self._code_ok(code, loc + ("finding",)):
            return None
        any_count = bool(c.get("any_count", False))
        scope = self.code_scope[code]
        if self.lr.rule.scope == "count" and scope == "mixed" and not any_count:
            if negate:
                self.err(loc, f"'{code}' is concluded at both scopes; negating it in a count-scope rule needs any_count: true")
                return None
            # on this count, or at the option level
            return PTree("any", [PRef(Ref("pos", code, True)), PRef(Ref("pos", code, False, star=True))])
        same = self.lr.rule.scope == "count" and scope == "count" and not any_count
        return PRef(Ref("neg" if negate else "pos", code, same))

    def _count(self, c: dict[str, Any], loc: tuple[Any, ...], negate: bool) -> Optional[PNode]:
        separate = c.get("separate", False)
        if not isinstance(separate, bool):
            self.err(loc + ("separate",), "separate takes true or false")
            return None
        ops = [k for k in c if k not in ("count", "separate")]
        if len(ops) != 1 or ops[0] not in COUNT_OPS or not isinstance(c[ops[0]], int):
            self.err(loc, f"a count condition takes one of {', '.join(COUNT_OPS)} with a whole number (and optionally separate: true)",
                     nearest(ops[0], COUNT_OPS) if ops and ops[0] not in COUNT_OPS else "")
            return None
        code = c["count"]
        if not self._code_ok(code, loc + ("count",)):
            return None
        op = ops[0]
        n = c[op]
        if negate:
            if op == "eq":
                return PTree("any", [PRef(Ref("count", code, False, "lt", n, separate=separate)),
                                     PRef(Ref("count", code, False, "gt", n, separate=separate))])
            op = NEG_OP[op]
        return PRef(Ref("count", code, False, op, n, separate=separate))

    def _value(self, v: Any, loc: tuple[Any, ...]) -> Any:
        if isinstance(v, dict) and set(v) == {"param"}:
            name = v["param"]
            pack = self.lr.pack
            if name not in pack.parameters:
                self.err(loc, f"unknown parameter '{name}' in pack {pack.id}", nearest(str(name), pack.parameters))
                return _BAD
            try:
                value = pack.param_on(name, self.on)
            except KeyError as exc:
                self.err(loc, str(exc.args[0]) if exc.args else str(exc))   # str(KeyError) would quote the message
                return _BAD
            self.params[name] = value
            return value
        return v

    def _fact(self, c: dict[str, Any], loc: tuple[Any, ...], negate: bool) -> Optional[PNode]:
        path = c["fact"]
        spec = self.facts.get(path) if isinstance(path, str) else None
        if spec is None:
            self.err(loc + ("fact",), f"unknown fact '{path}'", nearest(str(path), self.facts))
            return None
        if spec.scope == "cnt" and self.lr.rule.scope != "count":
            self.err(loc + ("fact",), f"'{path}' is a count fact; only a rule with scope: count can read it")
            return None
        if path in CONTESTED:
            self.reads_offense = True
        ops = [k for k in c if k != "fact"]
        if len(ops) != 1:
            self.err(loc, f"a fact condition takes exactly one operator ({', '.join(FIELD_OPS)})",
                     nearest(ops[0], FIELD_OPS) if ops else "")
            return None
        op = ops[0]
        if op not in FIELD_OPS:
            self.err(loc + (op,), f"unknown operator '{op}'; expected one of {', '.join(FIELD_OPS)}", nearest(op, FIELD_OPS))
            return None
        raw = c[op]
        if isinstance(raw, dict) and "fact" in raw:
            return self._synthetic(spec, op, raw, loc + (op,), negate)
        value = self._value(raw, loc + (op,))
        if value is _BAD:
            return None
        return self._leafs(spec, op, value, loc + (op,), negate)

    def _check_choice(self, spec: FactSpec, v: Any, loc: tuple[Any, ...]) -> bool:
        if spec.type == "tags":
            if spec.path.startswith("count.offense.elements"):
                if v not in self.vocab_tags:
                    self.err(loc, f"unknown element tag '{v}'", nearest(str(v), self.vocab_tags))
                    return False
                return True
            if spec.path.startswith("client.licenses.") and self.license_tags is not None:
                if v not in self.license_tags:
                    self.err(loc, f"unknown license code '{v}' (rules/vocabulary.yaml licenses)", nearest(str(v), self.license_tags))
                    return False
                return True
            if spec.open_vocabulary:
                return True
        if spec.choices and v not in spec.choices:
            self.err(loc, f"'{v}' is not a value of {spec.path}; expected one of {', '.join(spec.choices)}",
                     nearest(str(v), spec.choices))
            return False
        return True

    def _literal(self, spec: FactSpec, v: Any, loc: tuple[Any, ...]) -> Any:
        if spec.type == "date":
            if isinstance(v, dt.date):
                return v.toordinal()
            self.err(loc, f"{spec.path} is a date; expected YYYY-MM-DD, got {v!r}")
            return _BAD
        if spec.type in ("int", "number"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.err(loc, f"{spec.path} is a number; got {v!r}")
                return _BAD
            return v
        if spec.type == "bool":
            if not isinstance(v, bool):
                self.err(loc, f"{spec.path} is true or false; got {v!r}")
                return _BAD
            return v
        if spec.type in ("enum", "str"):
            if not isinstance(v, (str, int)) or isinstance(v, bool):
                self.err(loc, f"{spec.path} is text; got {v!r}")
                return _BAD
            return v if self._check_choice(spec, v, loc) else _BAD
        return v

    def _leafs(self, spec: FactSpec, op: str, value: Any, loc: tuple[Any, ...], negate: bool) -> Optional[PNode]:
        key = spec.key
        paths = (spec.path,)
        if op == "known":
            if not isinstance(value, bool):
                self.err(loc, "known takes true or false")
                return None
            want = value != negate
            if spec.type == "tags":
                k = key + "__"
                self.tag_keys.setdefault(spec.path, set()).add("")
                return PLeaf(Leaf(spec.scope, k, "exists" if want else "missing", None, paths))
            return PLeaf(Leaf(spec.scope, key, "exists" if want else "missing", None, paths))
        if spec.type == "tags":
            if op not in ("has", "has_any", "has_all"):
                self.err(loc, f"{spec.path} is a list; use has, has_any, has_all or known", nearest(op, ["has", "has_any", "has_all"]))
                return None
            tags = [value] if op == "has" else value
            if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
                self.err(loc, f"{op} takes {'a tag' if op == 'has' else 'a list of tags'}")
                return None
            if not all(self._check_choice(spec, t, loc) for t in tags):
                return None
            leaves: list[PNode] = []
            for t in tags:
                self.tag_keys.setdefault(spec.path, set()).add(t)
                leaves.append(PLeaf(Leaf(spec.scope, f"{key}__{t}", "eq", not negate, paths)))
            if len(leaves) == 1:
                return leaves[0]
            inner = "any" if op == "has_any" else "all"
            if negate:
                inner = "all" if inner == "any" else "any"
            return PTree(inner, leaves)
        if op in ("has", "has_any", "has_all"):
            self.err(loc, f"{op} works on list facts; {spec.path} is a {spec.type}")
            return None
        if op == "starts_with":   # e.g. every statute of a code chapter: {fact: count.offense.statute, starts_with: "PC 22."}
            prefixes = value if isinstance(value, list) else [value]
            if spec.type != "str" or not prefixes or not all(isinstance(x, str) and x for x in prefixes):
                self.err(loc, "starts_with takes text (or a list of texts) and works on text facts such as count.offense.statute")
                return None
            leaves = [PLeaf(Leaf(spec.scope, key, "not_prefix" if negate else "prefix", x, paths)) for x in prefixes]
            return leaves[0] if len(leaves) == 1 else PTree("all" if negate else "any", leaves)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self.err(loc, f"{op} takes a non-empty list")
                return None
            lits = [self._literal(spec, v, loc) for v in value]
            if any(x is _BAD for x in lits):
                return None
            positive = (op == "in") != negate
            leaves = [PLeaf(Leaf(spec.scope, key, "eq" if positive else "ne", x, paths)) for x in lits]
            return leaves[0] if len(leaves) == 1 else PTree("any" if positive else "all", leaves)
        if op in ("lt", "le", "gt", "ge") and spec.type in ("enum", "str"):
            if not spec.ordered:
                self.err(loc, f"{spec.path} has no order; use eq, ne, in or not_in")
                return None
            if value not in spec.choices:
                self.err(loc, f"'{value}' is not a value of {spec.path}", nearest(str(value), spec.choices))
                return None
            i = spec.choices.index(value)
            pick = {"lt": spec.choices[:i], "le": spec.choices[: i + 1], "gt": spec.choices[i + 1:], "ge": spec.choices[i:]}[op]
            if not pick:  # e.g. gt the highest value: never true, but still unknown when the fact is
                return PLeaf(Leaf(spec.scope, key, "ne" if negate else "eq", "__never__", paths))
            return self._leafs(spec, "in", list(pick), loc, negate)
        lit = self._literal(spec, value, loc)
        if lit is _BAD:
            return None
        return PLeaf(Leaf(spec.scope, key, NEG_OP[op] if negate else op, lit, paths))

    def _synthetic(self, spec: FactSpec, op: str, raw: dict[str, Any], loc: tuple[Any, ...], negate: bool) -> Optional[PNode]:
        if op not in ("eq", "ne", "lt", "le", "gt", "ge"):
            self.err(loc, f"{op} cannot compare two facts")
            return None
        other = self.facts.get(raw.get("fact", ""))
        if other is None:
            self.err(loc + ("fact",), f"unknown fact '{raw.get('fact')}'", nearest(str(raw.get("fact")), self.facts))
            return None
        extra = set(raw) - {"fact", "plus"}
        plus = raw.get("plus") or {}
        if isinstance(plus, dict):   # an offset may be a dated parameter: {years: {param: NAME}}
            plus = {k: self._value(v, loc + ("plus", k)) for k, v in plus.items()}
            if any(v is _BAD for v in plus.values()):
                return None
        if extra or not isinstance(plus, dict) or set(plus) - {"years", "months", "days"} or not all(isinstance(x, int) and not isinstance(x, bool) for x in plus.values()):
            self.err(loc, "compare with {fact: PATH, plus: {years: N, months: N, days: N}}")
            return None
        numeric = ("date", "int", "number")
        if spec.type not in numeric or other.type not in numeric or (spec.type == "date") != (other.type == "date"):
            self.err(loc, f"cannot compare {spec.path} ({spec.type}) with {other.path} ({other.type})")
            return None
        if other.scope == "cnt" and self.lr.rule.scope != "count":
            self.err(loc, f"'{other.path}' is a count fact; only a rule with scope: count can read it")
            return None
        if other.path in CONTESTED:
            self.reads_offense = True
        scope = "cnt" if "cnt" in (spec.scope, other.scope) else "opt"
        ident = (spec.path, op, other.path, plus.get("years", 0), plus.get("months", 0), plus.get("days", 0))
        if ident not in self.synthetic:
            h = hashlib.sha256(repr(ident).encode()).hexdigest()[:10]
            self.synthetic[ident] = Synthetic(f"x__{h}", scope, spec.path, op, other.path, *ident[3:])
        s = self.synthetic[ident]
        return PLeaf(Leaf(scope, s.key, "eq", not negate, (spec.path, other.path)))


_BAD = object()

# the offense attributes whose classification a catalog entry's certainty qualifies (its authorities are about
# them); a rule reading only the statute, class or maximum is as certain as the rule itself
CONTESTED = frozenset({"count.offense.elements", "count.offense.elements_unresolved", "count.offense.mens_rea",
                       "count.offense.force", "count.offense.cimt", "count.offense.cimt_unresolved",
                       "count.offense.substance_schedule", "count.offense.divisible"})


def silent_record_value(burden: Optional[str], kind: str) -> Optional[bool]:
    """What a silent record of conviction makes a record fact's test, for a rule with this burden: the silence
    goes against the party that bears the burden. Conditions are in negation normal form (the parser pushes
    `not` down to the leaves), so a leaf that is true makes the finding more likely.
    government: a consequence the record does not establish is not established (Moncrieffe v. Holder, 569 U.S.
    184, 190-91 (2013)), and an exception (kind relief) the government must negate stands.
    applicant: a bar the record does not rule out stands (Pereida v. Wilkinson, 592 U.S. 224 (2021)), and an
    eligibility (kind relief) the record does not establish is not shown."""
    if burden == "government":
        return kind == "relief"
    if burden == "applicant":
        return kind != "relief"
    return None


def _silent_leaf(lf: Leaf, facts: dict[str, FactSpec], exempt: frozenset[str]) -> bool:
    """A test on record facts only, none of them circumstance-specific (for the fact, or for this rule)."""
    return lf.op not in ("exists", "missing") and bool(lf.paths) and all(
        (s := facts.get(p)) is not None and s.kind == "record" and not s.circumstance_specific and p not in exempt
        for p in lf.paths)


_DIVISIBLE = Leaf("cnt", "count__offense__divisible", "eq", True, ("count.offense.divisible",))


def _resolve_silent(n: PNode, value: bool, facts: dict[str, FactSpec], exempt: frozenset[str] = frozenset()) -> PNode:
    """Give every silent-record leaf its value on a silent record. When that value is against the applicant
    (a bar stands), it holds only under a divisible statute, whose record of conviction decides which
    alternative the conviction rests on (Pereida v. Wilkinson, 592 U.S. 224 (2021)); under an indivisible one
    the record cannot be consulted and the least culpable conduct governs relief as it does removability
    (Moncrieffe v. Holder, 569 U.S. 184, 190-91, 204-06 (2013)). Divisibility unknown: unknown."""
    if isinstance(n, PLeaf):
        if not _silent_leaf(n.leaf, facts, exempt):
            return n
        lf = n.leaf
        if value and lf.scope == "cnt":
            silent = Leaf(lf.scope, lf.key, "missing", None, lf.paths, dflt=True)   # dflt: a traced silence
            return PTree("any", [PLeaf(dataclasses.replace(lf, dflt=False)),
                                 PTree("all", [PLeaf(_DIVISIBLE), PLeaf(silent)])])
        return PLeaf(dataclasses.replace(lf, dflt=value))
    if isinstance(n, PTree):
        return PTree(n.op, [_resolve_silent(k, value, facts, exempt) for k in n.items])
    return n


@dataclass
class PLeaf:
    leaf: Leaf


@dataclass
class PTree:
    op: str
    items: list[PNode]


@dataclass
class PRef:
    ref: Ref


PNode = Union[PLeaf, PTree, PRef]


# ---------------------------------------------------------------- normal form
def _pure_scope(n: PNode) -> Optional[str]:
    if isinstance(n, PLeaf):
        return n.leaf.scope
    if isinstance(n, PRef):
        return None
    scopes = {_pure_scope(k) for k in n.items}
    return scopes.pop() if len(scopes) == 1 and None not in scopes else None


def _to_tree(n: PNode) -> Node:
    if isinstance(n, PLeaf):
        return n.leaf
    assert isinstance(n, PTree)
    items = tuple(_to_tree(k) for k in n.items)
    return items[0] if len(items) == 1 else Tree(n.op, items)


_Conj = tuple[tuple[Node, ...], tuple[Node, ...], tuple[Ref, ...]]


def _dnf(n: PNode) -> list[_Conj]:
    scope = _pure_scope(n)
    if scope is not None:
        t = _to_tree(n)
        return [((t,), (), ())] if scope == "opt" else [((), (t,), ())]
    if isinstance(n, PRef):
        return [((), (), (n.ref,))]
    assert isinstance(n, PTree)
    if n.op == "all":
        out: list[_Conj] = [((), (), ())]
        for k in n.items:
            out = [(a[0] + b[0], a[1] + b[1], a[2] + b[2]) for a in out for b in _dnf(k)]
        return out
    res: list[_Conj] = []
    for sc in ("opt", "cnt"):
        group = [k for k in n.items if _pure_scope(k) == sc]
        if group:
            t = _to_tree(PTree("any", group)) if len(group) > 1 else _to_tree(group[0])
            res.append(((t,), (), ()) if sc == "opt" else ((), (t,), ()))
    for k in n.items:
        if _pure_scope(k) is None:
            res.extend(_dnf(k))
    return res


def _conj(c: _Conj) -> Conj:
    def merge(ts: tuple[Node, ...]) -> Optional[Node]:
        if not ts:
            return None
        return ts[0] if len(ts) == 1 else Tree("all", ts)
    refs = tuple(sorted(set(c[2]), key=lambda r: (r.kind, r.code, r.same_count, r.star, r.op, r.n, r.separate)))
    return Conj(merge(c[0]), merge(c[1]), refs)


# ---------------------------------------------------------------- burden of proof: the applicant's view
APPLICANT = "~applicant"   # suffix of the codes and rule ids of the applicant's view (never shown as findings)


def _refs(n: PNode) -> list[Ref]:
    if isinstance(n, PRef):
        return [n.ref]
    if isinstance(n, PTree):
        return [r for k in n.items for r in _refs(k)]
    return []


def _has_silent_leaf(n: PNode, facts: dict[str, FactSpec], exempt: frozenset[str]) -> bool:
    if isinstance(n, PLeaf):
        return _silent_leaf(n.leaf, facts, exempt)
    if isinstance(n, PTree):
        return any(_has_silent_leaf(k, facts, exempt) for k in n.items)
    return False


def _rename_refs(n: PNode, codes: set[str]) -> PNode:
    if isinstance(n, PRef):
        return PRef(dataclasses.replace(n.ref, code=n.ref.code + APPLICANT)) if n.ref.code in codes else n
    if isinstance(n, PTree):
        return PTree(n.op, [_rename_refs(k, codes) for k in n.items])
    return n


def _burden_views(parsed: list[tuple[LocatedRule, _Parser, PNode, Optional[Expr]]], facts: dict[str, FactSpec],
                  code_scope: dict[str, str]) -> list[tuple[LocatedRule, _Parser, PNode, Optional[Expr], str, str]]:
    """Each rule with its silent record facts resolved by its own burden, plus the applicant's view of the
    findings that applicant-burden rules read.

    A classification (an aggravated felony, a CIMT) is read both for removability, where the government bears
    the burden and a silent record of conviction is the least culpable conduct (Moncrieffe v. Holder, 569 U.S.
    184, 190-91 (2013)), and for relief, where the applicant bears it and a silent record under a divisible
    statute does not carry it (Pereida v. Wilkinson, 592 U.S. 224 (2021)). So every finding whose rules read a
    silent-record fact, directly or through other findings, gets a second version (code + APPLICANT) in which
    the silence goes against the applicant: a bar stands, an eligibility is not shown. Rules with
    `burden: applicant` read that version."""
    producers: dict[str, list[int]] = {}
    for i, (lr, *_rest) in enumerate(parsed):
        producers.setdefault(lr.rule.then.code, []).append(i)
    sensitive: set[str] = set()   # codes whose value can turn on a silent record
    changed = True
    while changed:
        changed = False
        for lr, _p, tree, _a in parsed:
            code = lr.rule.then.code
            exempt = frozenset(lr.rule.circumstance_specific)
            if code not in sensitive and (_has_silent_leaf(tree, facts, exempt) or any(r.code in sensitive for r in _refs(tree))):
                sensitive.add(code)
                changed = True
    out: list[tuple[LocatedRule, _Parser, PNode, Optional[Expr], str, str]] = []
    wanted: list[str] = []
    for lr, parser, tree, amount in parsed:
        silent = silent_record_value(lr.rule.burden, lr.rule.then.kind)
        exempt = frozenset(lr.rule.circumstance_specific)
        t = _resolve_silent(tree, silent, facts, exempt) if silent is not None else tree
        if lr.rule.burden == "applicant":
            t = _rename_refs(t, sensitive)
            wanted.extend(r.code[: -len(APPLICANT)] for r in _refs(t) if r.code.endswith(APPLICANT))
        out.append((lr, parser, t, amount, lr.rule.id, lr.rule.then.code))
    made: set[str] = set()
    while wanted:
        code = wanted.pop()
        if code in made:
            continue
        made.add(code)
        code_scope[code + APPLICANT] = code_scope.get(code, "count")
        for i in producers.get(code, []):
            lr, parser, tree, amount = parsed[i]
            value = silent_record_value("applicant", lr.rule.then.kind)
            assert value is not None
            t = _rename_refs(_resolve_silent(tree, value, facts, frozenset(lr.rule.circumstance_specific)), sensitive)
            wanted.extend(r.code[: -len(APPLICANT)] for r in _refs(t) if r.code.endswith(APPLICANT))
            out.append((lr, parser, t, amount, lr.rule.id + APPLICANT, code + APPLICANT))
    return out


# ---------------------------------------------------------------- selection and compilation
def applicable_packs(packs: list[Pack], jurisdiction: str) -> list[Pack]:
    return [p for p in packs if p.manifest.domain != "offenses" and p.manifest.jurisdiction in ("US", jurisdiction)]


def rule_in_force(lr: LocatedRule, on: dt.date, circuit: Optional[int]) -> bool:
    r = lr.rule
    if r.effective is not None and (on < r.effective.from_ or (r.effective.to is not None and on >= r.effective.to)):
        return False
    return not (r.circuits is not None and circuit not in r.circuits)


def _param(pack: Pack, name: str, on: dt.date) -> Any:
    if name not in pack.parameters:
        raise KeyError(f"unknown parameter '{name}' in pack {pack.id}" + (f" (did you mean '{nearest(name, pack.parameters)}'?)" if nearest(name, pack.parameters) else ""))
    return pack.param_on(name, on)


def _check_date(lr: LocatedRule, on: dt.date) -> dt.date:
    """For `packs check`: a date on which the rule is in force."""
    eff = lr.rule.effective
    if eff is None:
        return on
    if eff.to is not None and on >= eff.to:
        return eff.to - dt.timedelta(days=1)
    return max(on, eff.from_)


def compile_program(packs: list[Pack], on: dt.date, circuit: Optional[int], vocab_tags: set[str],
                    select: Callable[[LocatedRule], bool] | None = None, check_all: bool = False,
                    license_tags: set[str] | None = None) -> Program:
    """Compile the rules in force on `on` for `circuit` (every rule, each at a date it is in force, when
    check_all). Raises CompileError listing every problem."""
    problems: list[Problem] = []
    chosen = [lr for p in packs for lr in p.rules
              if (check_all or rule_in_force(lr, on, circuit)) and (select is None or select(lr))]
    chosen.sort(key=lambda lr: lr.rule.id)
    code_scope: dict[str, str] = {}
    # every code any rule of these packs concludes, at any date: a reference to a code that no rule in force
    # concludes (the category did not exist yet) is valid and simply never found
    for lr in sorted((lr for p in packs for lr in p.rules), key=lambda lr: lr.rule.id):
        prev = code_scope.get(lr.rule.then.code)
        code_scope[lr.rule.then.code] = lr.rule.scope if prev in (None, lr.rule.scope) else "mixed"
    synthetic: dict[tuple[Any, ...], Synthetic] = {}
    tag_keys: dict[str, set[str]] = {}
    facts = dict(FACTS)
    derived: list[Derived] = []
    for pack in packs:
        for dfact, file, line in pack.derived:
            spec = FactSpec(dfact.path, dfact.type, "cnt" if dfact.path.startswith("count.") else "opt")
            if dfact.path in facts:
                problems.append(Problem(file, line, dfact.path, "a derived fact cannot redefine an existing fact"))
                continue

            eff = dfact.effective
            if eff is not None and not check_all and (on < eff.from_ or (eff.to is not None and on >= eff.to)):
                facts[dfact.path] = spec   # known to conditions, never computed: unknown on this date
                continue

            def derr(msg: str, file: str = file, line: int = line, path: str = dfact.path) -> None:
                problems.append(Problem(file, line, f"{path}: value", msg))

            e = parse_expr(dfact.value, derr, set(facts), functools.partial(_param, pack, on=on), "count" if spec.scope == "cnt" else "option")
            if e is not None:
                facts[dfact.path] = spec
                derived.append(Derived(spec, e, pack.id, dfact.cite))
    parsed_rules: list[tuple[LocatedRule, _Parser, PNode, Optional[Expr]]] = []
    for lr in chosen:
        when = _check_date(lr, on) if check_all else on
        parser = _Parser(lr, when, problems, code_scope, synthetic, tag_keys, vocab_tags, facts)
        parser.license_tags = license_tags
        parsed = parser.parse(lr.rule.when)
        amount = None
        if lr.rule.then.amount is not None:
            def aerr(msg: str, lr: LocatedRule = lr) -> None:
                problems.append(Problem(lr.file, lr.line, f"{lr.rule.id}: then.amount", msg))
            amount = parse_expr(lr.rule.then.amount, aerr, set(facts), functools.partial(_param, lr.pack, on=when), lr.rule.scope)
            if amount is None:
                continue
        if parsed is None:
            continue
        parsed_rules.append((lr, parser, parsed, amount))
    rules: list[CRule] = []
    located = {lr.rule.id: lr for lr in chosen}
    for lr, parser, tree, amount, rid, code in _burden_views(parsed_rules, facts, code_scope):
        located.setdefault(rid, lr)
        disjuncts = [_conj(c) for c in _dnf(tree)]
        widest = max((len(d.refs) for d in disjuncts), default=0)
        if widest > MAX_REFS and rid == lr.rule.id:
            problems.append(Problem(lr.file, lr.line, f"{lr.rule.id}: when",
                                    f"a branch of this condition reads {widest} findings; the rule engine joins at most "
                                    f"{MAX_REFS} per rule (durable_rules holds 16 facts in a match, with "
                                    "the case's facts): read a summary finding made by another rule instead"))
            continue
        rules.append(CRule(rid, lr.pack.id, lr.pack.manifest.version, lr.rule.scope, lr.rule.certainty,
                           [c.model_dump(exclude_none=True) for c in lr.rule.citations], lr.rule.then, disjuncts,
                           parser.reads_offense, code, amount, param_values=parser.params,
                           burden=lr.rule.burden if rid == lr.rule.id else "applicant"))
    by_code: dict[str, list[CRule]] = {}
    for r in rules:
        by_code.setdefault(r.produces, []).append(r)
    _stratify(rules, by_code, problems, located)
    if problems:
        raise CompileError(problems)
    summary_codes: dict[str, int] = {}
    for r in rules:
        for d in r.disjuncts:
            for ref in d.refs:
                if ref.kind in ("neg", "count"):
                    summary_codes[ref.code] = max((x.stratum for x in by_code.get(ref.code, [])), default=-1) + 1
    strata = 1 + max((r.stratum for r in rules), default=0)
    rules.sort(key=lambda r: (r.stratum, r.level, r.id))
    durable, actions, fanout = _durable(rules)
    payload = json.dumps({"rules": [[r.id, r.pack_version, repr(r.disjuncts), r.param_values] for r in rules],
                          "synthetic": [repr(s) for s in sorted(synthetic.values(), key=lambda s: s.key)]}, sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
    return Program(facts, derived, rules, sorted(synthetic.values(), key=lambda s: s.key), {k: sorted(v) for k, v in sorted(tag_keys.items())},
                   summary_codes, strata, code_scope, digest, durable, actions, fanout=fanout,
                   read_codes=frozenset(ref.code for r in rules for d in r.disjuncts for ref in d.refs if ref.kind == "pos"),
                   count_summaries=frozenset(ref.code for r in rules for d in r.disjuncts for ref in d.refs
                                             if ref.kind == "neg" and ref.same_count))


def _stratify(rules: list[CRule], by_code: dict[str, list[CRule]], problems: list[Problem], located: dict[str, LocatedRule]) -> None:
    """stratum: negation/counting reads only lower strata; level: order of positive dependencies."""
    state: dict[str, int] = {}
    done: dict[str, tuple[int, int]] = {}

    def visit(r: CRule, stack: list[str]) -> tuple[int, int]:
        if r.id in done:
            return done[r.id]
        if state.get(r.id) == 1:
            cycle = " -> ".join(stack[stack.index(r.id):] + [r.id])
            lr = located[r.id]
            problems.append(Problem(lr.file, lr.line, r.id, f"rules depend on each other in a cycle: {cycle}"))
            return (0, 0)
        state[r.id] = 1
        stratum, level = 0, 0
        for d in r.disjuncts:
            for ref in d.refs:
                for producer in by_code.get(ref.code, []):
                    s, lv = visit(producer, stack + [r.id])
                    if ref.kind == "pos":
                        stratum = max(stratum, s)
                        level = max(level, lv + 1)
                    else:
                        stratum = max(stratum, s + 1)
                        level = max(level, lv + 1)
        state[r.id] = 2
        r.stratum, r.level = stratum, level
        done[r.id] = (stratum, level)
        return done[r.id]

    for r in rules:
        visit(r, [])


# ---------------------------------------------------------------- durable_rules JSON
def _durable(rules: list[CRule]) -> tuple[dict[str, Any], dict[str, tuple[int, int]], dict[str, int]]:
    """One durable rule per disjunct that reads a finding or a summary.

    A disjunct without references depends on its fact tests alone: the runner fires it from its activation
    (runtime.direct_firings) and never sends it to durable_rules, which keeps only the chaining and the joins.

    The fact tests of a disjunct reach durable_rules as an activation (a property of a fact {t: w, b, cid})
    that the runner asserts when the tests are true or unknown, keeping which for the mode. durable_rules
    expands every `$or` of a pattern into separate alpha paths (exponential in the unknown-tolerant form), and
    its alpha walk has a fixed stack of 64 pending nodes (ERR_MAX_STACK_SIZE 303), which hundreds of rules over
    one fact type overflow. With activation facts every pattern is a conjunction of equality tests: the chaining
    over findings and the count joins stay in durable_rules.
    """
    definition: dict[str, Any] = {}
    actions: dict[str, tuple[int, int]] = {}
    shared: list[tuple[str, dict[str, Any]]] = []   # (endpoint kind key, the pattern's test list holder)
    anchors = _anchors(rules)
    late: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []   # joins placed after the fan-out slot test
    for ri, r in enumerate(rules):
        for di, d in enumerate(r.disjuncts):
            if not d.refs:
                continue
            # one durable rule per disjunct, every reference lenient (it holds or may hold): a match fires once per
            # combination of facts, and the runner decides its mode from the facts matched (applies when the
            # activation is `a` and every reference strictly holds, runtime.ref_matches_summary), which is what
            # the disjoint variants of earlier versions (a, p, p<i>) decided with n + 2 rules per disjunct.
            # No phase pattern either: only summaries are non-monotone, and the runner asserts a stratum's
            # summaries after the lower strata reached their fixpoint (a rule reading them cannot fire before)
            pats: list[dict[str, Any]] = []
            joins: list[dict[str, Any]] = []
            anchor = anchors.get((ri, di))
            order = ([anchor] if anchor is not None else []) + [i for i in range(len(d.refs)) if i != anchor]
            for i in order:
                ref = d.refs[i]
                # equality tests only. A disjunct that reads two or more findings of the same count starts from the
                # most-read of them (the anchor) and joins each other one to it in its own pattern: durable_rules
                # then pairs findings of one count only, not every finding of every count (a cross product over
                # the counts). Otherwise the same-count join sits in the activation pattern, under the rule's key
                pats.append({f"r{i}": {"$and": _ref_tests(ref)}})
                shared.append((_kind(ref), pats[-1][f"r{i}"]))
                if anchor is not None and i != anchor and ref.same_count:
                    late.append((pats[-1][f"r{i}"]["$and"], {"cid": {f"r{anchor}": "cid"}}))
                elif anchor is None and ref.same_count:
                    joins.append({"cid": {f"r{i}": "cid"}})
            if anchor is not None:
                joins.append({"cid": {f"r{anchor}": "cid"}})
            # runtime.activation_facts: activations travel as properties (one per rule disjunct, value 1; the runner
            # keeps their status) of a few facts per count, grouped by bucket: a bucket node has at most
            # rules/buckets children (durable_rules holds 512 per node) and a fact carries at most ACTIVATION_PROPS
            # of them (its alpha walk stacks at most 64 pending nodes)
            pats.append({"c": {"$and": [{"t": "w"}, {"b": ri % ACTIVATION_BUCKETS}, {f"k{ri}_{di}": 1}] + joins}})
            name = f"{r.id}#{di}"
            definition[name] = {"all": pats}
            actions[name] = (ri, di)
    fanout = _fan_out(shared)
    for tests, join in late:
        tests.append(join)
    # a never-firing sink: every fact reaches a join node, so a batch never raises MessageNotHandled
    definition["__sink"] = {"all": [{"a": {"t": "__never__"}}, {"b": {"$ex": {"t": 1}}}]}
    # a no-op guard on the phase fact: an action completes on the session before anything else depends on it
    definition["__guard"] = {"all": [{"g": {"$and": [{"t": "phase"}, {"n": 0}]}}]}
    _distinct_property_hashes(definition)
    return definition, actions, fanout


def fnv32(text: str) -> int:
    """The 32-bit FNV-1a hash durable_rules 2.0.28 gives a property name or a fact id (`fnv1Hash32` in its state.c,
    over C `char`s). It tells names and stored facts apart by this hash alone: two fact ids with the same hash in
    one session are one fact to it (the second is dropped as already seen), which is why the runner gives every
    fact an id of its own (durable_engine.FACT_IDS)."""
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h = ((h ^ (b - 256 if b >= 128 else b)) * 16777619) & 0xFFFFFFFF
    return h


# the property names of the facts the runner asserts, besides those the patterns test
FACT_PROPERTIES = ("t", "b", "cid", "n", "code", "st", "by", "g", "sid", "id", "none_a", "none_p", "na", "nap", "na_s",
                   "nap_s")


def _distinct_property_hashes(definition: dict[str, Any]) -> None:
    """durable_rules finds the test of a property by the hash of its name: two names with the same 32-bit hash would
    read each other's values. Every name a pattern tests or a fact carries must have a hash of its own."""
    names: set[str] = set(FACT_PROPERTIES)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if not k.startswith("$"):
                    names.add(k)
                walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)
    for rule in definition.values():
        for pattern in rule["all"]:
            for test in pattern.values():
                walk(test)
    seen: dict[int, str] = {}
    for name in sorted(names):
        other = seen.setdefault(fnv32(name), name)
        if other != name:
            raise EngineError(f"durable_rules cannot tell the properties {other!r} and {name!r} apart (same 32-bit hash)")


FANOUT_LIMIT = 200   # durable_rules links at most 256 patterns (BETA_LIST_LENGTH) to one alpha node
JOIN_LIMIT = 32      # join tests under one finding's node: durable's alpha walk stacks them all (64 at most)


def _kind(ref: Ref) -> str:
    return ("f:" if ref.kind == "pos" else "s:") + ref.code


def _anchors(rules: list[CRule]) -> dict[tuple[int, int], int]:
    """(rule, disjunct) -> the reference its other same-count references join to, for the disjuncts that read two
    or more findings or summaries of the same count: the one most patterns read (it carries no join test), so that
    the join tests spread over the less-read findings. A finding whose node would carry more than JOIN_LIMIT join
    tests (durable_rules pushes every one of them, untested, on its 64-entry stack for each such fact) keeps the
    disjuncts that would put them there in the other order (the join in the activation pattern)."""
    readers: dict[str, int] = {}
    for r in rules:
        for d in r.disjuncts:
            for ref in d.refs:
                readers[_kind(ref)] = readers.get(_kind(ref), 0) + 1
    anchors: dict[tuple[int, int], int] = {}
    for ri, r in enumerate(rules):
        for di, d in enumerate(r.disjuncts):
            same = [i for i, ref in enumerate(d.refs) if ref.same_count]
            if len(same) >= 2:
                anchors[(ri, di)] = max(same, key=lambda i: (readers[_kind(d.refs[i])], -i))
    while True:
        joined: dict[str, list[tuple[int, int]]] = {}
        for (ri, di), a in anchors.items():
            for i, ref in enumerate(rules[ri].disjuncts[di].refs):
                if i != a and ref.same_count:
                    joined.setdefault(_kind(ref), []).append((ri, di))
        over = [k for k, users in joined.items() if len(users) > JOIN_LIMIT]
        if not over:
            return anchors
        for key in over:
            for rd in joined[key]:
                anchors.pop(rd, None)


def _fan_out(shared: list[tuple[str, dict[str, Any]]]) -> dict[str, int]:
    """Spread the patterns that end on the same alpha node over copies of the fact they match.

    durable_rules lets one alpha node feed at most 256 patterns (ERR_RULE_BETA_LIMIT_EXCEEDED, 108). When more
    patterns than FANOUT_LIMIT read the same finding, summary or phase, every pattern on that kind of fact
    gets a slot test {"g": i} and the runner asserts that fact once per slot. Returns kind key -> slots."""
    uses: dict[str, dict[str, int]] = {}
    for kind, holder in shared:
        chain = json.dumps(holder["$and"], sort_keys=True)
        uses.setdefault(kind, {}).setdefault(chain, 0)
        uses[kind][chain] += 1
    fanout = {kind: -(-max(chains.values()) // FANOUT_LIMIT) for kind, chains in uses.items()}
    fanout = {k: g for k, g in fanout.items() if g > 1}
    counters: dict[str, int] = {}
    for kind, holder in shared:
        if kind in fanout:
            slot = counters.get(kind, 0)
            counters[kind] = slot + 1
            holder["$and"].append({"g": slot % fanout[kind]})
    return dict(sorted(fanout.items()))


# durable_rules keeps at most 16 facts in one match (MAX_MESSAGE_FRAMES in its state.h; beyond it the assert
# fails with ERR_MAX_MESSAGES_IN_FRAME, 304): a rule's findings and its activation fact, one to spare
MAX_REFS = 14
ACTIVATION_BUCKETS = 16
ACTIVATION_PROPS = 40
_JOP = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}


def _ref_tests(ref: Ref) -> list[dict[str, Any]]:
    """The tests a pattern makes of a referenced fact: that it holds or may hold (lenient). Whether it certainly
    holds decides the mode of a match, and the runner reads that from the fact matched (a finding's `st`;
    runtime.ref_matches_summary for a summary)."""
    if ref.kind == "pos":
        return [{"t": "f"}, {"code": ref.code}] + ([{"cid": "*"}] if ref.star else [])
    base = [{"t": "s"}, {"code": ref.code}] + ([] if ref.kind == "neg" and ref.same_count else [{"cid": "*"}])
    if ref.kind == "neg":
        return base + [{"none_p": True}]
    return base + [_count_test(ref)]


def _count_test(ref: Ref) -> dict[str, Any]:
    """That `count op n` may hold: for some number of counts between na (where the code applies) and nap (where it
    applies or is possible), or of separate schemes between na_s and nap_s."""
    n = ref.n
    na, nap = ("na_s", "nap_s") if ref.separate else ("na", "nap")
    if ref.op == "eq":
        return {"$and": [{"$lte": {na: n}}, {"$gte": {nap: n}}]}
    return {_JOP[ref.op]: {nap if ref.op in ("ge", "gt") else na: n}}


def certainty_max(a: str, b: str) -> str:
    return a if CERTAINTY_ORDER.index(a) >= CERTAINTY_ORDER.index(b) else b


def leaves(n: Optional[Node]) -> list[Leaf]:
    if n is None:
        return []
    if isinstance(n, Leaf):
        return [n]
    return [x for k in n.items for x in leaves(k)]
