"""The rule authors' toolkit (engine/author/authoring.py) on what the other tests do not write: the reference's words
for every kind of condition, value and amount, a rule with every optional field documented, `packs new` refusing
bad names, named conditions in odd places, which files `packs fmt` formats, and office overlays (engine/law/overlay.py)
that are not folders, hold no pack, take a bundled id or another jurisdiction."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.author.authoring import (
    ScaffoldError,
    amount_words,
    condition_words,
    expand_uses,
    format_file,
    format_text,
    kind_of,
    reference_files,
    scaffold,
    value_words,
)
from engine.law.overlay import load_layers
from engine.law.packs import load_all
from engine.model.errors import Problem
from engine.model.yamlsrc import Located

from .conftest import make_rules

# ---------------------------------------------------------------- words of the reference


def test_values_in_words() -> None:
    assert value_words({"param": "agf_term_min_days"}) == "parameter `agf_term_min_days`"
    assert value_words({"fact": "client.birth_date"}) == "`client.birth_date`"
    assert value_words({"fact": "client.birth_date", "plus": {"years": 18, "days": {"param": "grace"}}}) == \
        "`client.birth_date` plus 18 years, parameter `grace` days"
    assert value_words(["theft", 3]) == "`theft`, 3" and value_words([]) == "(none)"
    assert value_words(True) == "true" and value_words(False) == "false"
    assert value_words(dt.date(2026, 1, 2)) == "2026-01-02" and value_words(2.5) == "2.5"
    assert value_words("x") == "`x`"


def test_conditions_in_words() -> None:
    cond = {"all": [{"fact": "count.offense.elements", "has": "theft"},
                    {"any": [{"finding": "imm.cimt", "any_count": True}, {"use": "aggravated"}]},
                    {"not": {"finding": "imm.petty"}},
                    {"not": {"fact": "count.sentence.custody_days", "ge": {"param": "agf_term_min_days"}}},
                    {"count": "imm.cimt", "gt": 1, "separate": True},
                    {"count": "imm.cimt"},
                    {"fact": "client.birth_date", "known": False},
                    {"fact": "count.plea", "matches": "x"},
                    {"weird": 1}]}
    assert condition_words(cond) == [
        "- all of:",
        "  - `count.offense.elements` includes `theft`",
        "  - any of:",
        "    - finding `imm.cimt` on any count",
        "    - the named condition `aggravated`",
        "  - no finding `imm.petty`",
        "  - not:",
        "    - `count.sentence.custody_days` is at least parameter `agf_term_min_days`",
        "  - more than 1 separate schemes of misconduct with finding `imm.cimt`",
        "  - at least None counts with finding `imm.cimt`",
        "  - `client.birth_date` is unknown",
        "  - `count.plea` matches `x`",
        "  - (unrecognised condition ['weird'])",
    ]
    assert condition_words("always") == ["- (not a condition: 'always')"]
    assert condition_words({"any": "not a list"}) == ["- any of:"]


def test_amounts_in_words() -> None:
    assert amount_words({"mul": [{"param": "fee"}, {"fact": "count.sentence.fine"}]}) == \
        "(parameter `fee` × `count.sentence.fine`)"
    assert amount_words({"round_up": [{"fact": "x"}, 10]}) == "round up(`x`, 10)"
    assert amount_words({"sum": {"param": "fee"}}) == "sum over option counts of parameter `fee`"
    assert amount_words({"sum": 5, "over": "prior_convictions"}) == "sum over prior convictions of 5"
    assert amount_words(250) == "250" and amount_words({"add": 3}) == "{'add': 3}"


RULE = """\
rules:
  - id: t.chain.full
    title: A rule with every optional field
    status: reviewed
    reviewed_by: A. Counsel
    reviewed_on: 2026-10-01
    certainty: likely
    circuits: [9, 2]
    scope: option
    burden: applicant
    circumstance_specific: [count.record.loss_amount]
    citations: [{cite: "8 U.S.C. § 1101(a)(43)(M)(i)", note: "loss over $10,000"}]
    when: {fact: count.record.loss_amount, gt: 10000}
    then:
      code: imm.test_full
      kind: consequence
      domain: immigration
      severity: high
      mandatory: false
      duration: permanent
      title: Full
      summary: "Summary | with a pipe."
      explanation: why
      amount: {mul: [{param: fee}, 2]}
      timeline: "From   conviction."
      mitigations: ["Plead to  a lesser loss."]
    notes: "Note\\n  on two lines."
"""
PARAMS = """\
parameters:
  fee:
    description: A fee.
    unit: usd
    values:
      - {value: 50, from: 2020-01-01, to: 2024-01-01, cite: "Fee Act § 1"}
      - {value: 75, from: 2024-01-01, cite: "Fee Act § 1 (amended)"}
"""


def test_the_reference_documents_every_optional_field_of_a_rule(tmp_path: Path) -> None:
    root = make_rules(tmp_path, RULE, PARAMS)
    ps = load_all(root)
    assert not ps.problems, ps.problems
    pack = next(p for p in ps.packs if p.id == "t.chain")
    tests = [(f"test {i:02d}", str(pack.folder / "chain.test.yaml")) for i in range(14)]
    page = reference_files([pack], tmp_path, {"t.chain.full": tests})["t.chain.md"]
    for line in ["- Status: reviewed by A. Counsel on 2026-10-01", "- In force: always (no effective date)",
                 "- Certainty: likely", "- Scope: each plea option", "- Circuits: 9, 2", "- Burden: applicant",
                 "- Circumstance-specific facts: count.record.loss_amount",
                 "- Consequence: `imm.test_full`: Full (consequence, immigration, severity high, discretionary, permanent)",
                 "- Summary: Summary | with a pipe.", "- Amount: (parameter `fee` × 2)", "- Timeline: From conviction.",
                 "  - Plead to a lesser loss.", "  - 8 U.S.C. § 1101(a)(43)(M)(i) — loss over $10,000",
                 "- Notes: Note on two lines.", "  - test 00 (rules/t/chain/chain.test.yaml)",
                 "  - test 11 (rules/t/chain/chain.test.yaml)", "  - and 2 more",
                 "- 50 (from 2020-01-01 to 2024-01-01; Fee Act § 1)", "- 75 (from 2024-01-01; Fee Act § 1 (amended))"]:
        assert line in page.splitlines(), line
    assert "test 12" not in page


# ---------------------------------------------------------------- packs new


@pytest.mark.parametrize(("args", "message"), [
    (("California", "fines"), "jurisdiction 'California': expected US or US-XX"),
    (("US-CA", "taxes"), "domain 'taxes': expected one of "),
    (("US-CA", "fines", "Alameda_Fees"), "name 'Alameda_Fees': lower-case letters, digits and hyphens, starting with a letter"),
])
def test_packs_new_refuses_bad_names(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(ScaffoldError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scaffold(tmp_path, *args)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- named conditions


def test_named_conditions_null_or_not_a_mapping() -> None:
    problems: list[Problem] = []
    data = {"conditions": None, "rules": [{"id": "a", "when": {"use": "x"}}]}
    expand_uses(Located(data, {}, "f.rules.yaml"), problems)
    assert [p.message for p in problems] == ["unknown condition name 'x'; this file's conditions: none"]
    problems = []
    data2 = {"conditions": ["x"], "rules": []}
    assert expand_uses(Located(data2, {}, "f.rules.yaml"), problems) is data2
    assert [p.message for p in problems] == ["expected a mapping of names to conditions"]
    problems = []
    data3 = {"conditions": {"theft": {"fact": "count.offense.elements", "has": "theft"}},
             "rules": ["not a rule", {"id": "b"}, {"id": "c", "when": {"use": "theft"}}]}
    out = expand_uses(Located(data3, {}, "f.rules.yaml"), problems)
    assert problems == []
    assert out["rules"][:2] == ["not a rule", {"id": "b"}]   # left for the schema check to report
    assert out["rules"][2]["when"] == {"fact": "count.offense.elements", "has": "theft"}


# ---------------------------------------------------------------- packs fmt


def test_which_files_packs_fmt_formats(tmp_path: Path) -> None:
    assert kind_of(Path("x/chain.test.yaml")) == "tests" and kind_of(Path("x/derived.yaml")) == "derived"
    assert kind_of(Path("x/notes.yaml")) is None
    (tmp_path / "notes.yaml").write_text("b: 1\na: 2\n")
    assert format_file(tmp_path / "notes.yaml") is None
    assert format_text("# only a comment\n", "rules") == "# only a comment\n"


def test_fmt_orders_a_test_file_and_its_cases() -> None:
    text = textwrap.dedent("""\
        tests:
          - expect: {o: {applies: [imm.cimt]}}
            case:
              options: [{counts: [{disposition: conviction, offense: {statute: T 1}}], id: o}]
            name: one
        defaults:
          case:
            jurisdiction: US
            format: 1
        """)
    assert format_text(text, "tests") == textwrap.dedent("""\
        defaults:
          case:
            format: 1
            jurisdiction: US
        tests:
          - name: one
            case:
              options: [{id: o, counts: [{offense: {statute: T 1}, disposition: conviction}]}]
            expect: {o: {applies: [imm.cimt]}}
        """)


def test_fmt_orders_conditions_under_not() -> None:
    text = textwrap.dedent("""\
        conditions:
          neither:
            not: {has: theft, fact: count.offense.elements}
        rules: []
        """)
    assert "not: {fact: count.offense.elements, has: theft}" in format_text(text, "rules")


# ---------------------------------------------------------------- overlays


OFFICE = """\
id: {id}
title: Office pack
jurisdiction: {juris}
domain: fines
version: 0.1.0
current_through: 2026-01-01
maintainers: [office]
"""


def _office(tmp: Path, pid: str, juris: str = "US-CA") -> Path:
    folder = tmp / "office"
    pack = folder / pid.replace(".", "-")
    pack.mkdir(parents=True)
    (pack / "pack.yaml").write_text(OFFICE.format(id=pid, juris=juris))
    return folder


def test_an_overlay_that_is_not_a_folder_of_packs(tmp_path: Path) -> None:
    root = make_rules(tmp_path, "rules: []\n")
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    ps = load_layers(root, [tmp_path / "missing", tmp_path / "file.txt", tmp_path / "empty"])
    assert [(Path(p.file).name, p.message) for p in ps.problems] == [
        ("missing", "not a folder of packs"), ("file.txt", "not a folder of packs"),
        ("empty", "no pack.yaml in this folder or below it")]
    assert load_layers(root, []).problems == [] and [p.id for p in load_layers(root).packs] == ["t.chain"]


def test_an_overlay_pack_may_not_take_a_bundled_id(tmp_path: Path) -> None:
    root = make_rules(tmp_path, "rules: []\n")
    ps = load_layers(root, [_office(tmp_path, "t.chain", "US")])
    assert any("pack id 't.chain' is also used by" in p.message and "an overlay pack takes an id of its own" in p.message
               for p in ps.problems), ps.problems


def test_an_overlay_for_another_jurisdiction_is_left_out(tmp_path: Path) -> None:
    root = make_rules(tmp_path, "rules: []\n")
    office = _office(tmp_path, "office.fees", "US-CA")
    assert "office.fees" in [p.id for p in load_layers(root, [office], {"US", "US-CA"}).packs]
    assert "office.fees" not in [p.id for p in load_layers(root, [office], {"US", "US-TX"}).packs]


def test_packs_check_names_an_overlay_folder_from_the_environment_that_is_not_there(tmp_path: Path) -> None:
    root = make_rules(tmp_path, "rules: []\n")
    r = CliRunner().invoke(main, ["packs", "check", "--rules", str(root)], env={"COLLATERAL_PACKS": str(tmp_path / "nowhere")})
    assert r.exit_code == 1, r.output
    assert f"{tmp_path / 'nowhere'}" in r.stderr and "not a folder of packs" in r.stderr

