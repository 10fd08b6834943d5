"""Templates fail loudly: a missing value or a syntax error is an error naming the template, never a blank."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InputError
from engine.render import render


def test_an_undefined_value_is_an_error_not_a_blank(tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_text("Case {{ r.case_id }} for {{ r.client_name }}\n")
    with pytest.raises(InputError) as exc:
        render({"case_id": "X"}, folder=tmp_path)
    assert "undefined value" in str(exc.value) and "client_name" in str(exc.value)


def test_a_syntax_error_names_the_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "memo.md.j2").write_text("line one\n{% if r.case_id %}\nno endif\n")
    with pytest.raises(InputError) as exc:
        render({"case_id": "X"}, folder=tmp_path)
    problem = exc.value.problems[0]
    assert problem.file.endswith("memo.md.j2") and problem.line == 3


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="template not found: memo.md.j2"):
        render({}, folder=tmp_path)
