"""Case files: validation errors name file, line, field, what was expected and the nearest valid name."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model.casefile import load_case
from engine.model.errors import InputError

GOOD = """\
format: 1
jurisdiction: US-CA
client:
  immigration: {status: lpr, admission_date: 2015-06-01}
options:
  - id: offer
    counts:
      - offense: {statute: "PC 487(a)"}
"""


def write(tmp_path: Path, text: str, name: str = "case.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_a_valid_case_file_loads(tmp_path: Path) -> None:
    c = load_case(write(tmp_path, GOOD))
    assert c.client.immigration.status == "lpr"
    assert c.options[0].counts[0].offense.statute == "PC 487(a)"


def test_unknown_is_not_false_it_is_absent(tmp_path: Path) -> None:
    c = load_case(write(tmp_path, GOOD.replace("status: lpr", "status: unknown, prior_removal: unknown")))
    assert c.client.immigration.status is None
    assert c.client.immigration.prior_removal is None


def test_all_errors_are_reported_together_with_line_field_and_suggestion(tmp_path: Path) -> None:
    text = GOOD.replace("status: lpr", "status: lrp, admision_date: 2015-06-01").replace(
        '      - offense: {statute: "PC 487(a)"}', '      - offense: {statute: "PC 487(a)"}\n        sentance: {custody_days: 30}')
    path = write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        load_case(path)
    lines = [str(p) for p in sorted(exc.value.problems)]
    assert lines == [
        f"{path}:4: client.immigration.admision_date: unknown field; expected one of: status, admission_date, lpr_date, "
        "residence_since, lpr_admitted_at_port, goals, conduct, prior_relief, prior_removal (did you mean 'admission_date'?)",
        f"{path}:4: client.immigration.status: 'lrp' is not valid; expected one of: us_citizen, us_national, lpr, "
        "conditional_lpr, refugee, asylee, nonimmigrant, daca, tps, parolee, undocumented (did you mean 'lpr'?)",
        f"{path}:9: options[0].counts[0].sentance: unknown field; expected one of: offense, committed_on, convicted_on, "
        "record, disposition, plea, sentence (did you mean 'sentence'?)",
    ]


def test_missing_required_fields_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "format: 1\njurisdiction: US-CA\n")
    with pytest.raises(InputError) as exc:
        load_case(path)
    assert [str(p) for p in exc.value.problems] == [f"{path}:1: options: required field is missing"]


def test_suspended_time_cannot_exceed_the_custody_term(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "        sentence: {custody_days: 30, suspended_days: 60}\n")
    with pytest.raises(InputError) as exc:
        load_case(path)
    assert "suspended_days cannot exceed custody_days" in str(exc.value)


def test_duplicate_option_ids_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "  - id: offer\n    counts:\n      - offense: {statute: X}\n")
    with pytest.raises(InputError, match="option id 'offer' is used twice"):
        load_case(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "format: 1\njurisdiction: [US-CA\n")
    with pytest.raises(InputError) as exc:
        load_case(path)
    assert str(exc.value.problems[0]).startswith(f"{path}:3: not valid YAML")


def test_json_case_files_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, '{"format": 1, "jurisdiction": "US-NY", "options": [{"id": "a", "counts": [{"offense": {"statute": "PL 155.25"}}]}]}', "case.json")
    assert load_case(path).jurisdiction == "US-NY"
