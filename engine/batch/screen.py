"""Screen a docket: every case of a folder, a JSON Lines file or a case-management CSV export through the rules,
one row per case and option (worst severity per area, flags by consequence family, money, open questions),
on all cores or on a Dask cluster (docs/screen.md).

The parent reads the input and hands each case out as data; a worker (a process of the pool, each building its
Engine once, or a Dask worker) evaluates it and sends back rows. A case that cannot be screened becomes a line of
the errors file and never stops the batch. Rows are written in the order of the input whatever the parallelism;
every finished case is journaled beside the output so that `--resume` skips what is done (same case, packs,
families and law date), and the output is replaced atomically at the end."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from engine import __version__
from engine.law.families import FAMILIES_FILE, Families
from engine.law.families import load as load_families
from engine.law.packs import SEVERITY_ORDER
from engine.model.errors import EngineError, InputError, Problem
from engine.model.yamlsrc import Located, load_text, read_bounded

FORMAT_VERSION = "collateral-screen/1"
# the areas a row reports the worst applying consequence of (the result format's domains, less relief)
AREAS = ("immigration", "employment", "licensing", "fines", "firearms", "voting", "jury", "housing", "benefits",
         "driving", "registration", "education", "family")
OUTPUT_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
SEVERITIES = tuple(reversed(SEVERITY_ORDER))          # critical first
_SEV = {s: i for i, s in enumerate(SEVERITY_ORDER)}


def _optional(module: str, what: str) -> Any:
    """A module of the `screen` extra (pyarrow, dask, rich), or an InputError saying how to install it."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError("screen", [Problem("", 0, "", f"{what} needs {module.split('.')[0]}: "
                                                       "pip install 'collateral[screen]' (docs/screen.md)")]) from None


# --------------------------------------------------------------------------------------------------- the work
@dataclass(frozen=True)
class Config:
    """What every worker needs to screen a case: picklable, sent once per worker (pool) or with each task (Dask)."""
    evaluator: str = "durable"
    as_of: Optional[dt.date] = None          # --as-of: the law of this date for every case
    today: dt.date = field(default_factory=dt.date.today)   # the law date of a case without as_of (fixed per run)
    memos: bool = False
    alternatives: bool = False
    families_file: Optional[str] = None      # None: the one installed with the worker's package (rules/families.yaml)
    version: str = __version__               # a worker of another version, or with other packs, refuses the case
    packs_digest: str = ""


@dataclass
class Item:
    """One case as the parent read it: its place in the input, where it came from, the resume key, and the case
    itself as data (data + lines from a JSON line or CSV rows) or as text (a case file)."""
    index: int
    case_id: str
    source: str
    key: str
    data: Any = None
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)
    text: Optional[str] = None
    error: str = ""                          # the parent could not read it (bad JSON line, inconsistent CSV rows)
    file: str = ""                           # the file that problems name (with the line of `lines`)


@dataclass
class Outcome:
    index: int
    case_id: str
    source: str
    key: str
    status: str                              # ok | error | skipped (a file of the folder that is not a case file)
    error: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    memo_text: Optional[str] = None


_local = threading.local()                   # per worker thread: {config fingerprint: (Engine, Families)}


def packs_digest(packset: Any) -> str:
    """One digest for every pack loaded (id and digest of each)."""
    return hashlib.sha256(_canonical(sorted((p.id, p.digest) for p in packset.packs))).hexdigest()


def _engine_for(config: Config, packset: Any = None) -> tuple[Any, Families]:
    """The worker's Engine, built once per process (or thread, on a threaded Dask worker) and configuration."""
    if config.version != __version__:
        raise InputError("worker", [Problem("", 0, "", f"this worker runs collateral {__version__}, the batch was started "
                                                       f"with {config.version}: install the same version on every worker")])
    cache: dict[str, tuple[Any, Families, str]] = getattr(_local, "engines", None) or {}
    _local.engines = cache
    fp = f"{config.evaluator}|{config.families_file}"
    for _attempt in range(2):   # packs changed on disk since this worker built its engine: build it again, once
        if fp not in cache:
            from engine.compile.compiler import CompileError
            from engine.explain.evaluate import Engine
            from engine.law.packs import load_all
            ps = packset if packset is not None and _attempt == 0 else load_all()
            if ps.problems:
                raise CompileError(ps.problems)
            fams = load_families(Path(config.families_file) if config.families_file else FAMILIES_FILE)
            cache[fp] = (Engine(ps, config.evaluator), fams, packs_digest(ps))
        engine, fams, digest = cache[fp]
        if not config.packs_digest or digest == config.packs_digest:
            break
        del cache[fp]
    else:
        raise InputError("worker", [Problem("", 0, "", "this worker's rule packs differ from those the batch was started "
                                                       "with: install the same version of the packs on every worker")])
    return engine, fams


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def screen_item(item: Item, config: Config) -> Outcome:
    """Screen one case. Never raises for a bad case: its message comes back in the outcome."""
    out = Outcome(item.index, item.case_id, item.source, item.key, "ok")
    if item.error:
        out.status, out.error = "error", item.error
        return out
    try:
        engine, families = _engine_for(config)
        src = load_text(item.text, item.source) if item.text is not None else Located(item.data, item.lines, item.file or item.source)
        if item.text is not None and not (isinstance(src.data, dict) and "options" in src.data and "format" in src.data):
            out.status = "skipped"
            return out
        result = _advise(engine, src, config)
        if item.text is not None and result.get("case_id"):
            out.case_id = str(result["case_id"])
        out.rows = rows_of(result, families, out)
        if config.memos:
            from engine.present import memo_document
            memo = memo_document(result, "md")
            out.memo_text = memo if isinstance(memo, str) else memo.decode("utf-8")
    except InputError as exc:
        out.status, out.error = "error", _one_line(str(exc))
    except EngineError as exc:
        out.status, out.error = "error", _one_line(f"rule engine failure: {exc}")
    except Exception as exc:  # a bug must not stop the docket: it is reported with the case that showed it
        name = type(exc).__name__
        out.status, out.error = "error", _one_line(f"{'rule packs' if name == 'CompileError' else 'internal error'}: {name}: {exc}")
    if out.status != "ok":
        out.rows, out.memo_text = [], None
    return out


def _advise(engine: Any, src: Located, config: Config) -> dict[str, Any]:
    """What `collateral advise` checks and computes for one case (without the counter-offers unless asked)."""
    from engine.law.packs import coverage_warnings
    from engine.model.casefile import parse_case
    from engine.model.yamlsrc import dotted

    case = parse_case(src)
    unresolved = engine.unresolved_statutes(case)
    if unresolved:
        raise InputError("case file", [Problem(src.file, src.line(loc), dotted(loc), msg, near) for loc, msg, near in unresolved])
    on = config.as_of or case.as_of or config.today
    warnings = engine.check_case(case, src, on)
    result: dict[str, Any] = engine.advise(case, on, alternatives=config.alternatives)
    used = {p["id"] for p in result["packs"]}
    first = coverage_warnings([p for p in engine.packset.packs if p.id in used], on) + warnings
    result["warnings"] = first + [w for w in result["warnings"] if w not in first]
    return result


def _worst(severities: Iterable[str]) -> str:
    return max(severities, key=lambda s: _SEV.get(s, -1), default="none")


def rows_of(result: dict[str, Any], families: Families, out: Outcome) -> list[dict[str, Any]]:
    """One row per option of a result document (columns: docs/screen.md)."""
    rows = []
    warnings = " | ".join(result.get("warnings") or [])
    for o in result["options"]:
        found = [{"id": f["id"], "code": f["code"], "family": families.family_of(f["code"], f.get("domain", "")),
                  "kind": f["kind"], "domain": f["domain"], "status": f["status"], "severity": f["severity"],
                  "certainty": f["certainty"]} for f in o["findings"]]
        harms = [f for f in found if f["kind"] == "consequence"]
        row: dict[str, Any] = {
            "case_id": out.case_id, "source": out.source, "option": o["id"], "label": o.get("label") or o["id"],
            "as_of": result["as_of"], "jurisdiction": result["jurisdiction"],
            "worst": _worst(f["severity"] for f in harms if f["status"] == "applies"),
            "worst_possible": _worst(f["severity"] for f in harms if f["status"] == "possible"),
        }
        for area in AREAS:
            row[f"worst.{area}"] = _worst(f["severity"] for f in harms if f["status"] == "applies" and f["domain"] == area)
        status: dict[str, str] = {}
        for f in found:
            if status.get(f["family"]) != "applies":
                status[f["family"]] = f["status"]
        for name in families.names:
            row[f"flag.{name}"] = status.get(name, "")
        fin = o.get("financial") or {}
        row["money_total"] = float(fin.get("total") or 0.0)
        row["money_possible"] = float(fin.get("possible_additional") or 0.0)
        row["money_unknown_items"] = len(fin.get("unknown_items") or [])
        row["questions_client"] = len(o.get("questions") or [])
        row["questions_counsel"] = len(o.get("counsel_questions") or [])
        row["warnings"] = warnings
        row["memo"] = ""
        row["key"] = out.key
        row["findings"] = found
        rows.append(row)
    return rows


def columns(families: Families) -> list[str]:
    """The columns of the output, in order (the same for every format)."""
    return (["case_id", "source", "option", "label", "as_of", "jurisdiction", "worst", "worst_possible"]
            + [f"worst.{a}" for a in AREAS] + [f"flag.{n}" for n in families.names]
            + ["money_total", "money_possible", "money_unknown_items", "questions_client", "questions_counsel",
               "warnings", "memo", "key", "findings"])


FLOAT_COLUMNS = ("money_total", "money_possible")
INT_COLUMNS = ("money_unknown_items", "questions_client", "questions_counsel")
FINDING_FIELDS = ("id", "code", "family", "kind", "domain", "status", "severity", "certainty")


# ------------------------------------------------------------------------------------------------- the inputs
def _canonical(obj: Any) -> bytes:
    """JSON data (every caller passes JSON data or text) in one canonical form, for digests."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def run_digest(packset: Any, families: Families, config: Config) -> str:
    """What every key shares: the screen's format, the packs (id and digest of each), the families and the law date
    (--as-of, else the day of the run: a case without as_of is judged by the law of that day)."""
    law = f"as-of {config.as_of.isoformat()}" if config.as_of else f"today {config.today.isoformat()}"
    extra = "alternatives" if config.alternatives else ""
    return hashlib.sha256(_canonical([FORMAT_VERSION, packs_digest(packset), families.digest, law, extra])).hexdigest()


def case_key(run: str, case_bytes: bytes) -> str:
    return "sha256:" + hashlib.sha256(run.encode() + b"\0" + case_bytes).hexdigest()


def input_kind(path: Path) -> str:
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise InputError("screen input", [Problem(str(path), 0, "", "expected a folder of case files, a .jsonl file of cases "
                                                                "(one JSON case file a line) or a .csv export (docs/screen.md)")])


def read_items(path: Path, run: str, warnings: Optional[list[str]] = None) -> Iterator[Item]:
    """The cases of INPUT in order, each with its resume key. Problems with the input as a whole raise InputError;
    problems with one case come back in its Item (`error`)."""
    kind = input_kind(path)
    if kind == "folder":
        yield from _folder_items(path, run)
    elif kind == "jsonl":
        yield from _jsonl_items(path, run)
    else:
        yield from csv_items(path, run, warnings if warnings is not None else [])


def _folder_items(folder: Path, run: str) -> Iterator[Item]:
    files = sorted((p for p in folder.rglob("*") if p.suffix.lower() in (".yaml", ".yml", ".json") and p.is_file()
                    and not p.name.endswith((".review.yaml", ".review.yml"))), key=lambda p: p.relative_to(folder).as_posix())
    for i, p in enumerate(files):
        rel = p.relative_to(folder).as_posix()
        try:
            raw = read_bounded(p)
            text = raw.decode("utf-8")
        except InputError as exc:
            yield Item(i, rel, rel, "", error=_one_line(str(exc)))
            continue
        except UnicodeDecodeError:
            yield Item(i, rel, rel, "", error=f"{rel}: not UTF-8 text")
            continue
        yield Item(i, rel, rel, case_key(run, raw), text=text)


def _jsonl_items(path: Path, run: str) -> Iterator[Item]:
    name = path.name
    index = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{name}:{n}"
            try:
                data = json.loads(line)
            except ValueError as exc:
                yield Item(index, where, where, "", error=f"{where}: not a JSON object ({exc})")
                index += 1
                continue
            cid = str(data.get("case_id")) if isinstance(data, dict) and data.get("case_id") is not None else where
            yield Item(index, cid, where, case_key(run, _canonical(data)), data=data, lines={(): n}, file=name)
            index += 1


# ---- CSV: one row per count, as a case-management system exports it (docs/screen.md has the mapping)
CASE_COLUMNS: dict[str, tuple[str, ...]] = {           # column -> where it goes in the case file
    "jurisdiction": ("jurisdiction",),
    "circuit": ("circuit",),
    "as_of": ("as_of",),
    "client_name": ("client", "name"),
    "birth_date": ("client", "birth_date"),
    "immigration_status": ("client", "immigration", "status"),
    "admission_date": ("client", "immigration", "admission_date"),
    "lpr_date": ("client", "immigration", "lpr_date"),
    "lpr_admitted_at_port": ("client", "immigration", "lpr_admitted_at_port"),
    "residence_since": ("client", "immigration", "residence_since"),
    "immigration_goals": ("client", "immigration", "goals"),
    "immigration_conduct": ("client", "immigration", "conduct"),
    "prior_relief": ("client", "immigration", "prior_relief"),
    "prior_removal": ("client", "immigration", "prior_removal"),
    "occupation": ("client", "employment", "occupation"),
    "sectors": ("client", "employment", "sectors"),
    "licenses": ("client", "licenses"),
    "benefits": ("client", "benefits"),
    "annual_income": ("client", "finances", "annual_income"),
    "household_size": ("client", "finances", "household_size"),
    "registered_voter": ("client", "civic", "registered_voter"),
    "owns_firearm": ("client", "civic", "owns_firearm"),
    "priorities": ("client", "priorities"),
}
OPTION_COLUMNS: dict[str, str] = {"option_label": "label", "consecutive": "consecutive"}
COUNT_COLUMNS: dict[str, tuple[str, ...]] = {          # column -> where it goes in the count
    "statute": ("offense", "statute"),
    "offense_jurisdiction": ("offense", "jurisdiction"),
    "prong": ("offense", "prong"),
    "offense_class": ("offense", "class"),
    "committed_on": ("committed_on",),
    "convicted_on": ("convicted_on",),
    "disposition": ("disposition",),
    "plea": ("plea",),
    "custody_days": ("sentence", "custody_days"),
    "suspended_days": ("sentence", "suspended_days"),
    "probation_months": ("sentence", "probation_months"),
    "fine": ("sentence", "fine"),
    "restitution": ("sentence", "restitution"),
    "registration": ("sentence", "registration"),
    "loss_amount": ("record", "loss_amount"),
    "substance": ("record", "substance"),
    "quantity_grams": ("record", "quantity_grams"),
    "personal_use": ("record", "personal_use"),
    "remuneration": ("record", "remuneration"),
    "victim_age": ("record", "victim_age"),
    "victim_relationship": ("record", "victim_relationship"),
    "firearm": ("record", "firearm"),
    "protection_order_violation_found": ("record", "protection_order_violation_found"),
    "commercial_vehicle": ("record", "commercial_vehicle"),
    "bac": ("record", "bac"),
    "scheme": ("record", "scheme"),
}
ROW_COLUMNS = ("case_id", "row_type", "option", "count")
ALIASES = {"case_number": "case_id", "case_no": "case_id", "docket_number": "case_id", "court_case_number": "case_id",
           "state": "jurisdiction", "dob": "birth_date", "date_of_birth": "birth_date", "citizenship_status": "immigration_status",
           "offense_date": "committed_on", "date_of_offense": "committed_on", "conviction_date": "convicted_on",
           "charge_statute": "statute", "offense_statute": "statute", "count_jurisdiction": "offense_jurisdiction",
           "jail_days": "custody_days", "sentence_days": "custody_days", "probation": "probation_months",
           "plea_option": "option", "offer": "option", "offer_label": "option_label", "income": "annual_income",
           "count_number": "count", "protection_order_violation": "protection_order_violation_found", "count_no": "count", "goals": "immigration_goals", "conduct": "immigration_conduct"}
LIST_FIELDS = {"immigration_goals", "immigration_conduct", "prior_relief", "sectors", "licenses", "benefits", "priorities"}
INT_FIELDS = {"circuit", "household_size", "custody_days", "suspended_days", "probation_months", "victim_age"}
FLOAT_FIELDS = {"annual_income", "fine", "restitution", "loss_amount", "quantity_grams", "bac"}
BOOL_FIELDS = {"prior_removal", "lpr_admitted_at_port", "registered_voter", "owns_firearm", "consecutive", "personal_use",
               "firearm", "commercial_vehicle", "protection_order_violation_found"}
ROW_TYPES = {"option": "options", "offer": "options", "count": "options", "charge": "charges", "charged": "charges",
             "prior": "history", "history": "history"}


def _header(name: str) -> str:
    h = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    return ALIASES.get(h, h)


def _cell(name: str, text: str) -> Any:
    v = text.strip()
    if v.lower() == "unknown":
        return "unknown"
    if name in LIST_FIELDS:
        parts = [p.strip() for p in re.split(r"[;|,]", v) if p.strip() and p.strip().lower() != "none"]
        return [_license(p) for p in parts] if name == "licenses" else parts
    if name in BOOL_FIELDS:
        low = v.lower()
        return True if low in ("yes", "y", "true", "1") else False if low in ("no", "n", "false", "0") else v
    if name in INT_FIELDS:
        with contextlib.suppress(ValueError):
            return int(v.replace(",", ""))
        with contextlib.suppress(ValueError):
            f = float(v.replace(",", ""))
            return int(f) if f.is_integer() else f
        return v
    if name in FLOAT_FIELDS:
        with contextlib.suppress(ValueError):
            return float(v.replace(",", "").replace("$", ""))
        return v
    if name == "jurisdiction" or name == "offense_jurisdiction":
        up = v.upper()
        if up in ("FEDERAL", "FED", "USA"):
            return "US"
        return f"US-{up}" if re.fullmatch(r"[A-Z]{2}", up) else up
    return v


def _license(text: str) -> dict[str, Any]:
    """type[:issuer[:status]], e.g. registered_nurse:TX or cdl:US-CA:applying."""
    parts = [p.strip() for p in text.split(":")]
    out: dict[str, Any] = {"type": parts[0]}
    if len(parts) > 1 and parts[1]:
        out["issuer"] = _cell("jurisdiction", parts[1])
    if len(parts) > 2 and parts[2]:
        out["status"] = parts[2]
    return out


def _put(d: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for p in path[:-1]:
        d = d.setdefault(p, {})
    d[path[-1]] = value


class _CsvCase:
    def __init__(self, case_id: str, line: int) -> None:
        self.case_id = case_id
        self.first = line
        self.data: dict[str, Any] = {"format": 1, "case_id": case_id}
        self.lines: dict[tuple[Any, ...], int] = {(): line}
        self.given: dict[str, tuple[Any, int]] = {}          # case column -> (value, line)
        self.options: dict[str, dict[str, Any]] = {}         # option id -> option fields (counts apart)
        self.option_lines: dict[str, dict[str, int]] = {}
        # section ("options", option id) or ("charges",) / ("history",) -> [(count number, row line, count)]
        self.counts: dict[tuple[str, ...], list[tuple[float, int, dict[str, Any]]]] = {}
        self.problems: list[str] = []

    def build(self) -> None:
        """The case file: options in the order they first appear, counts by their count number (else row order)."""
        for section in ("charges", "history"):
            rows = sorted(self.counts.get((section,), []), key=lambda t: (t[0], t[1]))
            if rows:
                self.data[section] = [c for _n, _l, c in rows]
                for j, (_n, line, _c) in enumerate(rows):
                    self.lines[(section, j)] = line
        options = []
        for i, (oid, opt) in enumerate(self.options.items()):
            rows = sorted(self.counts.get(("options", oid), []), key=lambda t: (t[0], t[1]))
            options.append({**opt, "counts": [c for _n, _l, c in rows]})
            for key, line in self.option_lines[oid].items():
                self.lines[("options", i) + ((key,) if key else ())] = line
            for j, (_n, line, _c) in enumerate(rows):
                self.lines[("options", i, "counts", j)] = line
        self.data["options"] = options


def csv_items(path: Path, run: str, warnings: list[str]) -> Iterator[Item]:
    """Cases from a CSV with one row per count; rows of a case need not be adjacent. Case-level columns may repeat on
    every row of the case (as exports do) but must not disagree."""
    name = path.name
    try:
        text = read_bounded_csv(path)
    except OSError as exc:
        raise InputError("screen input", [Problem(str(path), 0, "", f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError:
        raise InputError("screen input", [Problem(str(path), 0, "", "not UTF-8 text (export the CSV as UTF-8)")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputError("screen input", [Problem(str(path), 1, "", f"not a CSV file: {exc}")]) from None
    names = [_header(h) for h in header]
    known = set(CASE_COLUMNS) | set(OPTION_COLUMNS) | set(COUNT_COLUMNS) | set(ROW_COLUMNS)
    missing = [c for c in ("case_id", "jurisdiction", "statute") if c not in names]
    if missing:
        raise InputError("screen input", [Problem(str(path), 1, "", f"missing column(s): {', '.join(missing)} (docs/screen.md)")])
    ignored = [h for h, n in zip(header, names) if n not in known]
    if ignored:
        warnings.append(f"{name}: columns not used: {', '.join(ignored)} (docs/screen.md lists the columns read)")
    cases: dict[str, _CsvCase] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError("screen input", [Problem(str(path), reader.line_num, "", f"not a CSV row: {exc}")]) from None
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        cells = {n: (row[i] if i < len(row) else "") for i, n in enumerate(names)}
        cid = cells.get("case_id", "").strip()
        if not cid:
            cid = f"{name}:{line}"
            cases[cid] = c = _CsvCase(cid, line)
            c.problems.append(f"{name}:{line}: case_id: empty")
            continue
        c = cases.get(cid) or cases.setdefault(cid, _CsvCase(cid, line))
        _csv_row(c, cells, line, name)
    for index, c in enumerate(cases.values()):
        where = f"{name}:{c.first}"
        if c.problems:
            yield Item(index, c.case_id, where, "", error=f"{len(c.problems)} problem(s) in {name}: " + "; ".join(c.problems))
            continue
        c.build()
        yield Item(index, c.case_id, where, case_key(run, _canonical(c.data)), data=c.data, lines=c.lines, file=name)


def read_bounded_csv(path: Path) -> str:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        text = fh.read(MAX_CSV_BYTES + 1)
    if len(text) > MAX_CSV_BYTES:
        raise InputError("screen input", [Problem(str(path), 0, "", f"larger than {MAX_CSV_BYTES:,} characters: split the export")])
    return text


MAX_CSV_BYTES = 512 * 1024 * 1024


def _csv_row(c: _CsvCase, cells: dict[str, str], line: int, name: str) -> None:
    for col, target in CASE_COLUMNS.items():
        text = cells.get(col, "").strip()
        if not text:
            continue
        value = _cell(col, text)
        if col in c.given and c.given[col][0] != value:
            c.problems.append(f"{name}:{line}: {col}: '{text}' differs from line {c.given[col][1]} of the same case")
            continue
        if col not in c.given:
            c.given[col] = (value, line)
            _put(c.data, target, value)
            c.lines[target] = line
    kind = cells.get("row_type", "").strip().lower() or "option"
    if kind not in ROW_TYPES:
        c.problems.append(f"{name}:{line}: row_type: '{kind}' is not one of option, charge, prior")
        return
    count: dict[str, Any] = {}
    for col, target in COUNT_COLUMNS.items():
        text = cells.get(col, "").strip()
        if text:
            _put(count, target, _cell(col, text))
    number_text = cells.get("count", "").strip()
    try:
        number = float(number_text) if number_text else float("inf")
    except ValueError:
        c.problems.append(f"{name}:{line}: count: '{number_text}' is not a count number")
        return
    section = ROW_TYPES[kind]
    if section == "options":
        oid = cells.get("option", "").strip() or "offer"
        opt = c.options.setdefault(oid, {"id": oid})
        lines = c.option_lines.setdefault(oid, {"": line})
        for col, key in OPTION_COLUMNS.items():
            text = cells.get(col, "").strip()
            if text and key not in opt:
                opt[key] = _cell(col, text)
                lines[key] = line
        c.counts.setdefault(("options", oid), []).append((number, line, count))
    else:
        c.counts.setdefault((section,), []).append((number, line, count))


# ------------------------------------------------------------------------------------------------ the backends
def run_serial(items: Iterable[Item], config: Config, emit: Callable[[Outcome], None]) -> None:
    """In this process (tests, and the library's `backend="inline"`): no isolation from a crash of the engine."""
    for item in items:
        emit(screen_item(item, config))


def _watch_parent() -> None:
    """In a worker: exit when the parent is gone (killed with SIGKILL), instead of waiting for work forever."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(2)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()


def _worker_main(conn: Any, config: Config) -> None:
    """A worker process: build the engine once, then screen the cases the parent sends, one at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    _watch_parent()
    with contextlib.suppress(Exception):            # a failure here is reported by each case
        _engine_for(config)
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        item, fallback = item
        conn.send(screen_item(item, replace(config, evaluator="plain") if fallback else config))


@dataclass
class _Worker:
    proc: Any
    conn: Any
    item: Optional[Item] = None
    fallback: bool = False                   # its case is a second chance, with the plain evaluator
    why: str = ""                            # what happened to the first try
    since: float = 0.0


def _failed(item: Item, why: str) -> Outcome:
    return Outcome(item.index, item.case_id, item.source, item.key, "error", f"internal error: {why}")


FALLBACK_WARNING = ("durable_rules failed on this case ({why}); it was evaluated with the plain evaluator, which gives "
                    "the same results")


def run_pool(items: Iterable[Item], config: Config, jobs: int, emit: Callable[[Outcome], None],
             timeout: Optional[float] = 600.0, worker: Callable[[Any, Config], None] = _worker_main) -> None:
    """`jobs` worker processes (spawned: nothing of the parent is shared), each building its engine once and taking
    one case at a time. A worker that dies (a crash in the rule engine) or takes longer than `timeout` seconds on
    one case is replaced; its case is evaluated again once, by a fresh worker with the plain evaluator (the same
    results; the rows say so in `warnings`), and reported as an error if that fails too. `worker` is the function a
    worker process runs (tests give one that crashes or hangs on purpose)."""
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    source = iter(items)
    retry: deque[tuple[Item, str]] = deque()

    def start() -> _Worker:
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(child_end, config), daemon=True, name="collateral-screen")
        proc.start()
        child_end.close()
        return _Worker(proc, parent_end)

    def lost(w: _Worker, why: str) -> None:
        """The worker died or hung on its case: end it, give its case a second chance or report it."""
        item = w.item
        assert item is not None
        with contextlib.suppress(Exception):
            w.proc.kill()
            w.proc.join(5)
        w.conn.close()
        if w.fallback or config.evaluator == "plain":
            emit(_failed(item, why))
        else:
            retry.append((item, why))

    workers = [start() for _ in range(jobs)]
    exhausted = False
    try:
        while True:
            for i, w in enumerate(workers):
                if w.item is not None:
                    continue
                if not w.proc.is_alive():
                    workers[i] = w = start()
                if retry:
                    item, why = retry.popleft()
                    fallback = True
                elif not exhausted:
                    nxt = next(source, None)
                    if nxt is None:
                        exhausted = True
                        continue
                    item, why, fallback = nxt, "", False
                else:
                    continue
                try:
                    w.conn.send((item, fallback))
                except OSError:               # it died while idle: a new one takes the case
                    w.proc.kill()
                    workers[i] = w = start()
                    w.conn.send((item, fallback))
                w.item, w.fallback, w.why, w.since = item, fallback, why, time.monotonic()
            busy = [w for w in workers if w.item is not None]
            if not busy:
                return
            left = None if not timeout else max(0.0, min(w.since for w in busy) + timeout - time.monotonic())
            ready = wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=left)
            for i, w in enumerate(workers):
                if w.item is None:
                    continue
                if w.conn in ready:
                    try:
                        out: Outcome = w.conn.recv()
                    except (EOFError, OSError):
                        pass
                    else:
                        if w.fallback and out.status == "ok":
                            note = FALLBACK_WARNING.format(why=w.why)
                            for r in out.rows:
                                r["warnings"] = " | ".join(x for x in (note, r.get("warnings", "")) if x)
                        w.item = None
                        emit(out)
                        continue
                if w.proc.sentinel in ready or not w.proc.is_alive():
                    w.proc.join(5)
                    code = w.proc.exitcode
                    lost(w, f"the worker process died while screening this case (exit code {code})")
                    workers[i] = start()
                elif timeout and time.monotonic() - w.since > timeout:
                    lost(w, f"the case took longer than {timeout:g} s (--timeout)")
                    workers[i] = start()
    finally:
        for w in workers:
            with contextlib.suppress(Exception):
                if w.item is None:
                    w.conn.send(None)
        for w in workers:
            w.proc.join(5 if w.item is None else 0)
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(5)
            with contextlib.suppress(Exception):
                w.conn.close()


def _batch_work(items: list[Item], config: Config) -> list[Outcome]:
    """A Dask task: a few cases as data in, their outcomes (rows) out."""
    return [screen_item(it, config) for it in items]


def run_dask(items: Iterable[Item], config: Config, emit: Callable[[Outcome], None], scheduler: Optional[str] = None,
             jobs: int = 1, processes: bool = True, batch: int = 8) -> None:
    """The same work on a Dask distributed cluster: the scheduler at `scheduler` (tcp://host:8786), or a LocalCluster
    of `jobs` workers on this machine (threads of this process when processes=False). Cases travel as data in
    batches of `batch`; the outcomes come back as rows. The workers need this package installed."""
    distributed: Any = _optional("dask.distributed", "the Dask backend")
    cluster: Any = None
    if scheduler:
        client = distributed.Client(scheduler)
    else:
        cluster = distributed.LocalCluster(n_workers=jobs, threads_per_worker=1, processes=processes, dashboard_address=None)
        client = distributed.Client(cluster)
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})) or jobs)
        source = iter(items)

        def next_batch() -> list[Item]:
            out: list[Item] = []
            for it in source:
                out.append(it)
                if len(out) >= batch:
                    break
            return out

        held: dict[Any, list[Item]] = {}
        ac = distributed.as_completed()
        for _ in range(workers * 3):
            b = next_batch()
            if not b:
                break
            fut = client.submit(_batch_work, b, config, pure=False)
            held[fut] = b
            ac.add(fut)
        second: dict[Any, str] = {}          # a case evaluated again alone, with the plain evaluator -> why
        plain = replace(config, evaluator="plain")
        for fut in ac:
            b = held.pop(fut)
            try:
                outs = fut.result()
            except Exception as exc:   # a worker lost (a crash in the engine), a task that could not run
                why = _one_line(f"dask: {type(exc).__name__}: {exc}")
                if fut in second or config.evaluator == "plain":
                    outs = [_failed(it, why) for it in b]
                else:                  # each of its cases again, alone, with the plain evaluator
                    outs = []
                    for it in b:
                        nf = client.submit(_batch_work, [it], plain, pure=False)
                        held[nf], second[nf] = [it], why
                        ac.add(nf)
            else:
                if fut in second:
                    note = FALLBACK_WARNING.format(why=second[fut])
                    for o in outs:
                        for r in o.rows:
                            r["warnings"] = " | ".join(x for x in (note, r.get("warnings", "")) if x)
            second.pop(fut, None)
            fut.release()
            for o in sorted(outs, key=lambda o: o.index):
                emit(o)
            nb = next_batch()
            if nb:
                nf = client.submit(_batch_work, nb, config, pure=False)
                held[nf] = nb
                ac.add(nf)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ---------------------------------------------------------------------------------------------- output, resume
def output_format(path: Path) -> str:
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError("screen output", [Problem(str(path), 0, "", "the output is named .csv, .jsonl or .parquet")])
    return fmt


def _csv_value(col: str, v: Any) -> Any:
    if col == "findings":
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    if isinstance(v, float):
        return f"{v:.2f}"
    return v


def encode_rows(rows: list[dict[str, Any]], cols: list[str], fmt: str) -> bytes:
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([_csv_value(c, r.get(c, "")) for c in cols])
        return buf.getvalue().encode("utf-8")
    if fmt == "jsonl":
        return "".join(json.dumps({c: r.get(c) for c in cols}, ensure_ascii=False, separators=(",", ":")) + "\n"
                       for r in rows).encode("utf-8")
    return _parquet(rows, cols)


def _parquet(rows: list[dict[str, Any]], cols: list[str]) -> bytes:
    pa: Any = _optional("pyarrow", "Parquet output")
    pq: Any = _optional("pyarrow.parquet", "Parquet output")
    finding = pa.struct([(f, pa.string()) for f in FINDING_FIELDS])
    fields = []
    for c in cols:
        t = pa.float64() if c in FLOAT_COLUMNS else pa.int64() if c in INT_COLUMNS else pa.list_(finding) if c == "findings" else pa.string()
        fields.append(pa.field(c, t))
    schema = pa.schema(fields)
    table = pa.Table.from_pydict({c: [r.get(c) for r in rows] for c in cols}, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an earlier output (any of the three formats), as the screen made them."""
    fmt = output_format(path)
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    if fmt == "parquet":
        pq: Any = _optional("pyarrow.parquet", "Parquet output")
        return [dict(r) for r in pq.read_table(path).to_pylist()]
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            row: dict[str, Any] = dict(r)
            for c in FLOAT_COLUMNS:
                row[c] = float(row[c]) if row.get(c) else 0.0
            for c in INT_COLUMNS:
                row[c] = int(row[c]) if row.get(c) else 0
            row["findings"] = json.loads(row["findings"]) if row.get("findings") else []
            out.append(row)
    return out


def journal_path(output: Path) -> Path:
    return output.parent / f".{output.name}.screen-journal.jsonl"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary file in the same folder, then a rename."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def memo_name(case_id: str, key: str) -> str:
    """The memo's file name: the case id made safe for any file system, and the start of its key (a changed case, a
    pack or the law date gives a new memo; the old one stays as it was)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", case_id).strip("._-")[:80] or "case"
    return f"{safe}.{key.removeprefix('sha256:')[:10]}.md"


# ------------------------------------------------------------------------------------------------- the batch
@dataclass
class Report:
    cases: int = 0
    screened: int = 0
    resumed: int = 0
    skipped: int = 0
    fallbacks: int = 0                       # cases evaluated again with the plain evaluator after durable_rules failed
    errors: list[dict[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


class NullProgress:
    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def total(self, n: int) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        return None


class RichProgress(NullProgress):
    """A progress bar on the terminal (standard error): cases done, rate, time left."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
        self._p = Progress(TextColumn("screening"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                           TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self._task = self._p.add_task("screen", total=None, rate="")
        self._t0 = time.perf_counter()
        self._done = 0

    def __enter__(self) -> RichProgress:
        self._p.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._p.stop()

    def total(self, n: int) -> None:
        self._p.update(self._task, total=n)

    def advance(self, n: int = 1) -> None:
        self._done += n
        rate = self._done / max(time.perf_counter() - self._t0, 1e-9)
        self._p.update(self._task, advance=n, rate=f"{rate:.1f} cases/s")


def progress_for(stream: Any) -> NullProgress:
    """A progress bar when `stream` is a terminal and rich is installed; quiet otherwise."""
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return NullProgress()
    try:
        return RichProgress()
    except ImportError:
        return NullProgress()


def screen(input_path: Path, output: Path, config: Config, *, jobs: int = 1, backend: str = "local",
           scheduler: Optional[str] = None, memos: Optional[Path] = None, errors: Optional[Path] = None,
           resume: bool = False, progress: Optional[NullProgress] = None, dask_processes: bool = True,
           timeout: Optional[float] = 600.0,
           write: Callable[[Path, bytes], None] = write_atomic, packset: Any = None) -> Report:
    """Screen every case of input_path into output (see the module's docstring). backend: `local` (worker processes,
    even for jobs=1: a crash of the engine on one case cannot take the batch with it), `dask`, or `inline` (in this
    process, for tests and small batches). Raises InputError for an unusable input or output as a whole; a bad case
    is an entry of the errors file."""
    from engine.law.packs import load_all

    fmt = output_format(output)
    if fmt == "parquet":
        _optional("pyarrow.parquet", "Parquet output")          # before the work, not after it
    errors = errors or output.with_name(output.stem + ".errors.csv")
    if errors.suffix.lower() not in (".csv", ".jsonl"):
        raise InputError("screen errors file", [Problem(str(errors), 0, "", "the errors file is named .csv or .jsonl")])
    families = load_families(Path(config.families_file) if config.families_file else FAMILIES_FILE)
    ps = packset if packset is not None else load_all()
    if ps.problems:
        raise InputError("rule packs", ps.problems)
    config = replace(config, memos=memos is not None, packs_digest=packs_digest(ps))
    run = run_digest(ps, families, config)
    report = Report()
    items = list(read_items(input_path, run, report.warnings))
    report.cases = len(items)
    cols = columns(families)

    journal = journal_path(output)
    done: dict[str, list[dict[str, Any]]] = {}
    if resume:
        if output.exists():
            with contextlib.suppress(Exception):
                for r in read_rows(output):
                    done.setdefault(str(r.get("key")), []).append(r)
        if journal.exists():
            with open(journal, encoding="utf-8") as fh:
                for line in fh:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        entry = json.loads(line)
                        if entry["status"] == "ok" and entry["key"]:
                            done[entry["key"]] = entry["rows"]
    else:
        with contextlib.suppress(FileNotFoundError):
            journal.unlink()

    outcomes: dict[int, Outcome] = {}
    todo: list[Item] = []
    for it in items:
        rows = done.get(it.key) if it.key else None
        if rows and memos is not None:
            want = str(memos / memo_name(str(rows[0].get("case_id") or it.case_id), it.key))
            if any(r.get("memo") != want for r in rows) or not Path(want).exists():
                rows = None
        if rows:
            outcomes[it.index] = Outcome(it.index, str(rows[0].get("case_id") or it.case_id), it.source, it.key, "ok",
                                         rows=[{**r, "source": it.source} for r in rows])
            report.resumed += 1
        else:
            todo.append(it)
    if memos is not None:
        memos.mkdir(parents=True, exist_ok=True)

    bar = progress or NullProgress()
    lock = threading.Lock()
    try:
        jfh: Any = open(journal, "a", encoding="utf-8")  # noqa: SIM115 (closed by the `with` below)
    except OSError:   # a folder that takes no new file (or -o /dev/stdout): no journal, so nothing to resume from
        jfh = io.StringIO()
    with jfh, bar:
        bar.total(len(todo))

        def emit(o: Outcome) -> None:
            with lock:
                if o.status == "ok" and memos is not None and o.memo_text is not None:
                    target = memos / memo_name(o.case_id, o.key)
                    write(target, o.memo_text.encode("utf-8"))
                    for r in o.rows:
                        r["memo"] = str(target)
                o.memo_text = None
                outcomes[o.index] = o
                jfh.write(json.dumps({"index": o.index, "key": o.key, "status": o.status, "rows": o.rows},
                                     ensure_ascii=False, separators=(",", ":")) + "\n")
                jfh.flush()
                bar.advance(1)

        t0 = time.perf_counter()
        if backend == "dask":
            run_dask(todo, config, emit, scheduler, jobs, processes=dask_processes)
        elif backend == "inline":
            if todo:
                with contextlib.suppress(Exception):   # the engine of this process, on the packs already loaded
                    _engine_for(config, ps)
            run_serial(todo, config, emit)
        elif todo:
            run_pool(todo, config, max(1, min(jobs, len(todo))), emit, timeout)
        report.seconds = time.perf_counter() - t0

    for i in range(len(items)):
        o = outcomes[i]
        if o.status == "ok":
            report.rows.extend(o.rows)
        elif o.status == "skipped":
            report.skipped += 1
        else:
            report.errors.append({"case_id": o.case_id, "source": o.source, "key": o.key, "error": o.error})
    report.screened = len(todo)
    report.fallbacks = sum(1 for o in outcomes.values() if o.status == "ok" and o.rows
                           and "it was evaluated with the plain evaluator" in str(o.rows[0].get("warnings", "")))
    report.summary = summarize(report.rows, families)
    write(output, encode_rows(report.rows, cols, fmt))
    write(errors, _encode_errors(report.errors, errors))
    with contextlib.suppress(FileNotFoundError):
        journal.unlink()
    return report


def _encode_errors(errs: list[dict[str, str]], path: Path) -> bytes:
    cols = ["case_id", "source", "key", "error"]
    if path.suffix.lower() == ".jsonl":
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errs).encode("utf-8")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(errs)
    return buf.getvalue().encode("utf-8")


def summarize(rows: list[dict[str, Any]], families: Families) -> list[dict[str, Any]]:
    """Per family: how many case options it applies to, by the worst severity of its applying findings, and how many
    it is only possible for. Families in file order, those found and not in the file (`.unmapped`) last."""
    names = list(families.names)
    for r in rows:
        for f in r["findings"]:
            if f["family"] not in names:
                names.append(f["family"])
    table: dict[str, dict[str, Any]] = {n: {"family": n, **{s: 0 for s in SEVERITIES}, "applies": 0, "possible": 0} for n in names}
    for r in rows:
        worst: dict[str, str] = {}
        possible: set[str] = set()
        for f in r["findings"]:
            if f["status"] == "applies":
                cur = worst.get(f["family"])
                if cur is None or _SEV[f["severity"]] > _SEV[cur]:
                    worst[f["family"]] = f["severity"]
            else:
                possible.add(f["family"])
        for fam, sev in worst.items():
            table[fam][sev] += 1
            table[fam]["applies"] += 1
        for fam in possible - set(worst):
            table[fam]["possible"] += 1
    return [t for t in table.values() if t["applies"] or t["possible"]]


def summary_text(report: Report, families: Families) -> str:
    """The summary table: per family, the case options it applies to by worst severity, and those it may apply to."""
    head = ["family", *SEVERITIES, "applies", "possible"]
    harm = [t for t in report.summary if families.by_name.get(t["family"]) is None or families.by_name[t["family"]].harm]
    other = [t for t in report.summary if t not in harm]
    lines: list[list[str]] = [head]
    for group in (harm, other):
        for t in group:
            lines.append([t["family"], *(str(t[s]) for s in SEVERITIES), str(t["applies"]), str(t["possible"])])
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]

    def fmt(r: list[str]) -> str:
        return "  ".join(r[0].ljust(widths[0]) if i == 0 else r[i].rjust(widths[i]) for i in range(len(r))).rstrip()

    out = ["Case options per consequence family: where it applies, by its worst severity; possible: may apply (unknown facts).",
           fmt(lines[0]), fmt(["-" * w for w in widths])]
    out += [fmt(r) for r in lines[1:1 + len(harm)]]
    if other:
        out.append(fmt(["-" * w for w in widths]))
        out += [fmt(r) for r in lines[1 + len(harm):]]
    options = len(report.rows)
    out.append(f"{report.cases - report.skipped} case(s), {options} option(s): {report.screened - len(report.errors) - report.skipped} screened, "
               f"{report.resumed} already done (--resume), {len(report.errors)} error(s)"
               + (f", {report.skipped} file(s) not case files" if report.skipped else "")
               + (f", {report.fallbacks} evaluated with the plain evaluator after durable_rules failed" if report.fallbacks else "")
               + f"; {report.seconds:.1f} s")
    return "\n".join(out) + "\n"


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1

