"""`packs check` and `packs test`: schema and reference checks over every pack, and the named test cases."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from engine.compile.compiler import CompileError, compile_program
from engine.compile.facts import FACTS
from engine.law.packs import EARLIEST_CASE_DATE, Pack, PackSet, TestCase, TestFile, catalog_problems
from engine.model.casefile import model_at, parse_case, problems_from_validation
from engine.model.errors import InputError, Problem
from engine.model.yamlsrc import Located, load_file

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


def check(ps: PackSet, today: dt.date, release: bool = False) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings for every pack. With `release`, draft rules (and catalog entries) of a pack whose
    manifest says `stability: stable` are errors."""
    errors = list(ps.problems)
    warnings: list[Problem] = []
    for pack in ps.packs:
        for found in (review_problems(pack, release), lock_problems(pack)):
            errors.extend(found[0])
            warnings.extend(found[1])
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
            if not r.id.startswith(pack.id + ".") and not (pack.overlay and r.overrides == r.id):
                errors.append(Problem(lr.file, lr.line, r.id, f"rule id must start with the pack id '{pack.id}.'"))
            prefix = r.then.code.split(".")[0]
            if prefix not in CODE_PREFIXES:
                errors.append(Problem(lr.file, lr.line, f"{r.id}: then.code", f"unknown code prefix '{prefix}'; expected one of {', '.join(sorted(CODE_PREFIXES))}"))
            elif prefix == "imm" and r.then.code not in IMMIGRATION_CODES:
                warnings.append(Problem(lr.file, lr.line, f"{r.id}: then.code", f"'{r.then.code}' is not one of the fixed immigration codes of the result format; it is a pack extension"))
            for c in r.citations:
                if not PINPOINT.search(c.cite):
                    warnings.append(Problem(lr.file, lr.line, f"{r.id}: citations", f"'{c.cite}' has no pinpoint (section, subsection or page)"))
        errors.extend(catalog_problems(pack, vocab))
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
                    problems.extend(problems_from_validation(exc, src, model_at(TestFile)))
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


# ---------------------------------------------------------------- review status and change discipline
def review_problems(pack: Pack, release: bool = False) -> tuple[list[Problem], list[Problem]]:
    """A reviewed rule or catalog entry names its reviewer and the date; `overrides` is only for office overlays;
    with `release`, a stable pack has no draft rule or catalog entry."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    stable = pack.manifest.stability == "stable"
    for lr in [*pack.rules, *pack.retired]:
        r = lr.rule
        if r.status == "reviewed" and (not r.reviewed_by or r.reviewed_on is None):
            missing = " and ".join(k for k, v in (("reviewed_by", r.reviewed_by), ("reviewed_on", r.reviewed_on)) if not v)
            errors.append(Problem(lr.file, lr.line, f"{r.id}: status", f"a reviewed rule names its reviewer and date: add {missing}"))
        if r.overrides and not pack.overlay:
            errors.append(Problem(lr.file, lr.line, f"{r.id}: overrides",
                                  "only a rule of an office overlay (--packs DIR) overrides a bundled rule"))
        if release and stable and r.status == "draft":
            errors.append(Problem(lr.file, lr.line, f"{r.id}: status",
                                  f"draft rule in {pack.id}, whose manifest says stability: stable: review it (status: reviewed, "
                                  "reviewed_by, reviewed_on) or mark the pack experimental"))
    if pack.catalog:
        cat_file = str(pack.folder / "catalog.yaml")
        src = pack.sources.get(cat_file)
        for i, e in enumerate(pack.catalog):
            line = src.line(("offenses", i)) if src else 1
            if e.status == "reviewed" and (not e.reviewed_by or e.reviewed_on is None):
                errors.append(Problem(cat_file, line, f"{e.statute}: status",
                                      "a reviewed catalog entry names its reviewer and date: add reviewed_by and reviewed_on"))
            if release and stable and e.status == "draft":
                errors.append(Problem(cat_file, line, f"{e.statute}: status",
                                      f"draft entry in {pack.id}, whose manifest says stability: stable"))
    return errors, warnings


def _semver(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in v.split("."))
    except ValueError:
        return (0,)


def read_lock(pack: Pack) -> tuple[Optional[dict[str, Any]], Optional[Problem]]:
    import json

    from engine.author.authoring import LOCK_NAME
    path = pack.folder / LOCK_NAME
    if not path.exists():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, Problem(str(path), 1, pack.id, f"not a readable lock file ({exc}); rewrite it: collateral packs lock")
    if not isinstance(data, dict) or not isinstance(data.get("rules"), dict) or not isinstance(data.get("version"), str):
        return None, Problem(str(path), 1, pack.id, "not a lock file (pack, version, rules, parameters); rewrite it: collateral packs lock")
    return data, None


def lock_problems(pack: Pack) -> tuple[list[Problem], list[Problem]]:
    """Compare the pack with its pack.lock.json: a rule or parameter that changed while the version stayed the
    same is an error; so is a version without a changelog line, one lower than the lock's, and a lock not
    rewritten after a version bump. A rule or parameter added or removed without a bump is a warning; a pack
    without a lock file too."""
    from engine.author.authoring import LOCK_NAME, lock_data
    lock_path = str(pack.folder / LOCK_NAME)
    manifest = str(pack.folder / "pack.yaml")
    lock, bad = read_lock(pack)
    if bad is not None:
        return [bad], []
    if lock is None:
        return [], [Problem(lock_path, 0, pack.id, "no lock file: run `collateral packs lock` and commit pack.lock.json")]
    errors: list[Problem] = []
    warnings: list[Problem] = []
    now = lock_data(pack)
    version, locked = pack.manifest.version, lock["version"]
    where = {lr.rule.id: (lr.file, lr.line) for lr in [*pack.rules, *pack.retired]}
    changed: list[Problem] = []
    added: list[Problem] = []
    for section, label in (("rules", "rule"), ("parameters", "parameter")):
        old: dict[str, str] = lock.get(section) or {}
        new: dict[str, str] = now[section]
        for key in sorted(set(old) | set(new)):
            file, line = where.get(key, (str(pack.folder / "parameters.yaml"), 1) if section == "parameters" else (manifest, 1))
            if key in old and key in new and old[key] != new[key]:
                changed.append(Problem(file, line, key, f"{label} changed since {LOCK_NAME} (version {locked})"))
            elif key not in old:
                added.append(Problem(file, line, key, f"{label} added since {LOCK_NAME} (version {locked})"))
            elif key not in new:
                added.append(Problem(lock_path, 1, key, f"{label} removed since {LOCK_NAME} (version {locked})"))
    fix = "bump version in pack.yaml, add a changelog line for it, then run `collateral packs lock`"
    if version == locked:
        errors.extend(Problem(p.file, p.line, p.field, f"{p.message} without a version bump: {fix}") for p in changed)
        warnings.extend(Problem(p.file, p.line, p.field, f"{p.message} without a version bump: {fix}") for p in added)
        return errors, warnings
    if _semver(version) < _semver(locked):
        errors.append(Problem(manifest, 1, "version", f"version {version} is lower than {locked}, the version in {LOCK_NAME}"))
    if not any(c.version == version for c in pack.manifest.changelog):
        errors.append(Problem(manifest, 1, "changelog", f"version {version} has no changelog line: add "
                              f"{{version: {version}, date: YYYY-MM-DD, changes: \"...\"}}"))
    errors.append(Problem(lock_path, 1, pack.id, f"{LOCK_NAME} records version {locked}, the pack is {version}: "
                          "run `collateral packs lock` and commit it with the version bump"))
    return errors, warnings


# ---------------------------------------------------------------- what the tests exercise
def exercised_rules(engine: Any, tests: list[PackTest]) -> dict[str, list[tuple[str, str]]]:
    """rule id -> (test name, test file) of every test case that makes the rule fire (at least as possible)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for pt in sorted(tests, key=lambda t: (str(t.file), t.index)):
        fired: set[str] = set()
        run_test(engine, pt, fired)
        for rid in fired:
            out.setdefault(rid, []).append((pt.name, str(pt.file)))
    return out


class FiringLog:
    """Records, while tests run on an engine, which disjunct of which rule fired and how: `a` (its condition was
    true: the finding applies) or `p` (unknown: possible). Disjuncts are the branches of the rule's condition in
    disjunctive normal form, as the compiler builds them (docs/rule-authoring.md §8, coverage)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.hits: dict[str, dict[int, set[str]]] = {}
        self.disjuncts: dict[str, list[Any]] = {}
        original = engine.run_option

        def run_option(*args: Any, **kwargs: Any) -> Any:
            run = original(*args, **kwargs)
            for r in run.program.rules:
                self.disjuncts.setdefault(r.id, r.disjuncts)
            for f in run.firings:
                rid = run.program.rules[f.rule].id
                self.hits.setdefault(rid, {}).setdefault(f.disjunct, set()).add(f.mode)
            return run

        setattr(engine, "run_option", run_option)   # noqa: B010 (an instance attribute over the method)


def describe_disjunct(d: Any) -> str:
    """One branch of a compiled condition: the findings it reads and the facts it tests."""
    from engine.compile.compiler import leaves
    parts = []
    for ref in d.refs:
        if ref.kind == "pos":
            parts.append(f"finding {ref.code}")
        elif ref.kind == "neg":
            parts.append(f"no finding {ref.code}")
        else:
            parts.append(f"count of {ref.code} {ref.op} {ref.n}" + (" (separate schemes)" if ref.separate else ""))
    seen: list[str] = []
    for lf in leaves(d.opt) + leaves(d.cnt):
        for p in lf.paths:
            if p not in seen:
                seen.append(p)
    if seen:
        parts.append("facts " + ", ".join(seen))
    return "; ".join(parts) or "always"


def coverage_report(ps: PackSet, log: FiringLog) -> tuple[list[str], int, int]:
    """Lines per rule: how many of its disjuncts the tests made fire, each as applies (true) and/or possible
    (unknown), and what the others read. Returns (lines, disjuncts exercised, disjuncts)."""
    from engine.compile.compiler import APPLICANT
    lines: list[str] = []
    hit_total = total = 0
    for pack in sorted(ps.packs, key=lambda p: p.id):
        for lr in sorted(pack.rules, key=lambda lr: lr.rule.id):
            rid = lr.rule.id
            ds = log.disjuncts.get(rid)
            if ds is None:
                lines.append(f"{rid}: not compiled for any test case (no test of its jurisdiction or date)")
                continue
            hits = log.hits.get(rid, {})
            n = len(ds)
            done = sum(1 for i in range(n) if i in hits)
            total += n
            hit_total += done
            lines.append(f"{rid}: {done} of {n} disjuncts exercised")
            for i, d in enumerate(ds):
                modes = hits.get(i, set())
                side = ("applies and possible" if modes == {"a", "p"} else "applies only" if modes == {"a"}
                        else "possible only" if modes == {"p"} else "NEVER")
                lines.append(f"  [{i + 1}] {side}: {describe_disjunct(d)}")
            view = log.hits.get(rid + APPLICANT)
            if view is not None and rid + APPLICANT in log.disjuncts:
                lines.append(f"  applicant's view: {len(view)} of {len(log.disjuncts[rid + APPLICANT])} disjuncts exercised")
    return lines, hit_total, total
