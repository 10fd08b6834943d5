"""`packs check` and `packs test`: schema and reference checks over every pack, and the named test cases."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .casefile import parse_case, problems_from_validation
from .compiler import CompileError, compile_program
from .errors import InputError, Problem
from .facts import FACTS
from .packs import Pack, PackSet, TestCase, TestFile
from .yamlsrc import Located, load_file

IMMIGRATION_CODES = {
    "imm.conviction", "imm.cimt", "imm.petty_offense_exception", "imm.controlled_substance_offense",
    "imm.marijuana_personal_use_exception", "imm.crime_of_violence", "imm.aggravated_felony",
    *(f"imm.aggravated_felony.{c}" for c in "ABCDEFGHIJKLMNOPQRSTU"),
    "imm.deportable.cimt", "imm.deportable.multiple_cimts", "imm.deportable.aggravated_felony",
    "imm.deportable.high_speed_flight", "imm.deportable.sex_offender_registration", "imm.deportable.controlled_substance",
    "imm.deportable.drug_abuser", "imm.deportable.firearm", "imm.deportable.domestic_violence", "imm.deportable.stalking",
    "imm.deportable.child_abuse", "imm.deportable.protection_order_violation", "imm.inadmissible.cimt",
    "imm.inadmissible.controlled_substance", "imm.inadmissible.multiple_convictions", "imm.inadmissible.drug_trafficker",
    "imm.inadmissible.prostitution", "imm.inadmissible.false_claim_citizenship", "imm.travel_risk",
    "imm.detention.mandatory", "imm.relief_bar.cancellation_lpr", "imm.relief_bar.cancellation_nonlpr",
    "imm.relief_bar.stop_time", "imm.relief_bar.asylum", "imm.relief_bar.withholding", "imm.relief_bar.voluntary_departure",
    "imm.relief_bar.waiver_212h", "imm.bar.naturalization", "imm.bar.daca", "imm.bar.tps", "imm.bar.reentry",
}
CODE_PREFIXES = {"imm": "immigration", "employment": "employment", "licensing": "licensing", "fines": "fines",
                 "firearms": "firearms", "voting": "voting", "jury": "jury", "housing": "housing", "benefits": "benefits",
                 "driving": "driving", "registration": "registration", "education": "education", "family": "family",
                 "relief": "relief"}
# a pinpoint: a section, a page after the first page ("569 U.S. 184, 190"), a subsection "(a)" (a year "(2006)"
# is not one), "at 12", a paragraph, an article, a chapter, a decimal section number
PINPOINT = re.compile(r"§|\d+\s*,\s*\d+|\((?!\d{4}\))\w+\)|\bat \d+|¶|\bpara|\barts?\.|\bch\.|\d+\.\d+")
UNVERIFIED_LIMIT = 0.05   # share of a catalog's entries not checked against the statute's text


def check(ps: PackSet, today: dt.date) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings for every pack."""
    errors = list(ps.problems)
    warnings: list[Problem] = []
    vocab = set((ps.vocabulary.get("elements") or {}).keys())
    for path in FACTS:
        if path not in ps.questions:
            errors.append(Problem("rules/questions.yaml", 1, path, "fact has no question for when it is unknown"))
    seen_rules: dict[str, str] = {}
    for pack in ps.packs:
        for lr in pack.rules:
            r = lr.rule
            if r.id in seen_rules:
                errors.append(Problem(lr.file, lr.line, r.id, f"duplicate rule id (also in {seen_rules[r.id]})"))
            seen_rules[r.id] = lr.file
            if not r.id.startswith(pack.id + "."):
                errors.append(Problem(lr.file, lr.line, r.id, f"rule id must start with the pack id '{pack.id}.'"))
            prefix = r.then.code.split(".")[0]
            if prefix not in CODE_PREFIXES:
                errors.append(Problem(lr.file, lr.line, f"{r.id}: then.code", f"unknown code prefix '{prefix}'; expected one of {', '.join(sorted(CODE_PREFIXES))}"))
            elif prefix == "imm" and r.then.code not in IMMIGRATION_CODES:
                warnings.append(Problem(lr.file, lr.line, f"{r.id}: then.code", f"'{r.then.code}' is not one of the fixed immigration codes of the result format; it is a pack extension"))
            for c in r.citations:
                if not PINPOINT.search(c.cite):
                    warnings.append(Problem(lr.file, lr.line, f"{r.id}: citations", f"'{c.cite}' has no pinpoint (section, subsection or page)"))
        errors.extend(_catalog_problems(pack, vocab))
        if pack.catalog:
            cat_file = str(pack.folder / "catalog.yaml")
            unverified = [e for e in pack.catalog if e.verified is None]
            share = len(unverified) / len(pack.catalog)
            note = (f"{len(unverified)} of {len(pack.catalog)} entries ({share:.0%}) not verified against the statute's text"
                    f" (limit {UNVERIFIED_LIMIT:.0%})")
            if share > UNVERIFIED_LIMIT and pack.manifest.catalog_verification == "required":
                errors.append(Problem(cat_file, 1, pack.id, note, ""))
            elif unverified:
                warnings.append(Problem(cat_file, 1, pack.id, note + (" — catalog_verification: pending"
                                                                       if pack.manifest.catalog_verification == "pending" else "")))
            src = pack.sources.get(cat_file)
            for i, e in enumerate(pack.catalog):
                for a in [*e.authorities, *(a for p in e.prongs for a in p.authorities)]:
                    if not PINPOINT.search(a.cite):
                        warnings.append(Problem(cat_file, src.line(("offenses", i)) if src else 1, f"{e.statute}: authorities",
                                                f"'{a.cite}' has no pinpoint (section, subsection or page)"))
        errors.extend(_parameter_coverage(pack))
        for jur_circuit in _circuits(pack):
            try:
                compile_program([pack] + _dependencies(ps, pack), today, jur_circuit, vocab, check_all=True,
                                license_tags=set((ps.vocabulary.get("licenses") or {}).keys()))
            except CompileError as exc:
                for p in exc.problems:
                    if p not in errors:
                        errors.append(p)
        errors.extend(_untested(pack))
    return sorted(set(errors)), sorted(set(warnings))


EARLIEST_CASE_DATE = dt.date(1900, 1, 1)   # a rule with no effective date is checked from here


def _params_in(v: Any) -> list[str]:
    if isinstance(v, dict):
        if set(v) == {"param"} and isinstance(v["param"], str):
            return [v["param"]]
        return [p for x in v.values() for p in _params_in(x)]
    if isinstance(v, list):
        return [p for x in v for p in _params_in(x)]
    return []


def _parameter_coverage(pack: Pack) -> list[Problem]:
    """A rule must not be in force on a date for which a parameter it reads has no value."""
    out: list[Problem] = []
    for lr in pack.rules:
        r = lr.rule
        start = r.effective.from_ if r.effective else EARLIEST_CASE_DATE
        for name in sorted(set(_params_in(r.when) + _params_in(r.then.amount))):
            p = pack.parameters.get(name)
            if p is None:
                continue   # reported by the compiler with a suggestion
            first = min(v.from_ for v in p.values)
            if first > start:
                out.append(Problem(lr.file, lr.line, r.id,
                                   f"parameter '{name}' has no value before {first.isoformat()}, but the rule is in force from "
                                   f"{'the beginning' if start == EARLIEST_CASE_DATE else start.isoformat()}; give the rule "
                                   f"effective: {{from: {first.isoformat()}}} or the parameter an earlier value"))
    return out


def _circuits(pack: Pack) -> list[Optional[int]]:
    return [None]


def _dependencies(ps: PackSet, pack: Pack) -> list[Pack]:
    """Packs whose codes this pack may read: the federal packs, for a state pack."""
    if pack.manifest.jurisdiction == "US":
        return [p for p in ps.packs if p is not pack and p.manifest.jurisdiction == "US" and p.manifest.domain != "offenses"]
    return [p for p in ps.packs if p.manifest.jurisdiction == "US" and p.manifest.domain != "offenses"]


def _catalog_problems(pack: Pack, vocab: set[str]) -> list[Problem]:
    from .errors import nearest
    out: list[Problem] = []
    src = pack.sources.get(str(pack.folder / "catalog.yaml"))
    keys: dict[str, int] = {}
    from .catalog import normalize_statute
    for i, e in enumerate(pack.catalog):
        line = src.line(("offenses", i)) if src else 0
        file = str(pack.folder / "catalog.yaml")
        for key in [e.statute, *e.aliases]:
            k = normalize_statute(key)
            if k in keys and keys[k] != i:
                out.append(Problem(file, line, e.statute, f"statute key '{key}' is also used by entry {keys[k] + 1}"))
            keys.setdefault(k, i)
        for _j, attrs in [(-1, e), *enumerate(e.prongs)]:
            for t in attrs.elements or []:
                if t not in vocab:
                    out.append(Problem(file, line, f"{e.statute}: elements", f"unknown element tag '{t}'", nearest(t, vocab)))
        if e.divisible and not e.prongs:
            out.append(Problem(file, line, e.statute, "divisible: true needs prongs"))
        if e.prongs and not e.divisible:
            out.append(Problem(file, line, e.statute, "prongs given but divisible is not true"))
        ids = [p.id for p in e.prongs]
        if len(ids) != len(set(ids)):
            out.append(Problem(file, line, e.statute, "prong ids must be unique"))
    return out


def _untested(pack: Pack) -> list[Problem]:
    named: set[str] = set()
    for f in pack.test_files:
        try:
            src = load_file(f)
        except InputError:
            continue
        for t in (src.data or {}).get("tests", []) if isinstance(src.data, dict) else []:
            for exp in (t.get("expect") or {}).values() if isinstance(t, dict) else []:
                for key in ("applies", "possible", "absent"):
                    named.update((exp or {}).get(key, []) or [])
    return [Problem(lr.file, lr.line, lr.rule.id, f"no test names its code {lr.rule.then.code}")
            for lr in pack.rules if lr.rule.then.code not in named]


# ---------------------------------------------------------------- tests
def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


@dataclass
class PackTest:
    pack: Pack
    file: Path
    line: int
    index: int
    test: TestCase
    case_data: dict[str, Any]
    src: Located

    @property
    def name(self) -> str:
        return self.test.name


def collect_tests(ps: PackSet) -> tuple[list[PackTest], list[Problem]]:
    tests: list[PackTest] = []
    problems: list[Problem] = []
    for pack in ps.packs:
        for f in sorted(pack.test_files):
            try:
                src = load_file(f)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            try:
                tf = TestFile.model_validate(src.data if src.data is not None else {})
            except Exception as exc:  # pydantic ValidationError
                from pydantic import ValidationError
                if isinstance(exc, ValidationError):
                    problems.extend(problems_from_validation(exc, src))
                    continue
                raise
            base = tf.defaults.get("case", {})
            for i, t in enumerate(tf.tests):
                tests.append(PackTest(pack, f, src.line(("tests", i)), i, t, deep_merge(base, t.case), src))
    return tests, problems


def run_test(engine: Any, pt: PackTest, fired: Optional[set[str]] = None, strict: bool = False) -> list[str]:
    """The failures of one test (empty when it passes); adds the rules that fired to `fired`.

    `todo` codes are known gaps: the test passes while they are absent and fails once they fire. With
    `strict`, every finding of the pack under test (a rule id starting with the pack id) on an option the test
    has expectations for must be named by them (applies, possible, absent, amounts, todo) or listed under
    `ignore`."""
    lines = {k[3:]: v for k, v in pt.src.lines.items() if k[:3] == ("tests", pt.index, "case")}
    lines[()] = pt.line
    shifted = Located(pt.case_data, lines, str(pt.file))
    try:
        case = parse_case(shifted)
    except InputError as exc:
        return [f"the test's case file is invalid: {p}" for p in exc.problems]
    result = engine.advise(case)
    if fired is not None:
        fired.update(r for o in result["options"] for f in o["findings"] for r in f["rules"])
    failures: list[str] = []
    options = {o["id"]: o for o in result["options"]}
    own = pt.pack.id + "."
    for oid, exp in pt.test.expect.items():
        if oid not in options:
            failures.append(f"no option '{oid}' in the case")
            continue
        found: dict[str, set[str]] = {}
        for f in options[oid]["findings"]:
            found.setdefault(f["code"], set()).add(f["status"])
        for code in exp.applies:
            if "applies" not in found.get(code, set()):
                failures.append(f"{oid}: expected {code} to apply; got {sorted(found.get(code, [])) or 'nothing'}")
        for code in exp.possible:
            st = found.get(code, set())
            if st != {"possible"}:
                failures.append(f"{oid}: expected {code} to be possible; got {sorted(st) or 'nothing'}")
        for code in exp.absent:
            if code in found:
                failures.append(f"{oid}: expected no {code}; got {sorted(found[code])}")
        for code in exp.todo:
            if code in found:
                failures.append(f"{oid}: {code}: todo code now fires ({', '.join(sorted(found[code]))}): promote it to applies")
        for code, want in exp.amounts.items():
            got = [f["amount"] for f in options[oid]["findings"] if f["code"] == code and f["amount"] is not None]
            if not got or abs(sum(got) - want) > 0.005:
                failures.append(f"{oid}: expected {code} to amount to {want:.2f}; got {', '.join(f'{g:.2f}' for g in got) or 'no amount'}")
        if exp.total is not None and abs(options[oid]["financial"]["total"] - exp.total) > 0.005:
            failures.append(f"{oid}: expected a financial total of {exp.total:.2f}; got {options[oid]['financial']['total']:.2f}")
        if strict:
            named = {*exp.applies, *exp.possible, *exp.absent, *exp.amounts, *exp.todo, *exp.ignore}
            unnamed: dict[str, set[str]] = {}
            for f in options[oid]["findings"]:
                if f["code"] not in named and any(r.startswith(own) for r in f["rules"]):
                    unnamed.setdefault(f["code"], set()).add(f["status"])
            for code, st in sorted(unnamed.items()):
                failures.append(f"{oid}: strict: {code} ({', '.join(sorted(st))}) is not named by the test; "
                                f"add it to applies or possible, or to ignore if it is irrelevant here")
    return failures


def iter_results(engine: Any, tests: list[PackTest], fired: Optional[set[str]] = None,
                 strict: bool = False) -> Iterator[tuple[PackTest, list[str]]]:
    for pt in tests:
        yield pt, run_test(engine, pt, fired, strict)


def unfired_rules(ps: PackSet, fired: set[str]) -> list[str]:
    """Rules that no test case makes fire (not even as `possible`)."""
    return sorted(lr.rule.id for p in ps.packs for lr in p.rules if lr.rule.id not in fired)
