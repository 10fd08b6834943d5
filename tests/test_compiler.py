"""The compiler: a pure function from packs to a program whose durable_rules form stays inside the safe
subset; authoring mistakes are errors with a location and a suggestion."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from engine.compile.compiler import JOIN_LIMIT, CompileError, _ref_tests, applicable_packs, compile_program
from engine.law.packs import load_all

from .conftest import make_rules

ON = dt.date(2026, 11, 26)


def _walk(node: Any) -> list[Any]:
    out = [node]
    if isinstance(node, dict):
        for v in node.values():
            out += _walk(v)
    elif isinstance(node, list):
        for v in node:
            out += _walk(v)
    return out


@pytest.fixture(scope="module")
def programs(real_packs: Any) -> list[Any]:
    vocab = set(real_packs.vocabulary["elements"])
    lic = set(real_packs.vocabulary["licenses"])
    return [compile_program(applicable_packs(real_packs.packs, j), ON, c, vocab, license_tags=lic)
            for j, c in [("US-CA", 9), ("US-NY", 2), ("US-TX", 5), ("US-FL", 11), ("US", None)]]


def test_every_pattern_starts_with_a_positive_type_test(programs: list[Any]) -> None:
    for prog in programs:
        for name, rule in prog.durable.items():
            for pattern in rule["all"]:
                (alias, test), = pattern.items()
                first = test["$and"][0] if "$and" in test else test
                if name == "__sink" and alias == "b":
                    assert first == {"$ex": {"t": 1}}   # the documented never-firing sink: any typed fact
                    continue
                assert set(first) == {"t"} and isinstance(first["t"], str), (name, alias)


def test_no_or_no_negation_and_only_equality_joins_on_the_count(programs: list[Any]) -> None:
    """Joins are equality tests on the count id, last in their pattern: in the activation pattern, or (a disjunct
    reading two or more findings of one count) in a finding pattern, to the first pattern, the anchor. No
    finding's node carries more join tests than durable_rules' alpha stack holds (compiler.JOIN_LIMIT)."""
    checked = 0
    for prog in programs:
        under: dict[str, int] = {}
        for name, rule in prog.durable.items():
            text = json.dumps(rule)
            assert "$or" not in text and "$not" not in text and "$nex" not in text, name
            first = next(iter(rule["all"][0]))
            for pattern in rule["all"]:
                (alias, test), = pattern.items()
                joins = [n for n in _walk(test) if isinstance(n, dict) and any(isinstance(v, dict) and len(v) == 1
                         and next(iter(v)).startswith("r") and next(iter(v.values())) == "cid" for v in n.values())]
                for j in joins:
                    assert list(j) == ["cid"], name
                if alias != "c" and joins:
                    checked += 1
                    assert joins == [{"cid": {first: "cid"}}] and test["$and"][-1] == joins[0] and alias != first, name
                    key = json.dumps(test["$and"][:2])
                    under[key] = under.get(key, 0) + 1
        assert max(under.values(), default=0) <= JOIN_LIMIT
    assert checked   # the anchored order is in use


def test_sink_and_guard_rules_are_always_present(programs: list[Any]) -> None:
    for prog in programs:
        assert prog.durable["__sink"] == {"all": [{"a": {"t": "__never__"}}, {"b": {"$ex": {"t": 1}}}]}
        assert "__guard" in prog.durable


def test_rules_that_negate_or_count_sit_above_what_they_read_and_one_durable_rule_per_disjunct(programs: list[Any]) -> None:
    """Strata order negation and counting; in durable_rules a rule waits for its summaries (asserted after the lower
    strata's fixpoint), not for a phase fact, and each disjunct that reads a finding is one durable rule whose
    references are all lenient (the runner decides the mode from the facts matched)."""
    for prog in programs:
        producers: dict[str, list[int]] = {}
        for r in prog.rules:
            producers.setdefault(r.produces, []).append(r.stratum)
        for ri, r in enumerate(prog.rules):
            for d in r.disjuncts:
                for ref in d.refs:
                    if ref.kind in ("neg", "count"):
                        assert r.stratum > max(producers.get(ref.code, [-1])), (r.id, ref.code)
            names = [n for n, a in prog.actions.items() if a[0] == ri]
            assert sorted(names) == sorted(f"{r.id}#{di}" for di, d in enumerate(r.disjuncts) if d.refs), r.id
            for name in names:
                d = r.disjuncts[prog.actions[name][1]]
                pats = prog.durable[name]["all"]
                aliases = [next(iter(p)) for p in pats]
                assert sorted(aliases[:-1]) == sorted(f"r{i}" for i in range(len(d.refs))) and aliases[-1] == "c", name
                for p in pats[:-1]:
                    (alias, test), = p.items()
                    tests = [t for t in test["$and"] if "g" not in t and not isinstance(t.get("cid"), dict)]   # less slot and join
                    assert tests == _ref_tests(d.refs[int(alias[1:])]), name
        phase_readers = [n for n, rule in prog.durable.items() for p in rule["all"] for v in p.values()
                         if {"t": "phase"} in v.get("$and", [])]
        assert phase_readers == ["__guard"]


def test_compilation_is_a_pure_function(real_packs: Any) -> None:
    vocab = set(real_packs.vocabulary["elements"])
    a = compile_program(applicable_packs(real_packs.packs, "US-CA"), ON, 9, vocab)
    b = compile_program(applicable_packs(real_packs.packs, "US-CA"), ON, 9, vocab)
    assert a.digest == b.digest and a.durable == b.durable


def _compile(tmp: Path, rules: str) -> None:
    ps = load_all(make_rules(tmp, rules))
    assert ps.problems == []
    compile_program(ps.packs, ON, 9, set(ps.vocabulary["elements"]))


RULE = """\
rules:
  - id: t.chain.{id}
    title: A test rule
    status: draft
    certainty: clear
    scope: {scope}
    citations: [{{cite: "8 U.S.C. § 1101(a)(48)(A)"}}]
    when: {when}
    then: {{code: {code}, kind: classification, domain: immigration, severity: info, title: Test, summary: Test rule, explanation: Test rule}}
"""


def rule(id: str, when: str, code: str = "imm.cimt", scope: str = "count") -> str:
    return RULE.format(id=id, when=when, code=code, scope=scope).split("rules:\n", 1)[1]


@pytest.mark.parametrize("when, message", [
    ("{fact: count.dispositon, eq: conviction}", "unknown fact 'count.dispositon' (did you mean 'count.disposition'?)"),
    ("{fact: count.disposition, eqq: conviction}", "unknown operator 'eqq'; expected one of eq, ne, lt, le, gt, ge, in, not_in, has, has_any, has_all, known, starts_with (did you mean 'eq'?)"),
    ("{fact: count.disposition, eq: convicted}", "'convicted' is not a value of count.disposition"),
    ("{fact: count.offense.elements, has: thef}", "unknown element tag 'thef' (did you mean 'theft'?)"),
    ("{finding: imm.cmt}", "no rule concludes the code 'imm.cmt' (did you mean 'imm.cimt'?)"),
    ("{fact: count.sentence.custody_days, ge: {param: nope}}", "unknown parameter 'nope' in pack t.chain"),
])
def test_authoring_mistakes_name_the_rule_line_and_fix(tmp_path: Path, when: str, message: str) -> None:
    with pytest.raises(CompileError) as exc:
        _compile(tmp_path, "rules:\n" + rule("bad", when))
    text = str(exc.value)
    assert message in text
    assert "chain.rules.yaml:" in text and "t.chain.bad: when" in text


def test_a_cycle_between_rules_is_an_error(tmp_path: Path) -> None:
    rules = "rules:\n" + rule("a", "{finding: imm.crime_of_violence}", "imm.cimt") + rule("b", "{finding: imm.cimt}", "imm.crime_of_violence")
    with pytest.raises(CompileError, match="rules depend on each other in a cycle"):
        _compile(tmp_path, rules)


def test_a_count_fact_in_an_option_rule_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match="is a count fact; only a rule with scope: count can read it"):
        _compile(tmp_path, "rules:\n" + rule("opt", "{fact: count.disposition, eq: conviction}", scope="option"))
