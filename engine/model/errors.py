"""Errors that point at the input: file, line, field, what was expected, and the nearest valid name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    field: str
    message: str
    suggestion: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = ": ".join(x for x in (where, self.field, self.message) if x)   # no empty place or field
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        return text


@dataclass
class InputError(Exception):
    """One or more problems in an input file; all are reported together."""

    kind: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{len(self.problems)} problem(s) in {self.kind}:"]
        lines += [f"  {p}" for p in sorted(self.problems)]
        return "\n".join(lines)


def nearest(name: str, choices: Iterable[str]) -> str:
    """The closest valid name, or '' when nothing is close."""
    found = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return found[0] if found else ""


class EngineError(RuntimeError):
    """The rule engine failed; results must not be trusted (never a silently missing finding)."""
