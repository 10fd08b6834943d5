"""Rule packs: manifest, dated parameters, rules, offense catalog and tests, loaded and checked."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.law.catalog import CatalogEntry, normalize_statute
from engine.law.conditions import expand_uses
from engine.model.casefile import problems_from_validation
from engine.model.errors import InputError, Problem, nearest
from engine.model.yamlsrc import Located, load_file, read_bounded

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
EARLIEST_CASE_DATE = dt.date(1900, 1, 1)   # a rule with no effective date is checked from here; no case before it

Kind = Literal["consequence", "classification", "relief"]
Domain = Literal["immigration", "employment", "licensing", "fines", "firearms", "voting", "jury", "housing",
                 "benefits", "driving", "registration", "education", "family", "relief"]
Severity = Literal["critical", "high", "medium", "low", "info"]
Certainty = Literal["clear", "likely", "unsettled", "circuit_split"]
SEVERITY_ORDER = ("info", "low", "medium", "high", "critical")


class M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class ChangelogEntry(M):
    version: str
    date: dt.date
    changes: str


class Manifest(M):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$")
    title: str
    jurisdiction: str = Field(pattern=r"^US(-[A-Z]{2})?$")
    domain: str = Field(pattern=r"^[a-z_]+$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    current_through: dt.date
    maintainers: list[str] = Field(min_length=1)
    changelog: list[ChangelogEntry] = []
    # offense catalogs: `required` (at most 5% of entries unverified against the statute's text, or `packs check`
    # fails) or `pending` (a catalog written before verification was recorded: counted and reported, not failed)
    catalog_verification: Literal["required", "pending"] = "required"
    # stable: `packs check --release` fails on its draft rules; experimental (the default): drafts are allowed
    stability: Literal["experimental", "stable"] = "experimental"


class ParamValue(M):
    from_: dt.date = Field(alias="from")
    to: Optional[dt.date] = None
    value: Any
    cite: str = Field(min_length=3)


class Parameter(M):
    description: str
    unit: Literal["days", "months", "years", "grams", "usd", "count", "list", "ratio", "percent", "date", "text"]
    values: list[ParamValue] = Field(min_length=1)


class ParameterFile(M):
    parameters: dict[str, Parameter]


class Citation(M):
    cite: str = Field(min_length=3)
    url: Optional[str] = None
    note: Optional[str] = None


class Effective(M):
    from_: dt.date = Field(alias="from")
    to: Optional[dt.date] = None


class Conclusion(M):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-zA-Z0-9_]+)+$")
    kind: Kind
    domain: Domain
    severity: Severity
    mandatory: bool = True
    duration: Optional[str] = None
    padilla: Optional[Literal["clear", "risk"]] = None
    title: str = Field(min_length=3)
    summary: str = Field(min_length=3)
    explanation: str = Field(min_length=3)
    mitigations: list[str] = []
    record_checklist: list[str] = []
    amount: Any = None                 # an expression (engine/compile/expr.py): the dollar figure of a fines finding
    timeline: Optional[str] = None     # when the consequence starts and ends, and when relief opens
    audience: Literal["client", "general"] = "client"   # general: touches anyone so convicted (voting, jury...)


Status = Literal["draft", "reviewed", "retired"]


class Rule(M):
    id: str
    title: str = Field(min_length=3)
    status: Status                        # retired: kept for the record, never compiled
    reviewed_by: Optional[str] = None     # required when status is reviewed (`packs check`)
    reviewed_on: Optional[dt.date] = None
    overrides: Optional[str] = None       # an office overlay's rule that replaces this bundled rule id
    effective: Optional[Effective] = None
    certainty: Certainty
    circuits: Optional[list[int]] = None
    scope: Literal["count", "option"]
    # who bears the burden of proof on the consequence (docs/rule-authoring.md §5, "Burden of proof"):
    # government (removability), applicant (admission, relief); a silent record of conviction is resolved by it
    burden: Optional[Literal["government", "applicant"]] = None
    # record facts that this rule's law proves by any reliable evidence, not only the record of conviction (the
    # circumstance-specific approach, Nijhawan v. Holder, 557 U.S. 29, 38-40 (2009)): not resolved by the burden
    circumstance_specific: list[str] = []
    citations: list[Citation] = Field(min_length=1)
    when: Any
    then: Conclusion
    notes: Optional[str] = None


class RuleFile(M):
    # named reusable conditions: a condition `{use: NAME}` stands for conditions[NAME] (expanded when loading)
    conditions: dict[str, Any] = {}
    rules: list[Rule]


class DerivedFact(M):
    path: str = Field(pattern=r"^(client|case|option|count)\.[a-z0-9_.]+$")
    type: Literal["number", "int"] = "number"
    effective: Optional[Effective] = None   # outside these dates the fact is unknown
    description: str = Field(min_length=3)
    value: Any
    cite: str = Field(min_length=3)


class DerivedFile(M):
    derived: list[DerivedFact]


class Catalog(M):
    # the ways attorneys write each code of this catalog: canonical key prefix -> other names
    # (e.g. "PC": ["Penal Code", "Cal. Penal Code", "Pen. Code"]); matched after normalization
    codes: dict[str, list[str]] = {}
    offenses: list[CatalogEntry]


class TestExpect(M):
    applies: list[str] = []
    possible: list[str] = []
    absent: list[str] = []
    amounts: dict[str, float] = {}     # code -> the sum of its amounts on this option (hand-computed)
    total: Optional[float] = None      # the option's financial total (amounts that apply)
    ignore: list[str] = []             # codes the test does not care about (`packs test --strict`)
    todo: list[str] = []               # known gaps: codes that should apply but no rule produces yet


class TestCase(M):
    name: str = Field(min_length=5)
    case: dict[str, Any]
    expect: dict[str, TestExpect]


class TestFile(M):
    defaults: dict[str, Any] = {}
    tests: list[TestCase] = Field(min_length=1)


@dataclass
class LocatedRule:
    rule: Rule
    file: str
    line: int
    pack: Pack


@dataclass
class Pack:
    folder: Path
    manifest: Manifest
    digest: str
    parameters: dict[str, Parameter] = field(default_factory=dict)
    rules: list[LocatedRule] = field(default_factory=list)
    catalog: list[CatalogEntry] = field(default_factory=list)
    catalog_codes: dict[str, list[str]] = field(default_factory=dict)
    derived: list[tuple[DerivedFact, str, int]] = field(default_factory=list)
    test_files: list[Path] = field(default_factory=list)
    sources: dict[str, Located] = field(default_factory=dict)
    retired: list[LocatedRule] = field(default_factory=list)   # status: retired: documented, never compiled
    overlay: bool = False                                       # loaded from an office overlay (--packs DIR)

    @property
    def id(self) -> str:
        return self.manifest.id

    def param_on(self, name: str, on: dt.date) -> Any:
        p = self.parameters[name]
        for v in sorted(p.values, key=lambda x: x.from_, reverse=True):
            if v.from_ <= on and (v.to is None or on < v.to):
                return v.value
        raise KeyError(f"parameter {name} has no value in force on {on.isoformat()}")



def _validate(model: type[M], src: Located, kind: str, problems: list[Problem]) -> Optional[Any]:
    try:
        return model.model_validate(src.data if src.data is not None else {})
    except ValidationError as exc:
        for p in problems_from_validation(exc, src):
            problems.append(p)
        return None


def load_pack(folder: Path, problems: list[Problem]) -> Optional[Pack]:
    man_src = _load(folder / "pack.yaml", problems)
    if man_src is None:
        return None
    manifest = _validate(Manifest, man_src, "manifest", problems)
    if manifest is None:
        return None
    h = hashlib.sha256()
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for f in files:
        h.update(f.name.encode())
        try:
            h.update(read_bounded(f))
        except InputError as exc:
            problems.extend(exc.problems)
    pack = Pack(folder, manifest, "sha256:" + h.hexdigest())
    pack.sources[str(man_src.file)] = man_src
    for f in files:
        if f.name == "pack.yaml":
            continue
        if f.name.endswith(".test.yaml"):
            pack.test_files.append(f)
            continue
        if f.name == "schedules.yaml" and manifest.domain == "offenses":
            continue   # the federal drug schedules: read and checked by engine/law/schedules.py (in the pack's digest)
        src = _load(f, problems)
        if src is None:
            continue
        pack.sources[src.file] = src
        if f.name == "parameters.yaml":
            pf = _validate(ParameterFile, src, "parameters", problems)
            if pf:
                pack.parameters.update(pf.parameters)
        elif f.name == "catalog.yaml":
            cat = _validate(Catalog, src, "catalog", problems)
            if cat:
                pack.catalog.extend(cat.offenses)
                pack.catalog_codes.update(cat.codes)
        elif f.name == "derived.yaml":
            dfile = _validate(DerivedFile, src, "derived", problems)
            if dfile:
                for i, d in enumerate(dfile.derived):
                    pack.derived.append((d, src.file, src.line(("derived", i))))
        elif f.name.endswith(".rules.yaml"):
            # named conditions (`use: NAME`): expanded before the compiler sees them
            expanded = Located(expand_uses(src, problems), src.lines, src.file)
            rf = _validate(RuleFile, expanded, "rules", problems)
            if rf:
                for i, r in enumerate(rf.rules):
                    lr = LocatedRule(r, src.file, src.line(("rules", i)), pack)
                    (pack.retired if r.status == "retired" else pack.rules).append(lr)
        else:
            problems.append(Problem(src.file, 1, "", "unexpected file in a pack; expected pack.yaml, parameters.yaml, derived.yaml, catalog.yaml, *.rules.yaml or *.test.yaml"))
    return pack


def _load(path: Path, problems: list[Problem]) -> Optional[Located]:
    try:
        return load_file(path, cache=True)
    except InputError as exc:
        problems.extend(exc.problems)
        return None


def _wanted(folder: Path, jurisdictions: set[str]) -> bool:
    try:
        juris = (load_file(folder / "pack.yaml", cache=True).data or {}).get("jurisdiction")
    except InputError:
        return True   # let the full load report it
    return juris == "US" or juris in jurisdictions


def discover(root: Path = RULES_DIR) -> list[Path]:
    return sorted(p.parent for p in root.rglob("pack.yaml"))


def stray_folders(root: Path = RULES_DIR) -> list[Path]:
    """Folders under root that hold rule files but no pack.yaml (or hold nothing at all): they are not loaded,
    so they are reported, never skipped silently."""
    packs = set(discover(root))
    out: list[Path] = []
    for folder in sorted(p for p in root.rglob("*") if p.is_dir()):
        rel = folder.relative_to(root).parts
        if folder in packs or any(part.startswith((".", "__")) for part in rel):
            continue
        entries = list(folder.iterdir())
        has_rules = any(e.is_file() and e.suffix in (".yaml", ".yml") for e in entries)
        inside_pack = any(a in packs for a in folder.parents)   # a pack reads only the files beside its pack.yaml
        if has_rules or inside_pack or not any(e.is_dir() for e in entries):
            out.append(folder)
    return out


def _folder_jurisdiction(folder: Path, root: Path) -> str:
    """rules/us-ca/... -> US-CA (the layout's convention), for folders without a manifest."""
    return folder.relative_to(root).parts[0].upper()


def load_checks(packs: list[Pack], vocabulary: dict[str, Any]) -> list[Problem]:
    """The load-time checks that `advise` runs on what it loads, as `packs check` does: a rule id used twice
    (one rule would be dropped), catalog entries (unknown element tags, statute keys used twice, prongs), and
    derived facts that depend on each other in a cycle."""
    problems: list[Problem] = []
    seen_rules: dict[str, str] = {}
    vocab = set((vocabulary.get("elements") or {}).keys())
    for pack in packs:
        for lr in pack.rules:
            if lr.rule.id in seen_rules:
                problems.append(Problem(lr.file, lr.line, lr.rule.id, f"duplicate rule id (also in {seen_rules[lr.rule.id]})"))
            seen_rules[lr.rule.id] = lr.file
        if pack.catalog:
            problems.extend(catalog_problems(pack, vocab))
    problems.extend(derived_cycles(packs))
    return problems


def _fact_refs(v: Any) -> list[str]:
    if isinstance(v, dict):
        own = [v["fact"]] if isinstance(v.get("fact"), str) else []
        return own + [r for k, x in v.items() if k != "fact" for r in _fact_refs(x)]
    if isinstance(v, list):
        return [r for x in v for r in _fact_refs(x)]
    return []


def derived_cycles(packs: list[Pack]) -> list[Problem]:
    """Derived facts whose values read each other in a circle (a -> b -> a): reported as a cycle, not as an
    'unknown fact'."""
    defs = {d.path: (d, file, line) for p in packs for d, file, line in p.derived}
    graph = {path: [r for r in _fact_refs(d.value) if r in defs] for path, (d, _f, _l) in defs.items()}
    problems: list[Problem] = []
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(path: str, stack: list[str]) -> None:
        state[path] = 1
        for nxt in graph[path]:
            if state.get(nxt) == 1:
                chain = stack + [path]
                cycle = chain[chain.index(nxt):]
                members = frozenset(cycle)
                if members not in reported:
                    reported.add(members)
                    first = min(cycle)
                    i = cycle.index(first)
                    ring = cycle[i:] + cycle[:i] + [first]
                    _d, file, line = defs[first]
                    problems.append(Problem(file, line, first, f"derived facts depend on each other in a cycle: {' -> '.join(ring)}"))
            elif state.get(nxt) is None:
                visit(nxt, stack + [path])
        state[path] = 2

    for path in sorted(graph):
        if state.get(path) is None:
            visit(path, [])
    return problems


def coverage(pack: Pack) -> tuple[Optional[dt.date], dt.date]:
    """The dates a pack covers: from its earliest dated rule (None when no rule is dated, as in an offense
    catalog) through its manifest's current_through."""
    starts = [lr.rule.effective.from_ for lr in pack.rules if lr.rule.effective is not None]
    return (min(starts) if starts else None), pack.manifest.current_through


STALE_AFTER = dt.timedelta(days=365)


def coverage_warnings(packs: list[Pack], on: dt.date) -> list[str]:
    """Warnings for the packs whose coverage does not reach `on`, each named with its coverage: `on` before its
    earliest rule date (the law of that time is not encoded), or more than a year after it is current through
    (later changes in the law are not reflected)."""
    before: list[str] = []
    after: list[str] = []
    for p in sorted(packs, key=lambda p: p.id):
        start, through = coverage(p)
        if start is not None and on < start:
            before.append(f"{p.id} (covers {start.isoformat()} to {through.isoformat()})")
        elif on - through > STALE_AFTER:
            after.append(f"{p.id} (current through {through.isoformat()})")
    out: list[str] = []
    if before:
        out.append(f"The law is applied as of {on.isoformat()}, before the coverage of {', '.join(before)}: the law of "
                   "that time is not encoded, so consequences may be missing or wrong.")
    if after:
        out.append(f"The law is applied as of {on.isoformat()}, more than a year after {', '.join(after)}: later "
                   "changes in the law are not reflected.")
    return out


@dataclass
class PackSet:
    packs: list[Pack]
    problems: list[Problem]
    vocabulary: dict[str, Any]
    questions: dict[str, str]
    record_labels: dict[str, str] = field(default_factory=dict)   # record fact -> what the record would establish

    def by_id(self, pack_id: str) -> Pack:
        return next(p for p in self.packs if p.id == pack_id)


def load_all(root: Path = RULES_DIR, jurisdictions: Optional[set[str]] = None) -> PackSet:
    """Every pack under root, or only those of the given jurisdictions (federal packs are always loaded)."""
    problems: list[Problem] = []
    packs: list[Pack] = []
    for folder in discover(root):
        if jurisdictions is not None and not _wanted(folder, jurisdictions):
            continue
        pack = load_pack(folder, problems)
        if pack is not None:
            packs.append(pack)
    seen: dict[str, Pack] = {}
    for p in packs:
        if p.id in seen:
            problems.append(Problem(str(p.folder / "pack.yaml"), 1, "id", f"pack id '{p.id}' is also used by {seen[p.id].folder}"))
        seen[p.id] = p
    vocab_src = _load(root / "vocabulary.yaml", problems)
    questions_src = _load(root / "questions.yaml", problems)
    vocabulary = vocab_src.data if vocab_src and isinstance(vocab_src.data, dict) else {}
    qdata = questions_src.data if questions_src and isinstance(questions_src.data, dict) else {}
    for folder in stray_folders(root):
        juris = _folder_jurisdiction(folder, root)
        if jurisdictions is None or juris in jurisdictions | {"US"} or not juris.startswith("US"):
            problems.append(Problem(str(folder), 0, "", "a folder without pack.yaml: its files are not loaded; add a "
                                                          "pack.yaml (docs/rule-authoring.md) or remove the folder"))
    problems.extend(p for p in load_checks(packs, vocabulary) if p not in problems)
    return PackSet(packs, problems, vocabulary, qdata.get("questions", {}), qdata.get("record_labels", {}))


def catalog_problems(pack: Pack, vocab: set[str]) -> list[Problem]:
    """Problems of a catalog: statute keys used twice, unknown element tags, prongs without divisibility."""
    out: list[Problem] = []
    src = pack.sources.get(str(pack.folder / "catalog.yaml"))
    keys: dict[str, int] = {}
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
