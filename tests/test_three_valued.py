"""The one three-valued evaluator, checked exhaustively over a small domain: condition trees against Kleene's
logic written out by hand, and the summary tests on findings (negation, counting, separate schemes) in their
Python form against their durable_rules JSON form."""

from __future__ import annotations

import itertools
from typing import Any, Optional

import pytest

from engine.compile.compiler import COUNT_OPS, Leaf, Ref, Tree, _ref_tests
from engine.run.runtime import Trace, _separate_bounds, compile_check, ref_matches_summary

# leaves over keys k0..k2: each key is true, false or absent in the fact; a leaf may carry a silent-record value
LEAVES = [Leaf("cnt", f"k{i}", "eq", True, (f"p{i}",), dflt) for i in range(3) for dflt in (None, True, False)]
VALUES: list[Optional[bool]] = [True, False, None]   # None: the key is absent


def kleene(n: Any, fact: dict[str, Any]) -> Optional[bool]:
    """Kleene's strong three-valued logic, written independently of engine.run.runtime."""
    if isinstance(n, Leaf):
        if n.key not in fact:
            return n.dflt
        return fact[n.key] == n.value
    vals = [kleene(k, fact) for k in n.items]
    if n.op == "all":
        return False if False in vals else (None if None in vals else True)
    return True if True in vals else (None if None in vals else False)


def trees() -> list[Any]:
    out: list[Any] = list(LEAVES)
    for op in ("all", "any"):
        for a, b in itertools.combinations(LEAVES, 2):
            out.append(Tree(op, (a, b)))
            for c in LEAVES[::4]:
                out.append(Tree("any" if op == "all" else "all", (Tree(op, (a, b)), c)))
    return out


def facts() -> list[dict[str, Any]]:
    out = []
    for combo in itertools.product(VALUES, repeat=3):
        out.append({f"k{i}": v for i, v in enumerate(combo) if v is not None})
    return out


@pytest.mark.parametrize("tree", trees(), ids=lambda t: repr(t)[:60])
def test_the_compiled_check_is_kleene_logic_with_its_trace(tree: Any) -> None:
    check = compile_check(tree)
    for fact in facts():
        want = kleene(tree, fact)
        assert check(fact) is want, fact
        tr = Trace()
        assert check(fact, tr) is want, fact
        # an unknown result names the facts that left it open, a known one names none
        assert bool(tr.missing) == (want is None), (fact, tr.missing)
        # the facts a burden decided are among the absent ones
        absent = {f"p{i}" for i in range(3) if f"k{i}" not in fact}
        assert tr.resolved <= absent and tr.missing <= absent


def _json_holds(test: Any, fact: dict[str, Any]) -> bool:
    """A tiny interpreter of the durable_rules test forms the compiler emits ($and, $lt, $lte, $gt, $gte,
    equality)."""
    if isinstance(test, list):
        return all(_json_holds(t, fact) for t in test)
    (key, value), = test.items()
    if key == "$and":
        return all(_json_holds(t, fact) for t in value)
    ops = {"$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b, "$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b}
    if key in ops:
        (field, bound), = value.items()
        return bool(ops[key](fact[field], bound))
    return bool(fact.get(key) == value)


def _summary(na: int, nap: int, na_s: int, nap_s: int) -> dict[str, Any]:
    st = "a" if na else ("p" if nap else "n")
    return {"t": "s", "code": "x", "cid": "*", "st": st, "none_a": st == "n", "none_p": st != "a",
            "na": na, "nap": nap, "na_s": na_s, "nap_s": nap_s}


OPS = {"lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
       "eq": lambda a, b: a == b}


@pytest.mark.parametrize("op", COUNT_OPS)
@pytest.mark.parametrize("separate", [False, True])
def test_count_summaries_mean_the_same_in_python_and_in_durable_rules(op: str, separate: bool) -> None:
    """The number of counts (or schemes) with the code lies between na and nap: `count op n` certainly holds when it
    holds for every number in that range (Python decides the mode of a match from it), and may hold when it holds
    for one of them (the durable_rules pattern tests that)."""
    for n, na, extra, na_s, extra_s in itertools.product(range(4), range(4), range(3), range(4), range(3)):
        s = _summary(na, na + extra, na_s, na_s + extra_s)
        ref = Ref("count", "x", False, op, n, separate=separate)
        low, high = (na_s, na_s + extra_s) if separate else (na, na + extra)
        strict, lenient = ref_matches_summary(ref, s, False), ref_matches_summary(ref, s, True)
        assert strict == all(OPS[op](x, n) for x in range(low, high + 1)), (n, s)
        assert lenient == any(OPS[op](x, n) for x in range(low, high + 1)), (n, s)
        assert _json_holds(_ref_tests(ref), s) == lenient, (n, s)


def test_negation_summaries_mean_the_same_in_python_and_in_durable_rules() -> None:
    for na, extra in itertools.product(range(3), range(3)):
        s = _summary(na, na + extra, 0, 0)
        ref = Ref("neg", "x", False)
        strict, lenient = ref_matches_summary(ref, s, False), ref_matches_summary(ref, s, True)
        assert strict == (na + extra == 0) and lenient == (na == 0)
        assert _json_holds(_ref_tests(ref), s) == lenient


@pytest.mark.parametrize("applying,possible,keys,expected", [
    # two counts on different days: two schemes (Adetiba)
    (["0", "1"], [], {"0": (None, 1), "1": (None, 2)}, (2, 2)),
    # the same day, no scheme in the record: one at least, two at most (Islam)
    (["0", "1"], [], {"0": (None, 1), "1": (None, 1)}, (1, 2)),
    # the record gives one scheme for both, or two
    (["0", "1"], [], {"0": ("a", 1), "1": ("a", 1)}, (1, 1)),
    (["0", "1"], [], {"0": ("a", 1), "1": ("b", 1)}, (2, 2)),
    # a possible count raises only the upper bound; an unknown date may coincide with a known one
    (["0"], ["1"], {"0": (None, 1), "1": (None, 2)}, (1, 2)),
    (["0", "1"], [], {"0": (None, 1), "1": (None, None)}, (1, 2)),
    ([], [], {}, (0, 0)),
])
def test_separate_schemes_are_bounded_from_the_record_and_the_dates(applying: list[str], possible: list[str],
                                                                     keys: dict[str, Any], expected: tuple[int, int]) -> None:
    assert _separate_bounds(applying, possible, keys) == expected
