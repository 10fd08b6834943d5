"""durable_rules joins at most 16 facts in a match: a rule reading more findings than that is an authoring
error at compile time (never a crash at run time), and the widest allowed rule gives the same result in both
evaluators."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.compile.compiler import MAX_REFS, CompileError
from engine.explain.evaluate import Engine
from engine.law.packs import load_all

from .conftest import case, make_rules


def _rules(n: int) -> str:
    out = "rules:\n"
    for i in range(n):
        out += f"""  - id: t.chain.c{i}
    title: code {i}
    status: draft
    certainty: clear
    scope: count
    citations: [{{cite: "X § {i}(a)"}}]
    when: {{fact: count.offense.elements, has: theft}}
    then: {{code: imm.c{i}, kind: classification, domain: immigration, severity: info, title: ttt{i}, summary: sss, explanation: eee}}
"""
    nots = "\n".join(f"        - not: {{finding: imm.c{i}, any_count: true}}" for i in range(n))
    return out + f"""  - id: t.chain.none
    title: none of them
    status: draft
    certainty: clear
    scope: option
    citations: [{{cite: "X § 99(a)"}}]
    when:
      all:
{nots}
    then: {{code: imm.none, kind: classification, domain: immigration, severity: info, title: none, summary: sss, explanation: eee}}
"""


CASE = {"format": 1, "jurisdiction": "US-CA", "as_of": "2026-01-01",
        "options": [{"id": "o", "counts": [{"offense": {"statute": "T", "elements": ["trespass"]}}]}]}


def test_the_widest_rule_the_engine_can_join_runs_the_same_in_both_evaluators(tmp_path: Path) -> None:
    ps = load_all(make_rules(tmp_path, _rules(MAX_REFS)))
    for evaluator in ("durable", "plain"):
        codes = [f["code"] for f in Engine(ps, evaluator).advise(case(CASE))["options"][0]["findings"]]
        assert codes == ["imm.none"], evaluator


def test_a_rule_reading_more_findings_is_an_authoring_error(tmp_path: Path) -> None:
    ps = load_all(make_rules(tmp_path, _rules(MAX_REFS + 1)))
    with pytest.raises(CompileError, match=rf"t\.chain\.none: when: a branch of this condition reads {MAX_REFS + 1} findings"):
        Engine(ps, "durable").advise(case(CASE))
