"""The command line: exact messages and exit codes, atomic output, determinism."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_advise_writes_the_memo_atomically_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "memo.md"
    code, stdout, stderr = run("advise", str(EXAMPLE), "-o", str(out))
    assert code == 0
    assert stdout == ""
    assert stderr == f"wrote {out}\n"
    text = out.read_text()
    assert text.startswith("# PRIVILEGED AND CONFIDENTIAL")
    assert "8 U.S.C. § 1227(a)(2)(A)(i)" in text
    assert [p.name for p in tmp_path.iterdir()] == ["memo.md"]   # no temporary file left behind


def test_the_memo_is_byte_identical_across_runs() -> None:
    assert run("advise", str(EXAMPLE))[1] == run("advise", str(EXAMPLE))[1]


def test_json_output_follows_the_result_format() -> None:
    code, stdout, _ = run("advise", str(EXAMPLE), "--format", "json")
    assert code == 0
    r = json.loads(stdout)
    assert r["format"] == 1 and r["jurisdiction"] == "US-CA" and r["circuit"] == 9
    assert [o["id"] for o in r["options"]] == ["offer", "counter", "trial"]   # the example gives its charges
    f = next(f for f in r["options"][0]["findings"] if f["code"] == "imm.deportable.cimt")
    assert f["status"] == "applies" and f["citations"] and f["because"] == ["offer/imm.cimt@0"]


def test_both_evaluators_print_the_same_json_apart_from_the_engine_name() -> None:
    a = json.loads(run("advise", str(EXAMPLE), "--format", "json")[1])
    b = json.loads(run("advise", str(EXAMPLE), "--format", "json", "--evaluator", "plain")[1])
    assert a["engine"]["evaluator"] == "durable_rules" and b["engine"]["evaluator"] == "plain"
    a["engine"] = b["engine"] = None
    assert a == b


def test_as_of_overrides_the_case_date() -> None:
    r = json.loads(run("advise", str(EXAMPLE), "--format", "json", "--as-of", "2026-06-30")[1])
    assert r["as_of"] == "2026-06-30"
    # a date before the offense is refused: the plea cannot precede the offense
    code, _, err = run("advise", str(EXAMPLE), "--format", "json", "--as-of", "2025-01-31")
    assert code == 2 and "2026-03-14" in err


def test_redact_removes_the_client_name() -> None:
    assert "M. Example" in run("advise", str(EXAMPLE))[1]
    assert "M. Example" not in run("advise", str(EXAMPLE), "--redact")[1]


def test_a_bad_case_file_exits_2_with_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: 1\njurisdiction: US-CA\nclient:\n  immigration: {status: lrp}\noptions: []\n")
    out = tmp_path / "memo.md"
    code, stdout, stderr = run("advise", str(bad), "-o", str(out))
    assert code == 2
    assert stdout == ""
    assert stderr == (
        "2 problem(s) in case file:\n"
        f"  {bad}:4: client.immigration.status: 'lrp' is not valid; expected one of: us_citizen, us_national, lpr, "
        "conditional_lpr, refugee, asylee, nonimmigrant, daca, tps, parolee, undocumented (did you mean 'lpr'?)\n"
        f"  {bad}:5: options: List should have at least 1 item after validation, not 0\n")
    assert not out.exists()


def test_a_missing_case_file_exits_2(tmp_path: Path) -> None:
    code, _, stderr = run("advise", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert stderr == f"1 problem(s) in file:\n  {tmp_path / 'nope.yaml'}: cannot read: No such file or directory\n"


def test_a_broken_rule_pack_exits_3_naming_file_line_and_fix(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    f = rules / "us" / "immigration" / "conviction.rules.yaml"
    f.write_text(f.read_text().replace("fact: count.disposition", "fact: count.dispositon", 1))
    code, _, stderr = run("advise", str(EXAMPLE), "--rules", str(rules))
    assert code == 3
    assert "unknown fact 'count.dispositon' (did you mean 'count.disposition'?)" in stderr
    assert f"{f}:" in stderr


def test_packs_check_passes_on_the_bundled_packs() -> None:
    code, stdout, _ = run("packs", "check")
    assert code == 0
    assert stdout.endswith(" 0 errors, " + stdout.split(" 0 errors, ")[1])


def test_packs_check_reports_a_rule_without_tests_and_exits_1(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    extra = rules / "us" / "immigration" / "untested.rules.yaml"
    extra.write_text(
        "rules:\n"
        "  - id: us.immigration.untested-example\n"
        "    title: An untested rule\n"
        "    status: draft\n"
        "    certainty: clear\n"
        "    scope: count\n"
        "    citations: [{cite: '8 U.S.C. § 1101(a)(48)(A)'}]\n"
        "    when: {fact: count.disposition, eq: conviction}\n"
        "    then: {code: imm.untested_example, kind: classification, domain: immigration, severity: info,\n"
        "           title: Untested, summary: Untested rule, explanation: Untested rule}\n")
    code, stdout, stderr = run("packs", "check", "--rules", str(rules))
    assert code == 1
    assert f"error: {extra}:2: us.immigration.untested-example: no test names its code imm.untested_example\n" in stderr
    assert " 1 errors, " in stdout


def test_packs_list_shows_each_pack() -> None:
    code, stdout, _ = run("packs", "list")
    assert code == 0
    assert "us.immigration" in stdout and "us-ca.offenses" in stdout


def test_help_names_every_command() -> None:
    code, stdout, _ = run("--help")
    assert code == 0
    assert "advise" in stdout and "packs" in stdout


def test_every_bundled_example_produces_a_memo_and_agrees_across_evaluators() -> None:
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        code, memo, stderr = run("advise", str(example), "--no-alternatives")
        assert code == 0, (example, stderr)
        assert memo.startswith("# PRIVILEGED AND CONFIDENTIAL") and "## Rule packs applied" in memo
        a = json.loads(run("advise", str(example), "--format", "json", "--no-alternatives")[1])
        b = json.loads(run("advise", str(example), "--format", "json", "--no-alternatives", "--evaluator", "plain")[1])
        a["engine"] = b["engine"] = None
        assert a == b, example
