"""The rule authors' toolkit, part 2: `packs new` (a scaffold that passes check and test at once), the
generated reference (`packs docs`), review status and `--release`, the lock file (`packs lock`), office
overlays (`--packs`, COLLATERAL_PACKS) and `packs test --coverage`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from engine.author.authoring import LOCK_NAME, SCHEMA_DIR, lock_text
from engine.author.packtools import check
from engine.law.packs import RULES_DIR, load_all

from .conftest import make_rules


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args), env=env)
    return r.exit_code, r.stdout, r.stderr


def empty_root(tmp: Path) -> Path:
    root = tmp / "rules"
    root.mkdir(parents=True)
    for name in ("vocabulary.yaml", "questions.yaml"):
        shutil.copy(RULES_DIR / name, root / name)
    return root


def rule(slug: str, code: str, when: str = "{fact: count.offense.elements, has: theft}", extra: str = "") -> str:
    return textwrap.dedent(f"""\
      - id: t.chain.{slug}
        title: Rule {slug}
        status: draft
        certainty: clear
        scope: count
        citations: [{{cite: "8 U.S.C. § 1227(a)(2)(A)(i)"}}]
        when: {when}
        then: {{code: {code}, kind: classification, domain: immigration, severity: high, title: T {slug}, summary: "sum", explanation: "why"}}
    """).replace("\n", "\n  ").rstrip(" ").join(["  ", ""]) + extra


def rules_text(*rules: str) -> str:
    return "rules:\n" + "".join(rules)


TESTS = """\
defaults:
  case:
    format: 1
    jurisdiction: US
    as_of: 2026-11-26
tests:
  - name: a theft conviction fires the theft rule
    case:
      options:
        - id: o
          counts:
            - offense: {statute: "T 1", elements: [theft], mens_rea: intent, force: none, max_days: 365}
              disposition: conviction
    expect:
      o: {applies: [imm.cimt]}
"""


def chain_root(tmp: Path, *rules: str, tests: str = TESTS) -> Path:
    return make_rules(tmp, rules_text(*rules), extra={"chain.test.yaml": tests})


def messages(problems: list[object]) -> list[str]:
    return [f"{p.field}: {p.message}" for p in problems]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- packs new
@pytest.mark.parametrize(("juris", "domain", "name"), [("US-CA", "fines", "alameda-fees"), ("US", "licensing", None)])
def test_packs_new_makes_a_pack_that_passes_check_and_test_at_once(tmp_path: Path, juris: str, domain: str,
                                                                   name: str | None) -> None:
    root = empty_root(tmp_path)
    code, out, _ = run("packs", "new", juris, domain, "--rules", str(root), *(["--name", name] if name else []))
    assert code == 0, out
    folder = root / juris.lower() / (name or domain)
    assert sorted(p.name for p in folder.iterdir()) == ["example.rules.yaml", "example.test.yaml", LOCK_NAME, "pack.yaml",
                                                          "parameters.yaml"]
    for f in ("pack.yaml", "example.rules.yaml", "example.test.yaml", "parameters.yaml"):
        first = (folder / f).read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
        assert (folder / first.split("=", 1)[1]).resolve().parent == SCHEMA_DIR
    code, out, err = run("packs", "check", "--rules", str(root))
    assert code == 0, err
    assert out.endswith(": 0 errors, 0 warnings\n")
    code, out, _ = run("packs", "test", "--rules", str(root), "--evaluator", "plain")
    assert (code, out) == (0, "2 passed, 0 failed\n")


def test_packs_new_refuses_a_bad_jurisdiction_and_an_existing_pack(tmp_path: Path) -> None:
    root = empty_root(tmp_path)
    code, _, err = run("packs", "new", "California", "fines", "--rules", str(root))
    assert code == 2 and "expected US or US-XX" in err
    assert run("packs", "new", "US-CA", "fines", "--rules", str(root))[0] == 0
    code, _, err = run("packs", "new", "US-CA", "fines", "--rules", str(root))
    assert code == 2 and "already exists" in err


# ---------------------------------------------------------------- review status
def test_a_reviewed_rule_names_its_reviewer_and_date(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt").replace("status: draft", "status: reviewed"))
    (root / "t" / "chain" / "pack.lock.json").unlink(missing_ok=True)
    errors, _ = check(load_all(root), dt.date(2026, 11, 26))
    assert messages(errors) == ["t.chain.theft: status: a reviewed rule names its reviewer and date: add reviewed_by and reviewed_on"]
    f = root / "t" / "chain" / "chain.rules.yaml"
    f.write_text(f.read_text().replace("status: reviewed", "status: reviewed\n    reviewed_by: A. Author\n    reviewed_on: 2026-11-20"))
    assert check(load_all(root), dt.date(2026, 11, 26))[0] == []


def test_a_retired_rule_is_documented_never_compiled_and_needs_no_test(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt"),
                      rule("old", "imm.old_x").replace("status: draft", "status: retired"))
    ps = load_all(root)
    (pack,) = ps.packs
    assert [lr.rule.id for lr in pack.rules] == ["t.chain.theft"]
    assert [lr.rule.id for lr in pack.retired] == ["t.chain.old"]
    assert check(ps, dt.date(2026, 11, 26))[0] == []
    code, out, _ = run("packs", "test", "--rules", str(root), "--evaluator", "plain")
    assert (code, out) == (0, "1 passed, 0 failed\n")


def test_release_fails_on_draft_rules_only_in_a_stable_pack(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt"))
    assert run("packs", "check", "--rules", str(root), "--release")[0] == 0
    manifest = root / "t" / "chain" / "pack.yaml"
    manifest.write_text(manifest.read_text() + "stability: stable\n")
    assert run("packs", "check", "--rules", str(root))[0] == 0
    code, _, err = run("packs", "check", "--rules", str(root), "--release")
    assert code == 1
    assert "t.chain.theft: status: draft rule in t.chain, whose manifest says stability: stable" in err


def test_a_reviewed_catalog_entry_names_its_reviewer(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt"))
    cat = root / "t" / "offenses"
    cat.mkdir()
    (cat / "pack.yaml").write_text("id: t.offenses\ntitle: Test catalog\njurisdiction: US\ndomain: offenses\nversion: 1.0.0\n"
                                   "current_through: 2026-01-01\nmaintainers: [tests]\ncatalog_verification: pending\n")
    (cat / "catalog.yaml").write_text("offenses:\n  - {statute: TC 1, citation: Test Code § 1, status: reviewed}\n"
                                      "  - {statute: TC 2, citation: Test Code § 2, status: reviewed, reviewed_by: B, reviewed_on: 2026-01-02}\n")
    errors, _ = check(load_all(root), dt.date(2026, 11, 26))
    assert messages(errors) == ["TC 1: status: a reviewed catalog entry names its reviewer and date: add reviewed_by and reviewed_on"]


# ---------------------------------------------------------------- lock file
def test_the_lock_file_makes_a_rule_change_need_a_version_bump_and_a_changelog_line(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt"))
    pack_dir = root / "t" / "chain"
    _, warnings = check(load_all(root), dt.date(2026, 11, 26))
    assert "t.chain: no lock file: run `collateral packs lock` and commit pack.lock.json" in messages(warnings)
    code, out, _ = run("packs", "lock", "--rules", str(root))
    assert (code, out) == (0, f"wrote {pack_dir / LOCK_NAME}\n")
    lock = json.loads((pack_dir / LOCK_NAME).read_text())
    assert lock["pack"] == "t.chain" and lock["version"] == "1.0.0" and list(lock["rules"]) == ["t.chain.theft"]
    assert check(load_all(root), dt.date(2026, 11, 26)) == ([], [])

    rules = pack_dir / "chain.rules.yaml"
    rules.write_text(rules.read_text().replace("certainty: clear", "certainty: likely"))
    errors, _ = check(load_all(root), dt.date(2026, 11, 26))
    assert messages(errors) == ["t.chain.theft: rule changed since pack.lock.json (version 1.0.0) without a version bump: bump "
                                "version in pack.yaml, add a changelog line for it, then run `collateral packs lock`"]
    code, _, err = run("packs", "lock", "--rules", str(root))
    assert code == 1 and "not locked: bump the version and add a changelog line first (or --force)" in err

    manifest = pack_dir / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    errors, _ = check(load_all(root), dt.date(2026, 11, 26))
    assert messages(errors) == [
        "t.chain: pack.lock.json records version 1.0.0, the pack is 1.1.0: run `collateral packs lock` and commit it with the "
        "version bump",
        "changelog: version 1.1.0 has no changelog line: add {version: 1.1.0, date: YYYY-MM-DD, changes: \"...\"}"]
    manifest.write_text(manifest.read_text() + "changelog:\n  - {version: 1.1.0, date: 2026-11-27, changes: \"Theft is likely.\"}\n")
    assert run("packs", "lock", "--rules", str(root))[0] == 0
    assert check(load_all(root), dt.date(2026, 11, 26)) == ([], [])
    # comments, layout and reviewers are not content
    rules.write_text("# a comment\n" + rules.read_text().replace("status: draft", "status: reviewed\n    reviewed_by: C\n"
                                                                  "    reviewed_on: 2026-11-28"))
    assert check(load_all(root), dt.date(2026, 11, 26)) == ([], [])


def test_a_rule_added_without_a_bump_is_a_warning(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt"))
    assert run("packs", "lock", "--rules", str(root))[0] == 0
    rules = root / "t" / "chain" / "chain.rules.yaml"
    rules.write_text(rules.read_text() + rule("new", "imm.cimt"))
    errors, warnings = check(load_all(root), dt.date(2026, 11, 26))
    assert errors == []
    assert "t.chain.new: rule added since pack.lock.json (version 1.0.0) without a version bump: bump version in pack.yaml, " \
           "add a changelog line for it, then run `collateral packs lock`" in messages(warnings)


def test_every_bundled_pack_has_a_current_lock_file() -> None:
    ps = load_all()
    for p in ps.packs:
        lock = p.folder / LOCK_NAME
        assert lock.exists(), f"{lock}: run collateral packs lock"
        assert lock.read_text() == lock_text(p), f"{lock} is stale: bump the version, add a changelog line, run packs lock"


# ---------------------------------------------------------------- office overlays
OFFICE_MANIFEST = "id: office.local\ntitle: Office overlay\njurisdiction: US\ndomain: immigration\nversion: 0.1.0\n" \
                  "current_through: 2026-01-01\nmaintainers: [office]\n"


def office(tmp: Path, rules: str) -> Path:
    folder = tmp / "office" / "local"
    folder.mkdir(parents=True)
    (folder / "pack.yaml").write_text(OFFICE_MANIFEST)
    (folder / "local.rules.yaml").write_text(rules)
    return tmp / "office"


OFFICE_RULE = """\
rules:
  - id: {id}
    title: Office rule
    status: draft{extra}
    certainty: likely
    scope: count
    citations: [{{cite: "Local Rule § 1(a)"}}]
    when: {{fact: count.offense.elements, has: theft}}
    then: {{code: imm.office_x, kind: classification, domain: immigration, severity: low, title: Office finding, summary: "sum", explanation: "why"}}
"""

CASE = """\
format: 1
jurisdiction: US
as_of: 2026-11-26
client: {immigration: {status: lpr, admission_date: 2010-01-01}}
options:
  - id: o
    counts:
      - offense: {statute: "T 1", elements: [theft], mens_rea: intent, force: none, max_days: 365}
        disposition: conviction
"""


def test_an_overlay_adds_its_rules_and_the_result_marks_it(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt"))
    overlay = office(tmp_path, OFFICE_RULE.format(id="office.local.extra", extra=""))
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    code, out, err = run("advise", str(case), "--rules", str(root), "--packs", str(overlay), "--format", "json", "--no-alternatives")
    assert code == 0, err
    result = json.loads(out)
    assert {f["code"] for f in result["options"][0]["findings"]} == {"imm.cimt", "imm.office_x"}
    packs = {p["id"]: p for p in result["packs"]}
    assert packs["office.local"]["overlay"] is True and "overlay" not in packs["t.chain"]
    assert result["warnings"][0].startswith("Office overlay packs applied (not part of the bundled law): office.local 0.1.0 (sha256:")
    # the same through the environment, and in packs list
    code, out, _ = run("packs", "list", "--rules", str(root), env={"COLLATERAL_PACKS": str(overlay)})
    assert code == 0 and out.splitlines()[0].startswith("office.local ") and out.splitlines()[0].endswith("  (overlay)")
    code, out, _ = run("packs", "list", "--rules", str(root))
    assert "office.local" not in out


def test_an_overlay_replaces_a_bundled_rule_only_with_overrides(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt"))
    overlay = office(tmp_path, OFFICE_RULE.format(id="t.chain.theft", extra=""))
    code, _, err = run("packs", "check", "--rules", str(root), "--packs", str(overlay))
    assert code == 1 and "t.chain.theft: duplicate rule id (also in " in err
    shutil.rmtree(overlay)
    overlay = office(tmp_path, OFFICE_RULE.format(id="t.chain.theft", extra="\n    overrides: t.chain.theft"))
    case = tmp_path / "case.yaml"
    case.write_text(CASE)
    code, out, err = run("advise", str(case), "--rules", str(root), "--packs", str(overlay), "--format", "json", "--no-alternatives")
    assert code == 0, err
    result = json.loads(out)
    assert [f["code"] for f in result["options"][0]["findings"]] == ["imm.office_x"]
    assert "Bundled rules replaced by an office overlay: t.chain.theft replaces t.chain.theft." in result["warnings"]


def test_an_override_of_a_rule_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    root = chain_root(tmp_path, rule("theft", "imm.cimt"))
    overlay = office(tmp_path, OFFICE_RULE.format(id="office.local.x", extra="\n    overrides: t.chain.thef"))
    code, _, err = run("packs", "check", "--rules", str(root), "--packs", str(overlay))
    assert code == 1
    assert "office.local.x: overrides: no bundled rule 't.chain.thef' to override (did you mean 't.chain.theft'?)" in err
    # overrides in a bundled pack is an error too
    f = root / "t" / "chain" / "chain.rules.yaml"
    f.write_text(f.read_text().replace("status: draft", "status: draft\n    overrides: t.chain.theft"))
    code, _, err = run("packs", "check", "--rules", str(root))
    assert code == 1 and "only a rule of an office overlay (--packs DIR) overrides a bundled rule" in err


# ---------------------------------------------------------------- coverage
def test_packs_test_coverage_names_each_disjunct_and_the_side_exercised(tmp_path: Path) -> None:
    when = "{any: [{fact: count.offense.elements, has: theft}, {all: [{finding: imm.cimt}, {fact: count.offense.max_days, ge: 9999}]}]}"
    root = chain_root(tmp_path, rule("theft", "imm.cimt"), rule("either", "imm.crime_of_violence", when=when))
    code, out, _ = run("packs", "test", "--rules", str(root), "--evaluator", "plain", "--coverage")
    assert code == 0
    assert out.splitlines() == [
        "coverage (disjuncts of each rule's condition the tests make fire):",
        "  t.chain.either: 1 of 2 disjuncts exercised",
        "    [1] applies only: facts count.offense.elements",
        "    [2] NEVER: finding imm.cimt; facts count.offense.max_days",
        "  t.chain.theft: 1 of 1 disjuncts exercised",
        "    [1] applies only: facts count.offense.elements",
        "coverage: 2 of 3 disjuncts exercised (67%)",
        "1 passed, 0 failed",
    ]


# ---------------------------------------------------------------- the reference
def test_packs_docs_writes_a_deterministic_reference_with_a_search_page(tmp_path: Path) -> None:
    root = empty_root(tmp_path)
    assert run("packs", "new", "US-CA", "fines", "--name", "alameda-fees", "--rules", str(root))[0] == 0
    out = tmp_path / "ref"
    code, _, err = run("packs", "docs", "--rules", str(root), "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "index.md", "us-ca.alameda-fees.md"]
    page = (out / "us-ca.alameda-fees.md").read_text()
    for text in ["### us-ca.alameda-fees.example", "- Status: draft", "- In force: from 2020-01-01", "- Certainty: clear",
                 "  - all of:", "    - `count.offense.statute` starts with `EXAMPLE `", "    - `count.disposition` is `conviction`",
                 "- Consequence: `fines.alameda_fees_example`: Example consequence (consequence, fines, severity low, mandatory)",
                 "- Amount: parameter `example_fee_usd`", "### `example_fee_usd`", "- 50 (from 2020-01-01; Replace with",
                 "- Tests that make it fire:", "  - A conviction brings the example consequence (rules/us-ca/alameda-fees/example.test.yaml)",
                 "- Source: rules/us-ca/alameda-fees/example.rules.yaml"]:
        assert text in page, text
    html = (out / "index.html").read_text()
    assert '<input id="q" type="search"' in html and "us-ca.alameda-fees.example" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html   # nothing fetched: works offline
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "stale-pack.md").write_text("gone")
    assert run("packs", "docs", "--rules", str(root), "-o", str(out))[0] == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_reference_lists_a_catalogs_statutes_with_their_classification(tmp_path: Path) -> None:
    from engine.author.authoring import reference_files
    ps = load_all(RULES_DIR, {"US-CA"})
    files = reference_files([p for p in ps.packs if p.id == "us-ca.offenses"], RULES_DIR.parent, {})
    page = files["us-ca.offenses.md"]
    assert "| Statute | Title | Class | Max days | Elements | Mens rea | Force | CIMT |" in page
    assert "\n| PC 487(a) | " in page
