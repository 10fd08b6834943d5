"""The rule authors' toolkit, part 1: the shipped JSON Schemas (no drift), `collateral schema`, named
conditions (`conditions:` and `use:`), and the canonical layout (`packs fmt`)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from engine.author.authoring import SCHEMA_DIR, SCHEMA_KINDS, format_text, schema, schema_text
from engine.law.packs import RULES_DIR, load_all

from .conftest import make_rules


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


# ---------------------------------------------------------------- schemas
@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_the_shipped_schema_is_the_one_the_models_generate(kind: str) -> None:
    shipped = SCHEMA_DIR / f"{kind}.schema.json"
    assert shipped.read_text(encoding="utf-8") == schema_text(kind), \
        f"{shipped} is stale: regenerate with `collateral schema --write engine/schemas`"


def test_the_rules_schema_describes_conditions_and_review_fields() -> None:
    s = schema("rules")
    rule = s["$defs"]["Rule"]["properties"]
    assert rule["when"]["$ref"] == "#/$defs/Condition"
    assert rule["status"]["enum"] == ["draft", "reviewed", "retired"]
    assert {"reviewed_by", "reviewed_on", "overrides"} <= set(rule)
    forms = [sorted(f["properties"]) for f in s["$defs"]["Condition"]["anyOf"]]
    assert ["all"] in forms and ["use"] in forms and ["not"] in forms
    assert s["properties"]["conditions"]["additionalProperties"] == {"$ref": "#/$defs/Condition"}
    assert schema("pack")["properties"]["stability"]["enum"] == ["experimental", "stable"]
    entry = schema("catalog")["$defs"]["CatalogEntry"]["properties"]
    assert entry["status"]["enum"] == ["draft", "reviewed"] and entry["status"]["default"] == "draft"


def test_schema_prints_one_kind_and_writes_all(tmp_path: Path) -> None:
    code, out, _ = run("schema", "case")
    assert code == 0 and json.loads(out) == schema("case")
    code, _, err = run("schema", "nonsense")
    assert code == 2 and "'nonsense' is not one of 'pack', 'rules'" in err
    code, _, err = run("schema")
    assert code == 2 and "give KIND, or --write DIR" in err
    code, _, _ = run("schema", "--write", str(tmp_path / "s"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(f"{k}.schema.json" for k in SCHEMA_KINDS)


# ---------------------------------------------------------------- named conditions
RULE = """\
  - id: t.chain.{slug}
    title: Rule {slug}
    status: draft
    certainty: clear
    scope: count
    citations: [{{cite: "8 U.S.C. § 1227(a)(2)(A)(i)"}}]
    when: {when}
    then: {{code: imm.{slug}, kind: classification, domain: immigration, severity: high, title: T {slug}, summary: "sum", explanation: "why"}}
"""


def _rules(conditions: str, *rules: tuple[str, str]) -> str:
    return conditions + "rules:\n" + "".join(RULE.format(slug=s, when=w) for s, w in rules)


def test_a_named_condition_is_the_same_rule_as_the_condition_written_out(tmp_path: Path) -> None:
    named = _rules("conditions:\n  felony_theft: {all: [{fact: count.offense.class, eq: felony}, {use: theft}]}\n"
                   "  theft: {fact: count.offense.elements, has: theft}\n",
                   ("a", "{all: [{use: felony_theft}, {fact: count.sentence.custody_days, ge: 365}]}"))
    inline = _rules("", ("a", "{all: [{all: [{fact: count.offense.class, eq: felony}, {fact: count.offense.elements, has: theft}]},"
                              " {fact: count.sentence.custody_days, ge: 365}]}"))
    a = load_all(make_rules(tmp_path / "a", named))
    b = load_all(make_rules(tmp_path / "b", inline))
    assert a.problems == [] and b.problems == []
    assert a.packs[0].rules[0].rule == b.packs[0].rules[0].rule
    # the loaded file itself is left as written (the compiler reads lines from it)
    src = next(s for f, s in a.packs[0].sources.items() if f.endswith("chain.rules.yaml"))
    assert src.data["rules"][0]["when"]["all"][0] == {"use": "felony_theft"}


def test_unknown_names_cycles_and_extra_keys_are_problems_with_their_line(tmp_path: Path) -> None:
    text = _rules("conditions:\n  theft: {fact: count.offense.elements, has: theft}\n  loop_a: {use: loop_b}\n  loop_b: {use: loop_a}\n",
                  ("a", "{use: thef}"), ("b", "{all: [{use: theft, eq: 1}]}"))
    root = make_rules(tmp_path, text)
    ps = load_all(root)
    found = sorted(f"{p.line}: {p.field}: {p.message}" + (f" ({p.suggestion})" if p.suggestion else "")
                   for p in ps.problems)
    assert found == [
        "12: t.chain.a: when: unknown condition name 'thef'; this file's conditions: loop_a, loop_b, theft (theft)",
        "20: t.chain.b: when.all[0]: 'use' takes a condition name and nothing beside it",
        "3: conditions.loop_a: named conditions use each other in a cycle: loop_a -> loop_b -> loop_a",
    ]


def test_the_immigration_rules_use_named_conditions_not_anchors() -> None:
    files = sorted((RULES_DIR / "us" / "immigration").glob("*.rules.yaml"))
    assert files
    named = 0
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert "&id0" not in text and "*id0" not in text, f
        named += len((yaml.safe_load(text) or {}).get("conditions") or {})
    assert named >= 20


# ---------------------------------------------------------------- canonical layout
def test_fmt_orders_keys_keeps_comments_quotes_and_values() -> None:
    text = textwrap.dedent("""\
        # the header stays
        rules:
        - then: {code: imm.x, kind: classification, domain: immigration, severity: high, title: T, summary: S, explanation: E}
          when:
            eq: 'yes'   # quoted: YAML 1.1 would read yes as true
            fact: count.record.remuneration
          title: A rule
          id: t.chain.x
          citations: [{cite: "C § 1"}]
          status: draft
          scope: count
          certainty: clear
        """)
    out = format_text(text, "rules")
    assert out == textwrap.dedent("""\
        # the header stays
        rules:
          - id: t.chain.x
            title: A rule
            status: draft
            certainty: clear
            scope: count
            citations: [{cite: "C § 1"}]
            when:
              fact: count.record.remuneration
              eq: 'yes' # quoted: YAML 1.1 would read yes as true
            then: {code: imm.x, kind: classification, domain: immigration, severity: high, title: T, summary: S, explanation: E}
        """)
    assert yaml.safe_load(out) == yaml.safe_load(text)
    assert format_text(out, "rules") == out


def test_fmt_check_lists_what_it_would_change_then_fmt_fixes_it(tmp_path: Path) -> None:
    root = make_rules(tmp_path, "rules:\n  - title: A rule\n    id: t.chain.x\n")
    f = root / "t" / "chain" / "chain.rules.yaml"
    code, out, err = run("packs", "fmt", "--check", str(f))
    assert code == 1 and out == f"would reformat {f}\n" and err == "1 files, 1 not in the canonical layout\n"
    assert f.read_text() == "rules:\n  - title: A rule\n    id: t.chain.x\n"
    code, out, _ = run("packs", "fmt", "--rules", str(root))
    assert code == 0 and out == f"reformatted {f}\n"
    assert f.read_text() == "rules:\n  - id: t.chain.x\n    title: A rule\n"
    assert run("packs", "fmt", "--check", str(root))[0] == 0


def test_the_immigration_rules_files_are_in_the_canonical_layout() -> None:
    files = [str(f) for f in sorted((RULES_DIR / "us" / "immigration").glob("*.rules.yaml"))]
    code, out, _ = run("packs", "fmt", "--check", *files)
    assert (code, out) == (0, "")
