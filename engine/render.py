"""Render the consultation memo from the result data with Jinja (strict undefined: a missing value is an
error, never a blank in a legal memo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from .errors import InputError, Problem

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
SEVERITY_LABEL = {"critical": "CRITICAL", "high": "High", "medium": "Medium", "low": "Low", "info": "Info", "none": "—"}


def environment(folder: Path = TEMPLATES_DIR) -> jinja2.Environment:
    from .yamlsrc import cache_dir
    cache = cache_dir()
    bcc = jinja2.FileSystemBytecodeCache(str(cache.parent / "templates")) if cache else None
    if cache:
        (cache.parent / "templates").mkdir(mode=0o700, exist_ok=True)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                             bytecode_cache=bcc)
    env.filters["sev"] = lambda s: SEVERITY_LABEL.get(s, s)
    env.filters["money"] = lambda v: f"${v:,.2f}" if v >= 0 else f"−${-v:,.2f}"
    env.filters["cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    return env


def render(result: dict[str, Any], template: str = "memo.md.j2", folder: Path = TEMPLATES_DIR) -> str:
    env = environment(folder)
    try:
        tpl = env.get_template(template)
        return tpl.render(r=result)
    except jinja2.TemplateSyntaxError as exc:
        raise InputError("template", [Problem(exc.filename or template, exc.lineno, "", exc.message or "syntax error")]) from None
    except jinja2.UndefinedError as exc:
        raise InputError("template", [Problem(str(folder / template), 0, "", f"undefined value: {exc.message}")]) from None
    except jinja2.TemplateNotFound as exc:
        raise InputError("template", [Problem(str(folder), 0, "", f"template not found: {exc.name}")]) from None
