"""Consequence families (rules/families.yaml): every finding code belongs to one family, so that a docket counts
the same consequence the same way across jurisdictions. Data, not code: see the file's header for the patterns."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.law.packs import RULES_DIR
from engine.model.errors import InputError, Problem
from engine.model.yamlsrc import load_file

FAMILIES_FILE = RULES_DIR / "families.yaml"
_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_PATTERN = re.compile(r"^[a-z][a-z0-9_*]*(\.([A-Za-z0-9_*]+))*(\.\*\*)?$")


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    harm: bool
    patterns: tuple[str, ...]


def _part_regex(part: str) -> str:
    return "".join("[^.]*" if ch == "*" else re.escape(ch) for ch in part)


def _compile(pattern: str) -> re.Pattern[str]:
    parts = pattern.split(".")
    tail = ""
    if parts[-1] == "**":
        parts, tail = parts[:-1], r"(\.[^.]+)+"
    return re.compile("^" + r"\.".join(_part_regex(p) for p in parts) + tail + "$")


class Families:
    """The families of one families file, in file order, and the family of any finding code."""

    def __init__(self, families: list[Family], digest: str, file: str = "") -> None:
        self.families = families
        self.digest = digest
        self.file = file
        self.names = [f.name for f in families]
        self.by_name = {f.name: f for f in families}
        self._exact: dict[str, str] = {}
        self._globs: list[tuple[re.Pattern[str], str]] = []
        for fam in families:
            for p in fam.patterns:
                if "*" in p:
                    self._globs.append((_compile(p), fam.name))
                else:
                    self._exact.setdefault(p, fam.name)
        self._memo: dict[str, str] = {}

    def matches(self, code: str) -> list[str]:
        """Every family whose codes match `code` (exactly one for a well-formed file)."""
        out = [name for p, name in self._globs if p.match(code)]
        if code in self._exact:
            out.insert(0, self._exact[code])
        return list(dict.fromkeys(out))

    def family_of(self, code: str, domain: str = "") -> str:
        """The family of a finding code: the first family that names it, else `<domain>.unmapped`."""
        fam = self._memo.get(code)
        if fam is None:
            found = self.matches(code)
            fam = found[0] if found else f"{domain or code.split('.')[0]}.unmapped"
            self._memo[code] = fam
        return fam

    def check(self, codes: Iterable[str]) -> list[str]:
        """Problems with `codes` (those the packs conclude): a code no family names, or one that several do."""
        problems = []
        for code in sorted(set(codes)):
            found = self.matches(code)
            if not found:
                problems.append(f"{code}: no family in {self.file or 'families.yaml'} names this code")
            elif len(found) > 1:
                problems.append(f"{code}: named by several families: {', '.join(found)}")
        return problems


def parse(data: Any, file: str) -> Families:
    problems: list[Problem] = []
    if not isinstance(data, dict) or not isinstance(data.get("families"), dict):
        raise InputError("families file", [Problem(file, 1, "families", "expected a mapping `families:` of family name -> {title, codes}")])
    fams: list[Family] = []
    for name, spec in data["families"].items():
        where = f"families.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(Problem(file, 0, where, "a family is named <area>.<consequence> in lower_snake_case"))
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("codes"), list) or not spec["codes"]:
            problems.append(Problem(file, 0, where, "expected {title, codes: [code or pattern, ...]}"))
            continue
        unknown = set(spec) - {"title", "codes", "harm"}
        if unknown:
            problems.append(Problem(file, 0, where, f"unknown field(s): {', '.join(sorted(map(str, unknown)))}"))
        bad = [p for p in spec["codes"] if not isinstance(p, str) or not _PATTERN.match(p) or "**" in p[:-2]]
        if bad:
            problems.append(Problem(file, 0, where + ".codes", f"not a code or pattern: {', '.join(map(str, bad))}"))
            continue
        fams.append(Family(name, str(spec.get("title") or name), bool(spec.get("harm", True)), tuple(spec["codes"])))
    if problems:
        raise InputError("families file", problems)
    digest = "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return Families(fams, digest, file)


@lru_cache(maxsize=4)
def load(path: Path = FAMILIES_FILE) -> Families:
    """The families file (rules/families.yaml by default), parsed once per process."""
    src = load_file(path)
    return parse(src.data, str(path))


def pack_codes(packset: Any) -> set[str]:
    """Every code a rule of the packs concludes."""
    return {lr.rule.then.code for p in packset.packs for lr in p.rules}

