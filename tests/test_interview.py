"""The interview asks only decisive questions, most serious first, and saves a valid case file; scripted
answers and terminal input both drive it."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from cli import main

PARTIAL = """\
format: 1
jurisdiction: US-CA
as_of: 2026-11-26
client:
  immigration: {status: lpr, goals: [remain], conduct: [], prior_relief: [], prior_removal: false}
  licenses: []
  benefits: []
  civic: {owns_firearm: false, registered_voter: false}
  finances: {annual_income: 30000, household_size: 2}
options:
  - id: offer
    counts:
      - offense: {statute: "PC 487(a)"}
        committed_on: 2026-03-14
        disposition: conviction
        plea: guilty
        record: {protection_order_violation_found: false}
        sentence: {custody_days: 365, fine: 0, registration: none, probation_months: 0}
"""


def test_scripted_answers_fill_the_decisive_facts_and_save_a_valid_case(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(PARTIAL)
    answers = tmp_path / "answers.yaml"
    answers.write_text("client.immigration.admission_date: 2024-01-15\n")
    out = tmp_path / "full.yaml"
    r = CliRunner().invoke(main, ["interview", str(case), "--answers", str(answers), "-o", str(out)])
    assert r.exit_code == 0, r.output
    data = yaml.safe_load(out.read_text())
    assert data["client"]["immigration"]["admission_date"] == "2024-01-15"
    assert data["options"] == yaml.safe_load(PARTIAL)["options"]   # nothing else was invented


def test_terminal_answers_are_validated_and_asked_again(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(PARTIAL)
    out = tmp_path / "full.yaml"
    r = CliRunner().invoke(main, ["interview", str(case), "-o", str(out)], input="last spring\n2024-01-15\n" + "\n" * 40)
    assert r.exit_code == 0, r.output
    assert "On what date was the client last lawfully admitted" in r.output
    assert "expected a date" in r.output
    assert yaml.safe_load(out.read_text())["client"]["immigration"]["admission_date"] == "2024-01-15"


def test_the_first_question_is_the_most_serious_one(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(PARTIAL)
    r = CliRunner().invoke(main, ["interview", str(case), "-o", str(tmp_path / "o.yaml")], input="\n" * 40)
    first = r.output.strip().splitlines()[0]
    assert first.startswith("On what date was the client last lawfully admitted")
    assert "stakes: critical" in r.output.splitlines()[2]


def test_a_complete_case_asks_nothing(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(PARTIAL.replace("status: lpr,", "status: lpr, admission_date: 2010-01-01, lpr_date: 2010-01-01,")
                    .replace("  licenses: []", "  birth_date: 1990-01-01\n  employment: {sectors: []}\n  licenses: []")
                    .replace("probation_months: 0}", "probation_months: 0, restitution: 0}"))
    r = CliRunner().invoke(main, ["interview", str(case), "-o", str(tmp_path / "o.yaml")], input="")
    assert r.exit_code == 0
    assert "answer" not in r.output
