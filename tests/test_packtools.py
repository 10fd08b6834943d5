"""The pack-test oracle itself (`engine.author.packtools.run_test`): deliberately failing fixture tests, each with the
exact failure message, a passing one (so a runner that always answered "no failures", or always failed, is
caught), strict mode with `ignore`, `todo` codes, `unfired_rules`, and the exit code of `collateral packs test`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main
from engine.author.packtools import PackTest, collect_tests, iter_results, run_test, unfired_rules
from engine.explain.evaluate import Engine
from engine.law.packs import load_all

from .conftest import make_rules

RULES = """\
rules:
  - id: t.chain.cimt
    title: CIMT
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "8 U.S.C. § 1227(a)(2)(A)(i)"}]
    when: {fact: count.offense.cimt, eq: true}
    then: {code: imm.cimt, kind: classification, domain: immigration, severity: high, title: CIMT, summary: "sum", explanation: "why"}
  - id: t.chain.theft-af
    title: Theft aggravated felony
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "8 U.S.C. § 1101(a)(43)(G)"}]
    when:
      all:
        - fact: count.offense.elements
          has: theft
        - fact: count.sentence.custody_days
          ge: {param: term_days}
    then: {code: imm.aggravated_felony.G, kind: classification, domain: immigration, severity: critical,
           title: Theft AF, summary: "sum", explanation: "why"}
  - id: t.chain.fine
    title: The fine
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 1(a)"}]
    when: {fact: count.sentence.fine, gt: 0}
    then: {code: fines.base_fine, kind: consequence, domain: fines, severity: medium, title: "Fine",
           summary: "A fine", explanation: "The fine imposed", amount: {fact: count.sentence.fine}}
  - id: t.chain.arson
    title: Arson (no test makes it fire)
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "8 U.S.C. § 1101(a)(43)(E)"}]
    when: {fact: count.offense.elements, has: arson}
    then: {code: imm.aggravated_felony.E, kind: classification, domain: immigration, severity: critical,
           title: Arson AF, summary: "sum", explanation: "why"}
"""
PARAMS = """\
parameters:
  term_days:
    description: term
    unit: days
    values:
      - {from: 1996-09-30, value: 365, cite: "8 U.S.C. § 1101(a)(43)(G)"}
"""
# a second pack: its findings are not the business of t.chain's tests, even in strict mode
OTHER_MANIFEST = """\
id: t.other
title: Another pack
jurisdiction: US
domain: employment
version: 1.0.0
current_through: 2026-01-01
maintainers: [tests]
"""
OTHER_RULES = """\
rules:
  - id: t.other.screen
    title: Background screening
    status: reviewed
    certainty: clear
    scope: count
    citations: [{cite: "Test Code § 2(b)"}]
    when: {fact: count.offense.elements, has: theft}
    then: {code: employment.background_check, kind: consequence, domain: employment, severity: low,
           title: Screening, summary: "sum", explanation: "why"}
"""
DEFAULTS = """\
defaults:
  case:
    format: 1
    jurisdiction: US-TX
    as_of: 2026-11-26
    client: {immigration: {status: lpr, admission_date: 2010-01-01}}
    options:
      - id: offer
        counts:
          - offense: {statute: TEST, elements: [theft], cimt: true}
            committed_on: 2026-01-01
            sentence: {custody_days: 365, fine: 100}
tests:
"""
TESTS = DEFAULTS + """\
  - name: "passes: every expectation holds"
    case: {}
    expect:
      offer:
        applies: [imm.cimt, imm.aggravated_felony.G, fines.base_fine]
        absent: [imm.aggravated_felony.E]
        amounts: {fines.base_fine: 100}
        total: 100
  - name: "fails: an expected code is not found at all"
    case: {}
    expect: {offer: {applies: [imm.deportable.cimt]}}
  - name: "fails: possible where applies is expected"
    case:
      options: [{id: offer, counts: [{offense: {statute: TEST, elements: [theft]}, committed_on: 2026-01-01,
                                      sentence: {custody_days: 30, fine: 0}}]}]
    expect: {offer: {applies: [imm.cimt]}}
  - name: "fails: applies where possible is expected"
    case: {}
    expect: {offer: {possible: [imm.cimt]}}
  - name: "fails: an absent code fires"
    case: {}
    expect: {offer: {absent: [imm.aggravated_felony.G]}}
  - name: "fails: a wrong amount, and an amount on a code that has none"
    case: {}
    expect: {offer: {amounts: {fines.base_fine: 99.5, imm.cimt: 1}}}
  - name: "passes: amounts add up over the counts"
    case:
      options: [{id: offer, counts: [{offense: {statute: TEST, elements: [theft], cimt: false}, committed_on: 2026-01-01,
                                      sentence: {custody_days: 30, fine: 100}},
                                     {offense: {statute: TEST, elements: [theft], cimt: false}, committed_on: 2026-01-01,
                                      sentence: {custody_days: 30, fine: 50}}]}]
    expect: {offer: {amounts: {fines.base_fine: 150}, total: 150}}
  - name: "fails: a wrong financial total"
    case: {}
    expect: {offer: {total: 250}}
  - name: "fails: an option the case does not have"
    case: {}
    expect: {counter: {applies: [imm.cimt]}}
  - name: "fails: the case in the test is invalid"
    case:
      options:
        - id: offer
          counts:
            - offense: {statute: TEST, elements: [theft], cimt: true}
              committed_on: 2026-01-01
              plea: guilt
    expect: {offer: {applies: [imm.cimt]}}
  - name: "strict: names only one of the pack's findings"
    case: {}
    expect: {offer: {applies: [imm.cimt]}}
  - name: "strict: the others are listed under ignore"
    case: {}
    expect: {offer: {applies: [imm.cimt], ignore: [imm.aggravated_felony.G, fines.base_fine]}}
  - name: "todo: a known gap that the rules do not produce yet"
    case: {}
    expect: {offer: {applies: [imm.cimt], todo: [imm.deportable.cimt]}}
  - name: "todo: a code listed as todo that now fires"
    case: {}
    expect: {offer: {todo: [imm.cimt]}}
"""


def build(tmp: Path, tests: str = TESTS) -> Path:
    root = make_rules(tmp, RULES, PARAMS, {"chain.test.yaml": tests})
    other = root / "t" / "other"
    other.mkdir()
    (other / "pack.yaml").write_text(OTHER_MANIFEST)
    (other / "other.rules.yaml").write_text(OTHER_RULES)
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("packtools"))


@pytest.fixture(scope="module")
def suite(root: Path) -> tuple[Any, Engine, dict[str, PackTest]]:
    ps = load_all(root)
    assert ps.problems == []
    tests, problems = collect_tests(ps)
    assert problems == []
    return ps, Engine(ps, "plain"), {t.name: t for t in tests}


def failures(suite: tuple[Any, Engine, dict[str, PackTest]], name: str, strict: bool = False) -> list[str]:
    _ps, engine, tests = suite
    return run_test(engine, tests[name], strict=strict)


def test_a_test_whose_expectations_hold_has_no_failures(suite: Any) -> None:
    assert failures(suite, "passes: every expectation holds") == []
    assert failures(suite, "passes: amounts add up over the counts") == []


def test_an_expected_code_that_is_not_found(suite: Any) -> None:
    assert failures(suite, "fails: an expected code is not found at all") == [
        "offer: expected imm.deportable.cimt to apply; got nothing"]


def test_possible_is_not_applies(suite: Any) -> None:
    assert failures(suite, "fails: possible where applies is expected") == [
        "offer: expected imm.cimt to apply; got ['possible']"]


def test_applies_is_not_possible(suite: Any) -> None:
    assert failures(suite, "fails: applies where possible is expected") == [
        "offer: expected imm.cimt to be possible; got ['applies']"]


def test_an_absent_code_that_fires(suite: Any) -> None:
    assert failures(suite, "fails: an absent code fires") == [
        "offer: expected no imm.aggravated_felony.G; got ['applies']"]


def test_a_wrong_amount(suite: Any) -> None:
    assert failures(suite, "fails: a wrong amount, and an amount on a code that has none") == [
        "offer: expected fines.base_fine to amount to 99.50; got 100.00",
        "offer: expected imm.cimt to amount to 1.00; got no amount"]


def test_a_wrong_total(suite: Any) -> None:
    assert failures(suite, "fails: a wrong financial total") == [
        "offer: expected a financial total of 250.00; got 100.00"]


def test_an_unknown_option(suite: Any) -> None:
    assert failures(suite, "fails: an option the case does not have") == ["no option 'counter' in the case"]


def test_an_invalid_case_names_the_file_line_and_field(suite: Any) -> None:
    pt = suite[2]["fails: the case in the test is invalid"]
    line = TESTS.splitlines().index("              plea: guilt") + 1
    assert failures(suite, pt.name) == [
        f"the test's case file is invalid: {pt.file}:{line}: options[0].counts[0].plea: 'guilt' is not valid; "
        "expected one of: guilty, nolo_contendere, alford, trial (did you mean 'guilty'?)"]


def test_strict_mode_names_each_unexpected_finding_of_the_pack_under_test(suite: Any) -> None:
    name = "strict: names only one of the pack's findings"
    assert failures(suite, name) == []                       # strict is off by default
    # t.other's employment.background_check fires too, but it is another pack's finding
    assert failures(suite, name, strict=True) == [
        "offer: strict: fines.base_fine (applies) is not named by the test; add it to applies or possible, or to ignore if it is irrelevant here",
        "offer: strict: imm.aggravated_felony.G (applies) is not named by the test; add it to applies or possible, or to ignore if it is irrelevant here"]


def test_strict_mode_accepts_codes_listed_under_ignore_or_named_anywhere(suite: Any) -> None:
    assert failures(suite, "strict: the others are listed under ignore", strict=True) == []
    assert failures(suite, "passes: every expectation holds", strict=True) == []
    assert failures(suite, "passes: amounts add up over the counts", strict=True) == []   # named by amounts


def test_a_todo_code_passes_while_absent_and_fails_once_it_fires(suite: Any) -> None:
    assert failures(suite, "todo: a known gap that the rules do not produce yet") == []
    assert failures(suite, "todo: a known gap that the rules do not produce yet", strict=True) == [
        "offer: strict: fines.base_fine (applies) is not named by the test; add it to applies or possible, or to ignore if it is irrelevant here",
        "offer: strict: imm.aggravated_felony.G (applies) is not named by the test; add it to applies or possible, or to ignore if it is irrelevant here"]
    assert failures(suite, "todo: a code listed as todo that now fires") == [
        "offer: imm.cimt: todo code now fires (applies): promote it to applies"]


def test_fired_and_unfired_rules(suite: Any) -> None:
    ps, engine, tests = suite
    fired: set[str] = set()
    run_test(engine, tests["fails: possible where applies is expected"], fired)
    assert fired == {"t.chain.cimt", "t.other.screen"}      # a `possible` finding counts as fired
    assert unfired_rules(ps, fired) == ["t.chain.arson", "t.chain.fine", "t.chain.theft-af"]
    fired = set()
    results = list(iter_results(engine, list(tests.values()), fired))
    assert unfired_rules(ps, fired) == ["t.chain.arson"]
    assert sum(1 for _pt, f in results if f == []) == 5
    assert unfired_rules(ps, set()) == ["t.chain.arson", "t.chain.cimt", "t.chain.fine", "t.chain.theft-af", "t.other.screen"]


def _invoke(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout


def test_cli_packs_test_exits_1_and_prints_each_failure(root: Path, suite: Any) -> None:
    code, out = _invoke("packs", "test", "--rules", str(root), "--evaluator", "plain")
    assert code == 1
    lines = out.splitlines()
    pt = suite[2]["fails: an absent code fires"]
    i = lines.index(f"FAIL {pt.file}:{pt.line}: {pt.name}")
    assert lines[i + 1] == "     offer: expected no imm.aggravated_felony.G; got ['applies']"
    assert "UNTESTED t.chain.arson: no test case makes this rule fire" in lines
    assert lines[-1] == "5 passed, 9 failed"


def test_cli_packs_test_passes_and_strict_fails_the_same_pack(tmp_path: Path) -> None:
    ok = build(tmp_path, DEFAULTS + """\
  - name: "the chain, naming only the CIMT"
    case: {}
    expect: {offer: {applies: [imm.cimt]}}
  - name: "arson, named in full"
    case:
      options: [{id: offer, counts: [{offense: {statute: TEST, elements: [arson], cimt: false}, committed_on: 2026-01-01,
                                      sentence: {custody_days: 30, fine: 0}}]}]
    expect: {offer: {applies: [imm.aggravated_felony.E]}}
""")
    code, out = _invoke("packs", "test", "--rules", str(ok), "--evaluator", "plain")
    assert (code, out.splitlines()[-1]) == (0, "2 passed, 0 failed")
    code, out = _invoke("packs", "test", "--rules", str(ok), "--evaluator", "plain", "--strict")
    assert code == 1
    assert out.splitlines()[-1] == "1 passed, 1 failed"
    assert "     offer: strict: imm.aggravated_felony.G (applies) is not named by the test; add it to applies or possible, " \
           "or to ignore if it is irrelevant here" in out.splitlines()


def test_the_suite_caches_in_a_temporary_folder_not_the_users(temporary_cache: Path) -> None:
    from engine.model.yamlsrc import cache_dir
    assert cache_dir() == temporary_cache
    assert Path.home() / ".cache" not in temporary_cache.parents
    load_all()
    assert any(temporary_cache.glob("*.json"))


def test_a_misspelt_expectation_names_the_valid_ones_and_the_nearest(tmp_path: Path) -> None:
    root = build(tmp_path, DEFAULTS + """\
  - name: "a tired author's expectation"
    case: {}
    expect: {offer: {not_applies: [imm.cimt]}}
""")
    _tests, problems = collect_tests(load_all(root))
    assert [(p.field, p.message, p.suggestion) for p in problems] == [
        ("tests[0].expect.offer.not_applies", "unknown field; expected one of: applies, possible, absent, amounts, total, ignore, todo",
         "applies")]
