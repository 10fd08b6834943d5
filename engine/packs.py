"""Rule packs: manifest, dated parameters, rules, offense catalog and tests, loaded and checked."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .casefile import problems_from_validation
from .catalog import CatalogEntry
from .errors import InputError, Problem
from .yamlsrc import Located, load_file

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"

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
    amount: Any = None                 # an expression (engine/expr.py): the dollar figure of a fines finding
    timeline: Optional[str] = None     # when the consequence starts and ends, and when relief opens
    audience: Literal["client", "general"] = "client"   # general: touches anyone so convicted (voting, jury...)


class Rule(M):
    id: str
    title: str = Field(min_length=3)
    status: Literal["draft", "reviewed"]
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
        h.update(f.read_bytes())
    pack = Pack(folder, manifest, "sha256:" + h.hexdigest())
    pack.sources[str(man_src.file)] = man_src
    for f in files:
        if f.name == "pack.yaml":
            continue
        if f.name.endswith(".test.yaml"):
            pack.test_files.append(f)
            continue
        if f.name == "schedules.yaml" and manifest.domain == "offenses":
            continue   # the federal drug schedules: read and checked by engine/schedules.py (in the pack's digest)
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
            rf = _validate(RuleFile, src, "rules", problems)
            if rf:
                for i, r in enumerate(rf.rules):
                    pack.rules.append(LocatedRule(r, src.file, src.line(("rules", i)), pack))
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
    return PackSet(packs, problems, vocabulary, qdata.get("questions", {}), qdata.get("record_labels", {}))
