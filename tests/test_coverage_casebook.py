"""The casebook's own checks (engine/author/casebook.py): each malformed expectation or file with its exact message,
references to codes and element tags that do not exist, the report's detail lines, and the exit codes of
`python -m engine.author.casebook` (0 nothing wrong, 1 a wrong result or a failed scenario, 2 a bad casebook)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from engine.author.casebook import (
    Expectation,
    Report,
    ScenarioResult,
    check_references,
    format_report,
    load,
    load_file_scenario,
    main,
)
from engine.model.errors import InputError

from .test_casebook import SYNTHETIC, _scenario

ALYAZJI = """\
source: "Matter of Alyazji, 25 I&N Dec. 397, 406 (BIA 2011)"
kind: bia
holding: "Forgery in the second degree (N.Y. Penal Law 170.10) is a crime involving moral turpitude."
case:
  format: 1
  jurisdiction: US-NY
  as_of: 2026-11-01
  client: {immigration: {status: lpr, admission_date: 2015-09-01, lpr_date: 2022-06-01, conduct: [], prior_relief: []}}
  options:
    - id: plea
      counts:
        - offense: {statute: "PL 170.10"}
          committed_on: 2025-06-01
          disposition: conviction
          plea: guilty
          sentence: {custody_days: 90, probation_months: 36}
expect:
  plea:
    STATUS: [CODE]
"""


def scenario(status: str, code: str) -> str:
    return ALYAZJI.replace("STATUS", status).replace("CODE", code)


@pytest.mark.parametrize("data, message", [
    ({"applies": ["IMM.cimt"]}, "'IMM.cimt' is not a finding code (e.g. imm.aggravated_felony.G)"),
    ({"absent": ["imm.cimt", "imm.cimt"]}, "a code is listed twice"),
    ({"applies": ["imm.cimt"], "possible": ["imm.cimt"]}, "'imm.cimt' is expected both as applies and as possible"),
    ({}, "no expectation: list at least one code under applies, possible or absent"),
])
def test_a_malformed_expectation_says_what_is_wrong(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Expectation.model_validate(data)
    assert [e["msg"] for e in exc.value.errors()] == [f"Value error, {message}"]


def test_a_file_name_that_is_no_slug_and_a_file_that_is_no_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "Bad_Name.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(InputError) as exc:
        load_file_scenario(bad)
    assert [p.message for p in exc.value.problems] == [
        "file name 'Bad_Name.yaml' is not <slug>.yaml (lower case, digits, hyphens)",
        "expected a mapping with source, kind, holding, case, expect"]


def test_an_unknown_field_names_the_fields_of_its_level(tmp_path: Path) -> None:
    f = tmp_path / "typo.yaml"
    f.write_text(scenario("applies", "imm.cimt") + "    apply: [imm.cimt]\nsorce: x\n")
    with pytest.raises(InputError) as exc:
        load_file_scenario(f)
    got = sorted((p.field, p.message, p.suggestion) for p in exc.value.problems)
    assert got == [("expect.plea.apply", "unknown field; expected one of: applies, possible, absent", "applies"),
                   ("sorce", "unknown field; expected one of: source, kind, holding, case, expect", "source")]


def test_a_missing_folder_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        load(tmp_path / "nowhere")
    assert [str(p) for p in exc.value.problems] == [f"{tmp_path / 'nowhere'}: not a folder"]


def test_codes_no_rule_concludes_and_unknown_element_tags(tmp_path: Path) -> None:
    f = tmp_path / "refs.yaml"
    f.write_text(scenario("absent", "imm.cimtt").replace(
        'offense: {statute: "PL 170.10"}', 'offense: {statute: "PL 170.10", elements: [fraud, thef]}'))
    problems = check_references([load_file_scenario(f)], {"imm.cimt", "imm.aggravated_felony.G"}, {"theft", "fraud"})
    assert [(p.field, p.message, p.suggestion) for p in problems] == [
        ("expect.plea.absent", "no rule concludes 'imm.cimtt'", "imm.cimt"),
        ("case.options.plea.counts[0].offense.elements", "unknown element tag 'thef'", "theft")]


def test_the_details_list_the_failed_scenarios_even_when_every_check_held() -> None:
    ok = ScenarioResult(_scenario({"plea": Expectation(applies=["imm.cimt"])}))
    failed = ScenarioResult(_scenario({"plea": Expectation(applies=["imm.cimt"])}), [], "RuntimeError: boom")
    text = format_report(Report([ok, failed]))
    assert text.endswith("\nnot held:\n  error   synthetic: RuntimeError: boom\n")
    assert "engine errors: 1 scenario(s): synthetic" in text
    assert "not held" not in format_report(Report([ok]))
    assert "error   synthetic" not in format_report(Report([ok, failed]), details=False)
    assert SYNTHETIC["options"]


def folder(tmp_path: Path, status: str, code: str) -> Path:
    d = tmp_path / f"{status}-{code}"
    d.mkdir()
    (d / "bia-alyazji-forgery.yaml").write_text(scenario(status, code))
    return d


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(folder(tmp_path, "applies", "imm.cimt"))]) == 0
    out = capsys.readouterr().out
    assert "1 scenarios (supreme_court 0, bia 1, circuit 0, chart 0), 1 expectations" in out
    assert "totals: held 1 (100.0%), hedged 0 (0.0%), missed 0 (0.0%), wrong 0 (0.0%)" in out
    # the law says the forgery is a CIMT: a scenario saying it is not gets a wrong result from a right engine
    assert main([str(folder(tmp_path, "absent", "imm.cimt"))]) == 1
    assert "wrong   bia-alyazji-forgery  plea: imm.cimt expected absent, got applies" in capsys.readouterr().out
    assert main([str(folder(tmp_path, "absent", "imm.no_such_code"))]) == 2
    assert "expect.plea.absent: no rule concludes 'imm.no_such_code'" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == textwrap.dedent(f"""\
        1 problem(s) in casebook:
          {tmp_path / 'nowhere'}: not a folder
        """)
