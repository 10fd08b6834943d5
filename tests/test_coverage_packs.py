"""Loading rule packs (engine/law/packs.py): a broken file is a problem with its file, line and field, never a
silently smaller rule set; the rest of the pack and the other packs still load; a jurisdiction filter keeps
the federal packs and any pack it cannot read (so that the full load reports it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.law.packs import load_all

from .conftest import MANIFEST, make_rules

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
"""


def rel(root: Path, problems: Sequence[object]) -> list[str]:
    return [str(p).replace(str(root) + "/", "") for p in problems]


def test_each_broken_file_is_a_problem_and_the_rest_of_the_pack_loads(tmp_path: Path) -> None:
    root = make_rules(tmp_path, RULES, extra={
        "notes.yaml": "a: 1\n",
        "broken.rules.yaml": "rules:\n  - id: t.chain.x\n    title: [unclosed\n",
        "bad.rules.yaml": "rules:\n  - id: t.chain.y\n    title: Y rule\n    status: final\n",
        "parameters.yaml": "parameters:\n  p: {description: d, unit: furlongs, values: [{from: 2000-01-01, value: 1, cite: C § 1}]}\n",
        "derived.yaml": "derived:\n  - {path: Count.x, description: a fact, value: 1, cite: C § 2}\n",
    })
    ps = load_all(root)
    (pack,) = ps.packs
    assert [lr.rule.id for lr in pack.rules] == ["t.chain.cimt"]
    assert pack.parameters == {} and pack.derived == []
    problems = rel(root, ps.problems)
    assert "t/chain/notes.yaml:1: unexpected file in a pack; expected pack.yaml, parameters.yaml, derived.yaml, catalog.yaml, " \
           "*.rules.yaml or *.test.yaml" in problems
    assert any(p.startswith("t/chain/broken.rules.yaml:") and "not valid YAML" in p for p in problems)
    assert any(p.startswith("t/chain/bad.rules.yaml:4: rules[0].status: 'final' is not valid; expected one of: draft, reviewed")
               for p in problems)
    assert any(p.startswith("t/chain/bad.rules.yaml:2: rules[0].certainty: required field is missing") for p in problems)
    assert any(p.startswith("t/chain/parameters.yaml:2: parameters.p.unit: 'furlongs' is not valid; expected one of: days")
               for p in problems)
    assert any(p.startswith("t/chain/derived.yaml:2: derived[0].path: String should match pattern") for p in problems)


def test_a_pack_whose_manifest_is_broken_is_not_loaded_and_says_why(tmp_path: Path) -> None:
    root = make_rules(tmp_path, RULES)
    bad = root / "t" / "bad"
    bad.mkdir()
    (bad / "pack.yaml").write_text(MANIFEST.replace("id: t.chain\n", ""))
    unreadable = root / "t" / "unreadable"
    unreadable.mkdir()
    (unreadable / "pack.yaml").write_text("id: [t.unreadable\n")
    ps = load_all(root)
    assert [p.id for p in ps.packs] == ["t.chain"]
    problems = rel(root, ps.problems)
    assert "t/bad/pack.yaml:1: id: required field is missing" in problems
    assert any(p.startswith("t/unreadable/pack.yaml:") and "not valid YAML" in p for p in problems)


def test_two_packs_with_one_id_are_a_problem(tmp_path: Path) -> None:
    root = make_rules(tmp_path, RULES)
    twin = root / "t" / "twin"
    twin.mkdir()
    (twin / "pack.yaml").write_text(MANIFEST)
    ps = load_all(root)
    assert rel(root, ps.problems) == ["t/twin/pack.yaml:1: id: pack id 't.chain' is also used by t/chain"]
    assert ps.by_id("t.chain").folder == root / "t" / "chain"


def test_a_jurisdiction_filter_keeps_federal_packs_and_any_it_cannot_read(tmp_path: Path) -> None:
    root = make_rules(tmp_path, RULES)
    for name, juris in (("texas", "US-TX"), ("california", "US-CA")):
        d = root / "t" / name
        d.mkdir()
        (d / "pack.yaml").write_text(MANIFEST.replace("id: t.chain", f"id: t.{name}").replace("jurisdiction: US", f"jurisdiction: {juris}"))
    broken = root / "t" / "broken"
    broken.mkdir()
    (broken / "pack.yaml").write_text("id: [\n")
    ps = load_all(root, {"US-CA"})
    assert sorted(p.id for p in ps.packs) == ["t.california", "t.chain"]
    assert [p.file for p in ps.problems] == [str(broken / "pack.yaml")]
    assert sorted(p.id for p in load_all(root).packs) == ["t.california", "t.chain", "t.texas"]


def test_a_missing_vocabulary_or_question_file_is_a_problem(tmp_path: Path) -> None:
    root = make_rules(tmp_path, RULES)
    (root / "questions.yaml").unlink()
    ps = load_all(root)
    assert ps.questions == {}
    assert rel(root, ps.problems) == ["questions.yaml: cannot read: No such file or directory"]
