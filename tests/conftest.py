from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.explain.evaluate import Engine
from engine.law.packs import RULES_DIR, load_all
from engine.model.casefile import CaseFile

ROOT = Path(__file__).resolve().parent.parent

# Never read or write the user's cache (engine/model/yamlsrc.py cache_dir): no cache while test modules are collected
# (some load the packs at import), then a fresh folder for the session (the fixture below).
os.environ["COLLATERAL_CACHE"] = "off"
MANIFEST = """\
id: t.chain
title: Test chain pack
jurisdiction: US
domain: immigration
version: 1.0.0
current_through: 2026-01-01
maintainers: [tests]
"""


def make_rules(tmp: Path, rules: str, parameters: str = "", extra: dict[str, str] | None = None) -> Path:
    """A rules folder with the real vocabulary and questions and one test pack."""
    root = tmp / "rules"
    pack = root / "t" / "chain"
    pack.mkdir(parents=True)
    shutil.copy(RULES_DIR / "vocabulary.yaml", root / "vocabulary.yaml")
    shutil.copy(RULES_DIR / "questions.yaml", root / "questions.yaml")
    (pack / "pack.yaml").write_text(MANIFEST)
    (pack / "chain.rules.yaml").write_text(textwrap.dedent(rules))
    if parameters:
        (pack / "parameters.yaml").write_text(textwrap.dedent(parameters))
    for name, text in (extra or {}).items():
        (pack / name).write_text(textwrap.dedent(text))
    return root


def case(data: str | dict[str, Any]) -> CaseFile:
    return CaseFile.model_validate(yaml.safe_load(textwrap.dedent(data)) if isinstance(data, str) else data)


def findings(result: dict[str, Any], option: str | None = None) -> dict[str, dict[str, Any]]:
    opt = result["options"][0] if option is None else next(o for o in result["options"] if o["id"] == option)
    return {f["id"]: f for f in opt["findings"]}


@pytest.fixture(scope="session", autouse=True)
def temporary_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The parsed-YAML and template caches live in a temporary folder for the whole session."""
    folder = tmp_path_factory.mktemp("collateral-cache") / "yaml"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLLATERAL_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def real_packs() -> Any:
    ps = load_all()
    assert not ps.problems, "\n".join(map(str, ps.problems))
    return ps


@pytest.fixture(scope="session")
def durable_engine(real_packs: Any) -> Engine:
    return Engine(real_packs, "durable")


@pytest.fixture(scope="session")
def plain_engine(real_packs: Any) -> Engine:
    return Engine(real_packs, "plain")
