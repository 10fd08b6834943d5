"""The casebook: scenarios that each reproduce a published decision or a practitioner chart's row, run against
the engine and scored.

A scenario file (`tests/casebook/<slug>.yaml`) names its authority (`source`, with a pinpoint), the `kind` of
authority, the `holding` it tests, a complete case file (`case`, format 1) and, per plea option, the codes the
law says apply, are possible (the law itself is open) or are absent. The expectations come from the law, not
from the tool: the casebook measures the engine against the decisions.

Every expected code is classified by comparing the expected status with the status the engine reports for
that option (`applies` when any finding with the code applies, else `possible` when one is possible, else
`absent`):

| expected \\ got | applies | possible | absent |
|---|---|---|---|
| applies  | held   | hedged | missed |
| absent   | wrong  | hedged | held   |
| possible | hedged | held   | wrong  |

An expected `possible` (the law is genuinely open) answered `applies` is `hedged`: the tool overstates the
certainty, but in the direction that warns the client, and does not contradict the risk. Answered `absent` it
is `wrong`: the tool tells counsel there is no risk where the law leaves one open, the error Padilla v.
Kentucky, 559 U.S. 356, 368-69 (2010), is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.model.casefile import CaseFile, parse_case
from engine.model.errors import InputError, Problem, nearest
from engine.model.yamlsrc import Located, dotted, load_file

Kind = Literal["supreme_court", "bia", "circuit", "chart"]
Status = Literal["applies", "possible", "absent"]
Outcome = Literal["held", "hedged", "missed", "wrong"]
OUTCOMES: tuple[Outcome, ...] = ("held", "hedged", "missed", "wrong")
KINDS: tuple[Kind, ...] = ("supreme_court", "bia", "circuit", "chart")

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
APPLICANT_SUFFIX = "~applicant"   # the applicant's view of a classification (engine.compile.compiler.APPLICANT): not a finding


# ---------------------------------------------------------------- the file format
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    """What the law says of one plea option: codes that apply, that the law leaves open, that do not apply."""

    applies: list[str] = []
    possible: list[str] = []
    absent: list[str] = []

    @field_validator("applies", "possible", "absent")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        for code in v:
            if not CODE.match(code):
                raise ValueError(f"'{code}' is not a finding code (e.g. imm.aggravated_felony.G)")
        if len(set(v)) != len(v):
            raise ValueError("a code is listed twice")
        return v

    @model_validator(mode="after")
    def _disjoint(self) -> Expectation:
        seen: dict[str, str] = {}
        for status in ("applies", "possible", "absent"):
            for code in getattr(self, status):
                if code in seen:
                    raise ValueError(f"'{code}' is expected both as {seen[code]} and as {status}")
                seen[code] = status
        if not seen:
            raise ValueError("no expectation: list at least one code under applies, possible or absent")
        return self

    def items(self) -> list[tuple[str, Status]]:
        out: list[tuple[str, Status]] = [(c, "applies") for c in self.applies]
        out += [(c, "possible") for c in self.possible]
        out += [(c, "absent") for c in self.absent]
        return out


class ScenarioFile(_Strict):
    source: str = Field(min_length=1)
    kind: Kind
    holding: str = Field(min_length=1)
    case: dict[str, Any]
    expect: dict[str, Expectation] = Field(min_length=1)


@dataclass(frozen=True)
class Scenario:
    slug: str
    file: str
    source: str
    kind: Kind
    holding: str
    case: CaseFile
    expect: dict[str, Expectation]
    case_data: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


def _problems(exc: ValidationError, src: Located) -> list[Problem]:
    out: list[Problem] = []
    valid = list(ScenarioFile.model_fields)
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and (p.startswith("function-") or "[" in p)))
        kind = err["type"]
        suggestion = ""
        if kind == "extra_forbidden":
            names = valid if len(loc) == 1 else list(Expectation.model_fields)
            suggestion = nearest(str(loc[-1]), names)
            msg = f"unknown field; expected one of: {', '.join(names)}"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "literal_error":
            msg = f"'{err.get('input')}' is not valid; expected one of: {', '.join(KINDS)}"
            suggestion = nearest(str(err.get("input")), KINDS)
        else:
            msg = err["msg"]
        out.append(Problem(src.file, src.line(loc), dotted(loc), msg, suggestion))
    return out


def load_file_scenario(path: Path) -> Scenario:
    """One scenario file, validated; InputError lists every problem with file, line and field."""
    src = load_file(path)
    problems: list[Problem] = []
    if not SLUG.match(path.stem):
        problems.append(Problem(str(path), 1, "", f"file name '{path.name}' is not <slug>.yaml (lower case, digits, hyphens)"))
    if not isinstance(src.data, dict):
        raise InputError("casebook scenario", [*problems, Problem(str(path), 1, "", "expected a mapping with source, kind, holding, case, expect")])
    sf: Optional[ScenarioFile] = None
    try:
        sf = ScenarioFile.model_validate(src.data)
    except ValidationError as exc:
        problems += _problems(exc, src)
    case: Optional[CaseFile] = None
    if isinstance(src.data.get("case"), dict):   # the case is checked even when the rest of the file is not valid
        case_src = Located(src.data["case"], {k[1:]: v for k, v in src.lines.items() if k[:1] == ("case",)}, str(path))
        case_src.lines.setdefault((), src.line(("case",)))
        try:
            case = parse_case(case_src)
        except InputError as exc:
            problems += [Problem(p.file, p.line, f"case.{p.field}" if p.field else "case", p.message, p.suggestion)
                         for p in exc.problems]
    if sf is None or case is None:
        raise InputError("casebook scenario", problems)
    option_ids = [o.id for o in case.options]
    for oid in sf.expect:
        if oid not in option_ids:
            problems.append(Problem(str(path), src.line(("expect", oid)), f"expect.{oid}",
                                    f"no option '{oid}' in the case; options: {', '.join(option_ids)}", nearest(oid, option_ids)))
    if problems:
        raise InputError("casebook scenario", problems)
    return Scenario(path.stem, str(path), sf.source, sf.kind, sf.holding, case, dict(sf.expect), sf.case)


def load(directory: Path | str) -> list[Scenario]:
    """Every `*.yaml` scenario in the folder, sorted by slug; one InputError lists the problems of all files."""
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError("casebook", [Problem(str(folder), 0, "", "not a folder")])
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            scenarios.append(load_file_scenario(path))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError("casebook", problems)
    return scenarios


def check_references(scenarios: Iterable[Scenario], codes: set[str], element_tags: set[str]) -> list[Problem]:
    """Expected codes that no rule concludes, and element tags outside the vocabulary (the case-file schema does
    not check tags, and an unknown tag would silently match nothing)."""
    out: list[Problem] = []
    for s in scenarios:
        for oid, exp in s.expect.items():
            for code, status in exp.items():
                if code not in codes:
                    out.append(Problem(s.file, 0, f"expect.{oid}.{status}", f"no rule concludes '{code}'", nearest(code, codes)))
        for where, count in _counts(s.case):
            for tag in count.offense.elements or []:
                if tag not in element_tags:
                    out.append(Problem(s.file, 0, f"case.{where}.offense.elements", f"unknown element tag '{tag}'", nearest(tag, element_tags)))
    return out


def _counts(case: CaseFile) -> Iterable[tuple[str, Any]]:
    for i, h in enumerate(case.history):
        yield f"history[{i}]", h
    for o in case.options:
        for j, c in enumerate(o.counts):
            yield f"options.{o.id}.counts[{j}]", c


def pack_codes(packset: Any) -> set[str]:
    """Every code some rule of the pack set concludes."""
    return {lr.rule.then.code for p in packset.packs for lr in p.rules}


# ---------------------------------------------------------------- scoring
def classify(expected: Status, got: Status) -> Outcome:
    """The outcome of one expectation (see the table in the module docstring)."""
    if expected == got:
        return "held"
    if got == "possible":
        return "hedged"
    if expected == "applies":
        return "missed"        # got absent
    if expected == "absent":
        return "wrong"         # got applies
    return "hedged" if got == "applies" else "wrong"   # expected possible


def status_of(option: Mapping[str, Any], code: str) -> Status:
    """The status an option's result gives a code: applies if any finding with it applies, else possible if
    any is possible, else absent. The applicant's view of a classification is not a finding."""
    seen: set[str] = set()
    for f in option.get("findings", []):
        if f.get("code") != code or f.get("view") == "applicant" or APPLICANT_SUFFIX in str(f.get("id", "")):
            continue
        seen.add(str(f.get("status")))
    if "applies" in seen:
        return "applies"
    if "possible" in seen:
        return "possible"
    return "absent"


@dataclass(frozen=True)
class Check:
    option: str
    code: str
    expected: Status
    got: Status
    outcome: Outcome


@dataclass
class ScenarioResult:
    scenario: Scenario
    checks: list[Check] = field(default_factory=list)
    error: Optional[str] = None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.checks if c.outcome == outcome)


@dataclass
class Report:
    results: list[ScenarioResult]

    @property
    def checks(self) -> list[Check]:
        return [c for r in self.results for c in r.checks]

    @property
    def errors(self) -> list[ScenarioResult]:
        return [r for r in self.results if r.error is not None]

    def totals(self) -> dict[Outcome, int]:
        return {o: sum(r.count(o) for r in self.results) for o in OUTCOMES}

    def share(self, outcome: Outcome) -> float:
        n = len(self.checks)
        return self.totals()[outcome] / n if n else 0.0

    def by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {k: 0 for k in KINDS}
        for r in self.results:
            out[r.scenario.kind] += 1
        return out


def score(scenario: Scenario, result: Mapping[str, Any]) -> list[Check]:
    """The checks of one scenario against an engine result document."""
    options = {o["id"]: o for o in result.get("options", [])}
    checks: list[Check] = []
    for oid, exp in scenario.expect.items():
        opt = options.get(oid, {})
        for code, expected in exp.items():
            got = status_of(opt, code)
            checks.append(Check(oid, code, expected, got, classify(expected, got)))
    return checks


class _Advisor(Protocol):
    def advise(self, case: CaseFile) -> dict[str, Any]: ...


def run(engine: _Advisor, scenarios: Iterable[Scenario]) -> Report:
    """Evaluate every scenario with the engine (no counter-offers) and classify every expected code. An engine
    failure on one scenario is recorded on it and the others still run."""
    results: list[ScenarioResult] = []
    for s in scenarios:
        try:
            result = engine.advise(s.case)
        except Exception as exc:  # noqa: BLE001 - reported per scenario, never swallowed silently
            results.append(ScenarioResult(s, [], f"{type(exc).__name__}: {exc}"))
            continue
        results.append(ScenarioResult(s, score(s, result)))
    return Report(results)


# ---------------------------------------------------------------- the report
def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_report(report: Report, details: bool = True) -> str:
    """A table of the scenarios (slug, source, held/hedged/missed/wrong), the totals with percentages and, with
    `details`, every expectation that did not hold."""
    rows: list[tuple[str, ...]] = [("scenario", "kind", "source", "held", "hedged", "missed", "wrong")]
    for r in report.results:
        s = r.scenario
        if r.error is not None:
            rows.append((s.slug, s.kind, _cut(s.source, 60), "ERROR", "", "", ""))
        else:
            rows.append((s.slug, s.kind, _cut(s.source, 60), *(str(r.count(o)) for o in OUTCOMES)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[j].ljust(widths[j]) if j < 3 else row[j].rjust(widths[j]) for j in range(len(row))]
        lines.append("  ".join(cells).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    totals = report.totals()
    n = len(report.checks)
    kinds = report.by_kind()
    lines.append("")
    lines.append(f"{len(report.results)} scenarios (" + ", ".join(f"{k} {v}" for k, v in kinds.items()) + f"), {n} expectations")
    lines.append("totals: " + ", ".join(f"{o} {totals[o]} ({100 * report.share(o):.1f}%)" for o in OUTCOMES))
    if report.errors:
        lines.append(f"engine errors: {len(report.errors)} scenario(s): " + ", ".join(r.scenario.slug for r in report.errors))
    if details:
        bad = [(r, c) for r in report.results for c in r.checks if c.outcome != "held"]
        if bad or report.errors:
            lines.append("")
            lines.append("not held:")
        for r, c in bad:
            lines.append(f"  {c.outcome:6}  {r.scenario.slug}  {c.option}: {c.code} expected {c.expected}, got {c.got}")
        for r in report.errors:
            lines.append(f"  error   {r.scenario.slug}: {r.error}")
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    """`python -m engine.author.casebook [FOLDER]`: run the casebook and print the report; exit 1 if any expectation
    is wrong or any scenario failed to run, 2 on a bad scenario file."""
    import importlib
    import sys

    from engine.law.packs import load_all

    # imported by name: the casebook scores any object with `advise(case)`, and stays independent of the
    # evaluator's internals (engine.explain.evaluate), which change more often than its result document
    engine_cls: Any = importlib.import_module("engine.explain.evaluate").Engine

    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "tests" / "casebook"
    try:
        scenarios = load(folder)
    except InputError as exc:
        print(exc, file=sys.stderr)
        return 2
    packset = load_all()
    problems = check_references(scenarios, pack_codes(packset), set((packset.vocabulary.get("elements") or {}).keys()))
    if problems:
        print(InputError("casebook", problems), file=sys.stderr)
        return 2
    report = run(engine_cls(packset, "durable"), scenarios)
    print(format_report(report), end="")
    return 1 if report.totals()["wrong"] or report.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
