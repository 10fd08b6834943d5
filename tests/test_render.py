"""Templates fail loudly: a missing value or a syntax error is an error naming the template, never a blank.
Rendering keeps no bytecode cache (an unpickled cache shared between users could run another user's code)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model.errors import InputError
from engine.present.render import environment, render_template


def test_an_undefined_value_is_an_error_not_a_blank(tmp_path: Path) -> None:
    (tmp_path / "memo.html.j2").write_text("Case {{ r.case_id }} for {{ r.client_name }}\n")
    with pytest.raises(InputError) as exc:
        render_template("memo.html.j2", tmp_path, r={"case_id": "X"})
    assert "undefined value" in str(exc.value) and "client_name" in str(exc.value)


def test_a_syntax_error_names_the_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "memo.html.j2").write_text("line one\n{% if r.case_id %}\nno endif\n")
    with pytest.raises(InputError) as exc:
        render_template("memo.html.j2", tmp_path, r={"case_id": "X"})
    problem = exc.value.problems[0]
    assert problem.file.endswith("memo.html.j2") and problem.line == 3


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="template not found: memo.html.j2"):
        render_template("memo.html.j2", tmp_path, r={})


def test_html_templates_escape_and_no_bytecode_cache_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLATERAL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "t.html.j2").write_text("<p>{{ x }}</p>")
    assert render_template("t.html.j2", tmp_path, x="<script>alert(1)</script>") == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert environment(tmp_path).bytecode_cache is None
    assert not (tmp_path / "cache").exists() and not (tmp_path / "templates").exists()
