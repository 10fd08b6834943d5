"""Shared by the memo, format and letter tests: the bundled examples' results (computed once) and a case
whose free-text fields are hostile."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import yaml

from engine.explain.evaluate import Engine
from engine.law.packs import load_all
from engine.model.casefile import CaseFile, parse_case
from engine.model.yamlsrc import load_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
CA = ROOT / "examples" / "ca-theft-lpr.yaml"
HOSTILE_LABEL = "Offer | A\n# Injected heading\n<script>alert('x')</script> **bold** [link](http://evil.example)"
HOSTILE_NAME = "Ann <b>Bold</b> | #1 & Co"
HOSTILE_CASE_ID = "CR|42\n## nope"


@functools.lru_cache(maxsize=1)
def engine() -> Engine:
    return Engine(load_all())


@functools.cache
def _result(path: str) -> dict[str, Any]:
    return engine().advise(parse_case(load_file(Path(path))), alternatives=True)


def result(path: Path) -> dict[str, Any]:
    return copy.deepcopy(_result(str(path)))


@functools.lru_cache(maxsize=1)
def _hostile() -> dict[str, Any]:
    data = yaml.safe_load(CA.read_text())
    data["case_id"] = HOSTILE_CASE_ID
    data["client"]["name"] = HOSTILE_NAME
    data["client"]["employment"]["occupation"] = "teller | <i>x</i>\n# h"
    data["options"][0]["label"] = HOSTILE_LABEL
    return engine().advise(CaseFile.model_validate(data), alternatives=True)


def hostile() -> dict[str, Any]:
    return copy.deepcopy(_hostile())


def words(text: str) -> int:
    """Words as `wc -w` counts them."""
    return len(text.split())


def page_one(md: str) -> str:
    return md[:md.index("\n## Client")]


def plain(md: str) -> str:
    """Markdown text with its escapes removed and whitespace collapsed (to compare with other formats)."""
    return " ".join(re.sub(r"\\(.)", r"\1", md).replace("**", "").split())
