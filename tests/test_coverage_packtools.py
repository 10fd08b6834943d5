"""`packs check` (engine/packtools.check) on a pack with one mistake of each kind, each reported with the exact
message, as an error or a warning; and the pack-test collector on test files that cannot be read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engine.author.packtools import CODE_PREFIXES, check, collect_tests, deep_merge
from engine.law.packs import load_all

from .conftest import make_rules

RULE = """\
  - id: {id}
    title: A test rule
    status: reviewed
    certainty: clear
    scope: count
    citations: [{{cite: "{cite}"}}]
    {effective}when: {when}
    then: {{code: {code}, kind: classification, domain: immigration, severity: info, title: Test, summary: Test rule,
           explanation: Test rule}}
"""


def rule(id: str, code: str, when: str = "{fact: count.offense.cimt, eq: true}", cite: str = "8 U.S.C. § 1227(a)(2)(A)(i)",
         effective: str = "") -> str:
    return RULE.format(id=id, code=code, when=when, cite=cite, effective=f"effective: {effective}\n    " if effective else "")


LATE = """\
parameters:
  late:
    description: a threshold first enacted in 2000
    unit: days
    values:
      - {from: 2000-01-01, value: 30, cite: "Test Code § 7 (2000)"}
"""
TESTED = """\
tests:
  - name: names some codes
    case: {format: 1, jurisdiction: US, options: [{id: o, counts: [{offense: {statute: T}}]}]}
    expect:
      o: {applies: [imm.cimt], possible: [imm.novel], absent: [misc.thing]}
  - name: a second test
    case: {}
    expect: {o: {absent: [imm.late_a]}}
"""
CATALOG_MANIFEST = """\
id: t.offenses
title: Test catalog
jurisdiction: US-TX
domain: offenses
version: 1.0.0
current_through: 2026-01-01
maintainers: [tests]
"""
CATALOG = """\
offenses:
  - statute: "TC 1"
    aliases: ["TC 2"]
    citation: "Test Code § 1"
    elements: [theft, thef]
  - statute: "TC 2"
    citation: "Test Code § 2"
    divisible: true
  - statute: "TC 3"
    citation: "Test Code § 3"
    prongs: [{id: a, elements: [theft]}]
  - statute: "TC 4"
    citation: "Test Code § 4"
    divisible: true
    prongs: [{id: a, elements: [burglry]}, {id: a}]
"""


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    tmp = tmp_path_factory.mktemp("check")
    rules = "rules:\n" + "".join([
        rule("t.chain.ok", "imm.cimt"),
        rule("t.chain.novel", "imm.novel", cite="Matter of Test"),
        rule("other.prefix", "imm.cimt"),
        rule("t.chain.misc", "misc.thing"),
        rule("t.chain.late-a", "imm.late_a", when="{fact: count.sentence.custody_days, ge: {param: late}}"),
        rule("t.chain.late-b", "imm.late_b", when="{fact: count.sentence.custody_days, ge: {param: late}}",
             effective="{from: 1995-01-01}"),
        rule("t.chain.late-c", "imm.late_c", when="{fact: count.sentence.custody_days, ge: {param: late}}",
             effective="{from: 2000-01-01}"),
        rule("t.chain.typo", "imm.typo", when="{fact: count.sentence.custody_days, ge: {param: lat}}"),
    ])
    second = "rules:\n" + rule("t.chain.ok", "imm.cimt")
    root = make_rules(tmp, rules, LATE, {"second.rules.yaml": second, "chain.test.yaml": TESTED})
    cat = root / "t" / "offenses"
    cat.mkdir()
    (cat / "pack.yaml").write_text(CATALOG_MANIFEST)
    (cat / "catalog.yaml").write_text(CATALOG)
    questions = (root / "questions.yaml").read_text()
    (root / "questions.yaml").write_text("\n".join(x for x in questions.splitlines() if not x.startswith("  client.age:")) + "\n")
    errors, warnings = check(load_all(root), dt.date(2026, 11, 26))
    strip = str(root) + "/"
    return [str(p).replace(strip, "") for p in errors], [str(p).replace(strip, "") for p in warnings]


def _messages(found: list[str]) -> list[str]:
    """file:line: field: message -> field: message (the lines are checked apart)."""
    return [x.split(": ", 1)[1] for x in found]


def test_a_fact_without_a_question_is_an_error(checked: tuple[list[str], list[str]]) -> None:
    assert "rules/questions.yaml:1: client.age: fact has no question for when it is unknown" in [
        x.replace(x.split("rules/questions.yaml")[0], "") for x in checked[0]]


def test_rule_ids_must_be_unique_and_start_with_the_pack_id(checked: tuple[list[str], list[str]]) -> None:
    errors = _messages(checked[0])
    dup = [e for e in errors if "duplicate rule id" in e]
    assert len(dup) == 1 and dup[0].startswith("t.chain.ok: duplicate rule id (also in ") and dup[0].endswith("chain.rules.yaml)")
    assert "other.prefix: rule id must start with the pack id 't.chain.'" in errors


def test_an_unknown_code_prefix_is_an_error_and_a_new_immigration_code_a_warning(checked: tuple[list[str], list[str]]) -> None:
    assert f"t.chain.misc: then.code: unknown code prefix 'misc'; expected one of {', '.join(sorted(CODE_PREFIXES))}" in _messages(checked[0])
    assert ("t.chain.novel: then.code: 'imm.novel' is not one of the fixed immigration codes of the result format; "
            "it is a pack extension") in _messages(checked[1])


def test_a_citation_without_a_pinpoint_is_a_warning(checked: tuple[list[str], list[str]]) -> None:
    assert [w for w in _messages(checked[1]) if "pinpoint" in w] == [
        "t.chain.novel: citations: 'Matter of Test' has no pinpoint (section, subsection or page)"]


def test_a_rule_in_force_before_its_parameter_has_a_value_is_an_error(checked: tuple[list[str], list[str]]) -> None:
    errors = _messages(checked[0])
    assert [e for e in errors if "has no value before" in e] == [
        "t.chain.late-a: parameter 'late' has no value before 2000-01-01, but the rule is in force from the beginning; "
        "give the rule effective: {from: 2000-01-01} or the parameter an earlier value",
        "t.chain.late-b: parameter 'late' has no value before 2000-01-01, but the rule is in force from 1995-01-01; "
        "give the rule effective: {from: 2000-01-01} or the parameter an earlier value"]
    # an unknown parameter is the compiler's to report, once, with its suggestion
    assert [e for e in errors if "'lat'" in e] == [
        "t.chain.typo: when.ge: unknown parameter 'lat' in pack t.chain (did you mean 'late'?)"]


def test_a_rule_whose_code_no_test_names_is_an_error(checked: tuple[list[str], list[str]]) -> None:
    untested = sorted(e for e in _messages(checked[0]) if "no test names" in e)
    assert untested == ["t.chain.late-b: no test names its code imm.late_b", "t.chain.late-c: no test names its code imm.late_c",
                        "t.chain.typo: no test names its code imm.typo"]


def test_catalog_mistakes(checked: tuple[list[str], list[str]]) -> None:
    cat = [e for e in checked[0] if e.startswith("t/offenses/catalog.yaml")]
    assert sorted(m for m in _messages(cat) if m.startswith("TC ")) == [
        "TC 1: elements: unknown element tag 'thef' (did you mean 'theft'?)",
        "TC 2: divisible: true needs prongs",
        "TC 2: statute key 'TC 2' is also used by entry 1",
        "TC 3: prongs given but divisible is not true",
        "TC 4: elements: unknown element tag 'burglry' (did you mean 'burglary'?)",
        "TC 4: prong ids must be unique",
    ]


def test_test_files_that_cannot_be_read_are_problems_not_tests(tmp_path: Path) -> None:
    good = """\
    tests:
      - name: a fine test
        case: {format: 1, jurisdiction: US, options: [{id: o, counts: [{offense: {statute: T}}]}]}
        expect: {o: {absent: [imm.cimt]}}
    """
    root = make_rules(tmp_path, "rules:\n" + rule("t.chain.ok", "imm.cimt"), extra={
        "a.test.yaml": "tests: [\n", "b.test.yaml": "tests:\n  - nme: typo\n", "c.test.yaml": good})
    tests, problems = collect_tests(load_all(root))
    assert [t.name for t in tests] == ["a fine test"]
    assert [(Path(p.file).name, p.line, p.field, p.message) for p in problems] == [
        ("a.test.yaml", 2, "", "not valid YAML: did not find expected node content"),
        ("b.test.yaml", 2, "tests[0].name", "required field is missing"),
        ("b.test.yaml", 2, "tests[0].case", "required field is missing"),
        ("b.test.yaml", 2, "tests[0].expect", "required field is missing"),
        ("b.test.yaml", 2, "tests[0].nme", "unknown field; expected one of: name, case, expect")]
    # an unreadable test file names no codes: the rule is untested
    errors, _ = check(load_all(root), dt.date(2026, 11, 26))
    assert any(p.message == "no test names its code imm.cimt" for p in errors) is False   # c.test.yaml names it
    (root / "t" / "chain" / "c.test.yaml").unlink()
    errors, _ = check(load_all(root), dt.date(2026, 11, 26))
    assert [p.message for p in errors if p.field == "t.chain.ok"] == ["no test names its code imm.cimt"]


def test_deep_merge_overrides_leaves_and_keeps_the_rest() -> None:
    base: dict[str, Any] = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    over: dict[str, Any] = {"a": {"c": [3]}, "e": {"f": 1}}
    merged = deep_merge(base, over)
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {"f": 1}}
    merged["e"]["f"] = 2
    assert over["e"]["f"] == 1
    assert deep_merge(base, None) is None
