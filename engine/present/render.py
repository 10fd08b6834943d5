"""Render documents from the result data with Jinja (strict undefined: a missing value is an error, never a
blank in a legal memo). HTML templates autoescape; every other format is written from the rendered HTML
(engine/present/), so text from the case file is escaped once for each format.

No bytecode cache: Jinja's cache is unpickled on load, and a cache folder shared with another user could run
that user's code. Compiling the templates takes milliseconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from engine.model.errors import InputError, Problem
from engine.present.common import SEVERITY_LABEL, money

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def environment(folder: Path = TEMPLATES_DIR, translations: Any = None) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                             autoescape=jinja2.select_autoescape(["html", "htm", "xml", "html.j2"], default_for_string=True),
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True
    if translations is None:
        env.install_null_translations(newstyle=True)   # type: ignore[attr-defined]
    else:
        env.install_gettext_translations(translations, newstyle=True)   # type: ignore[attr-defined]
    env.filters["sev"] = lambda s: SEVERITY_LABEL.get(s, s)
    env.filters["money"] = money
    env.filters["cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    return env


def render_template(template: str, folder: Path = TEMPLATES_DIR, translations: Any = None, **context: Any) -> str:
    """TEMPLATE rendered with CONTEXT; a template error is an InputError naming the template and line."""
    env = environment(folder, translations)
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError("template", [Problem(exc.filename or template, exc.lineno, "", exc.message or "syntax error")]) from None
    except jinja2.UndefinedError as exc:
        raise InputError("template", [Problem(str(folder / template), 0, "", f"undefined value: {exc.message}")]) from None
    except jinja2.TemplateNotFound as exc:
        raise InputError("template", [Problem(str(folder), 0, "", f"template not found: {exc.name}")]) from None


def render(result: dict[str, Any], template: str = "memo.html.j2", folder: Path = TEMPLATES_DIR, appendix: bool = False) -> str:
    """The memo in Markdown (see engine/present for the other formats)."""
    from engine.present import memo_document
    out = memo_document(result, "md", appendix=appendix, template=template, folder=folder)
    assert isinstance(out, str)
    return out
