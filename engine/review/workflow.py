"""Counsel's review of the flags a result raises, and what changed between two results (docs/review.md).

- Stable flag ids: every finding gets `flag_id`, derived from what it is about (option, consequence code, and
  for a count-level finding the count's statute and prong), never from the count's place, rule order or pack
  version, so the same risk keeps its id when the case is re-run after a change of fact or law.
- Review files: `collateral review` lists the flags; counsel confirms, disputes, overrides or adds;
  `apply_review` puts the verdicts on the result (an override changes the status, visibly, with its author).
- What changed: `diff` compares two results finding by finding and names the cause of each change.
- The review queue: the flags still awaiting counsel, most serious first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.explain.evaluate import DOMAIN_ORDER, compare, financial, padilla_label
from engine.law.catalog import Catalogs
from engine.law.packs import SEVERITY_ORDER, PackSet
from engine.model import casefile as cf
from engine.model.errors import InputError, Problem, nearest
from engine.model.yamlsrc import Located, dotted, load_file
from engine.review.seal import digest

RULE_STATUSES = ("applies", "possible")
CODE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-zA-Z0-9_]+)+$"
_SEV = {s: i for i, s in enumerate(SEVERITY_ORDER)}
_DOM = {d: i for i, d in enumerate(DOMAIN_ORDER)}


# ------------------------------------------------------------------------------------------------ flag ids
def _option_counts(case: cf.CaseFile, option_id: str) -> Optional[list[cf.Count]]:
    for o in case.options:
        if o.id == option_id:
            return list(o.counts)
    charges = getattr(case, "charges", None)
    if option_id == "trial" and charges:   # the trial baseline built from the charges
        return list(charges)
    return None


def statute_key(count: cf.Count, case_jurisdiction: str, catalogs: Optional[Catalogs]) -> str:
    """What a count is about: the catalog's key for its statute (however the case file writes it) and the prong
    the plea names, e.g. `PC 487(a)`, `PL 120.00 prong 2`; with the count's jurisdiction when it is not the case's."""
    off = count.offense
    juris = off.jurisdiction or case_jurisdiction
    found = catalogs.find(juris, off.statute) if catalogs is not None else None
    if found is not None:
        key, prong = found[0].statute, off.prong or found[1]
    else:
        key, prong = " ".join(off.statute.split()), off.prong
    text = key + (f" prong {prong}" if prong else "")
    if off.jurisdiction and off.jurisdiction != case_jurisdiction:
        text += f" ({off.jurisdiction})"
    return text


def _cid(finding_id: str) -> Optional[str]:
    rest = finding_id.split("/", 1)[-1]
    return rest.rsplit("@", 1)[1] if "@" in rest else None


def assign_flag_ids(result: dict[str, Any], case: cf.CaseFile, catalogs: Optional[Catalogs]) -> None:
    """Give every finding `flag_id` (and `source: rules`): `<option>:<code>` for an option-level finding,
    `<option>:<code>:<statute>` for a count-level one, `<option>:<code>:prior <statute>` for one from the prior
    record. Counts under the same statute and prong are told apart by ` #2`, ` #3`... in the order of the case."""
    for o in result["options"]:
        counts = _option_counts(case, o["id"])
        base: dict[str, list[tuple[tuple[int, int], dict[str, Any]]]] = {}
        for f in o["findings"]:
            if f.get("source") == "review":
                continue
            f.setdefault("source", "rules")
            cid = _cid(f["id"])
            text, order = f"{o['id']}:{f['code']}", (0, -1)
            if cid is not None:
                if cid.startswith("h"):
                    i = int(cid[1:])
                    count: Optional[cf.Count] = case.history[i] if i < len(case.history) else None
                    prefix, order = "prior ", (2, i)
                else:
                    i = int(cid)
                    count = counts[i] if counts is not None and i < len(counts) else None
                    prefix, order = "", (1, i)
                if count is not None:
                    text += ":" + prefix + statute_key(count, case.jurisdiction, catalogs)
                else:
                    text += ":" + prefix + cid
            base.setdefault(text, []).append((order, f))
        for text, items in base.items():
            for n, (_order, f) in enumerate(sorted(items, key=lambda x: (x[0], x[1]["id"]))):
                f["flag_id"] = text if n == 0 else f"{text} #{n + 1}"


def _flag_option(flag_id: str) -> str:
    return flag_id.split(":", 1)[0]


# ------------------------------------------------------------------------------------------------ review files
Verdict = Literal["confirmed", "disputed", "overridden"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Added(_M):
    """A consequence the rules missed, added by counsel."""
    option: str = Field(min_length=1)
    code: str = Field(pattern=CODE_PATTERN)
    title: Optional[str] = None
    summary: str = Field(min_length=3)
    citation: str = Field(min_length=3)
    status: Literal["applies", "possible"] = "applies"
    severity: Literal["info", "low", "medium", "high", "critical"] = "high"
    certainty: Literal["clear", "likely", "unsettled", "circuit_split"] = "likely"
    kind: Literal["consequence", "relief", "classification"] = "consequence"
    domain: Optional[str] = None
    mandatory: bool = False

    @field_validator("option", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v


class Entry(_M):
    """One flag of the review file: what the rules found (rewritten by `collateral review`) and counsel's verdict."""
    id: Optional[str] = None
    added: Optional[Added] = None
    title: Optional[str] = None
    found: Optional[Literal["applies", "possible", "absent"]] = None
    severity: Optional[str] = None
    orphan: Optional[bool] = None
    verdict: Optional[Verdict] = None
    status: Optional[Literal["applies", "possible", "absent"]] = None
    authority: Optional[str] = None
    note: Optional[str] = None
    reviewer: Optional[str] = None
    date: Optional[dt.date] = None

    @field_validator("reviewer", "note", "authority", "title", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v


class ReviewFile(_M):
    format: Literal[1] = 1
    case_id: Optional[str] = None
    case: Optional[str] = None
    as_of: Optional[dt.date] = None
    flags: list[Entry] = []

    @field_validator("case_id", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v


_FIELDS: dict[str, type[BaseModel]] = {"": ReviewFile, "entry": Entry, "added": Added}


@dataclass
class Review:
    src: Located
    model: ReviewFile
    digest: str

    def line(self, *loc: Any) -> int:
        return self.src.line(tuple(loc))


def _problems(exc: ValidationError, src: Located) -> list[Problem]:
    return cf.problems_from_validation(
        exc, src, lambda parent: _FIELDS["added" if "added" in parent else ("entry" if len(parent) > 1 else "")])


def _domain_of(code: str) -> str:
    head = code.split(".", 1)[0]
    return "immigration" if head == "imm" else head


def load_review(path: Path) -> Review:
    """Read and check a review file: the schema (pydantic), then each entry's verdict. Errors carry file:line."""
    src = load_file(path)
    if src.data is None:
        src.data = {}
    if not isinstance(src.data, dict):
        raise InputError("review file", [Problem(src.file, 1, "", "expected a mapping with format and flags")])
    try:
        model = ReviewFile.model_validate(src.data)
    except ValidationError as exc:
        raise InputError("review file", _problems(exc, src)) from None
    problems: list[Problem] = []

    def bad(i: int, fld: str, msg: str, suggestion: str = "") -> None:
        loc: tuple[Any, ...] = ("flags", i, fld) if fld else ("flags", i)
        problems.append(Problem(src.file, src.line(loc), dotted(loc), msg, suggestion))

    seen: dict[str, int] = {}
    for i, e in enumerate(model.flags):
        if (e.id is None) == (e.added is None):
            bad(i, "", "give either `id` (a flag the rules found) or `added` (a consequence they missed)")
            continue
        if e.id is not None:
            if e.id in seen:
                bad(i, "id", f"flag listed twice (also at line {src.line(('flags', seen[e.id]))})")
            seen[e.id] = i
        if e.added is not None:
            for fld in ("verdict", "status", "found"):
                if getattr(e, fld) is not None:
                    bad(i, fld, "an added consequence takes no verdict, status or found: give its status under `added`")
            a = e.added
            domain = a.domain or _domain_of(a.code)
            if domain not in DOMAIN_ORDER:
                bad(i, "added", f"no domain '{domain}'; give `domain`: one of {', '.join(DOMAIN_ORDER)}", nearest(domain, DOMAIN_ORDER))
        if e.verdict == "overridden":
            if e.status is None:
                bad(i, "verdict", "an override needs `status`: applies, possible or absent (what the memo should advise)")
            if not e.authority:
                bad(i, "verdict", "an override needs `authority`: the citation for the correction")
        elif e.status is not None:
            bad(i, "status", "`status` is the corrected status of an override: set `verdict: overridden`, or remove it")
        if e.verdict is not None or e.added is not None:
            if not e.reviewer:
                bad(i, "reviewer", "a verdict needs the reviewer's name")
            if e.date is None:
                bad(i, "date", "a verdict needs its date (YYYY-MM-DD)")
    if problems:
        raise InputError("review file", problems)
    return Review(src, model, digest(src.data))


def default_review_path(case_path: Path) -> Path:
    """CASE.yaml -> CASE.review.yaml beside it."""
    return case_path.with_name(case_path.stem + ".review.yaml")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(type(None), lambda d, _v: d.represent_scalar("tag:yaml.org,2002:null", ""))

HEADER = """\
# Counsel's review of the flags collateral found{for_case}, law as of {as_of}.
# For each flag fill in:
#   verdict: confirmed | disputed | overridden
#     an override also needs `status` (applies | possible | absent: what the memo should advise) and `authority`
#   note: the reasoning (optional; shown with the flag);  reviewer: name;  date: YYYY-MM-DD
# A consequence the rules missed: add an entry
#   - added: {{option: offer, code: imm.example, title: ..., summary: ..., citation: ..., status: applies, severity: high}}
#     reviewer: ...
#     date: ...
# `title`, `found` (what the rules found) and `severity` are rewritten by `collateral review`, which keeps every
# verdict. Then: collateral advise CASE --review THIS_FILE
"""

_KEPT = ("verdict", "status", "authority", "note", "reviewer", "date")


def _entry(e: Entry) -> dict[str, Any]:
    return {k: v for k, v in e.model_dump(exclude_none=True).items() if k not in ("orphan",)}


def review_document(result: dict[str, Any], case_name: str, existing: Optional[Review]) -> tuple[str, dict[str, int]]:
    """The review file for this result: every flag, with the verdicts of `existing` kept. Entries with a verdict
    or a note for flags the rules no longer produce are kept and marked `orphan: true`; added ones are kept."""
    old: dict[str, Entry] = {}
    added: list[Entry] = []
    if existing is not None:
        for e in existing.model.flags:
            if e.id is not None:
                old[e.id] = e
            else:
                added.append(e)
    flags: list[dict[str, Any]] = []
    stats = {"flags": 0, "kept": 0, "pending": 0, "orphans": 0, "added": len(added)}
    current: set[str] = set()
    for o in result["options"]:
        for f in o["findings"]:
            if f.get("source") == "review":
                continue
            fid = f["flag_id"]
            current.add(fid)
            status = f.get("status_by_rules", f["status"])
            item: dict[str, Any] = {"id": fid, "title": f["title"], "found": status, "severity": f["severity"]}
            prev = old.get(fid)
            if prev is not None and prev.verdict is not None:
                stats["kept"] += 1
            else:
                stats["pending"] += 1
            for k in _KEPT:
                v = getattr(prev, k) if prev is not None else None
                if v is not None or k in ("verdict", "note", "reviewer", "date"):
                    item[k] = v
            flags.append(item)
            stats["flags"] += 1
    for fid, e in old.items():
        if fid in current or (e.verdict is None and not e.note):
            continue
        item = {"id": fid, "title": e.title, "found": e.found, "severity": e.severity, "orphan": True}
        item.update({k: getattr(e, k) for k in _KEPT if getattr(e, k) is not None})
        flags.append(item)
        stats["orphans"] += 1
    flags.extend(_entry(e) for e in added)
    doc = {"format": 1, "case_id": result.get("case_id") or None, "case": case_name, "as_of": dt.date.fromisoformat(result["as_of"]),
           "flags": flags}
    for_case = f" for case {result['case_id']} ({case_name})" if result.get("case_id") else f" for {case_name}"
    text = HEADER.format(for_case=for_case, as_of=result["as_of"])
    text += yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)
    return text, stats


# ------------------------------------------------------------------------------------------------ applying a review
def _finding_order(x: dict[str, Any]) -> tuple[Any, ...]:
    return (_DOM.get(x["domain"], 99), x["status"] != "applies", -_SEV.get(x["severity"], 0), x["id"])


def _mark(e: Entry) -> dict[str, Any]:
    return {"verdict": e.verdict, "reviewer": e.reviewer, "date": e.date.isoformat() if e.date else None,
            "note": e.note, "authority": e.authority, "status": e.status}


def _who(e: Entry) -> str:
    return f"{e.reviewer} on {e.date.isoformat() if e.date else '?'}"


def _added_finding(e: Entry, a: Added) -> dict[str, Any]:
    domain = a.domain or _domain_of(a.code)
    return {
        "id": f"{a.option}/{a.code}~review", "flag_id": f"{a.option}:{a.code}:added", "source": "review",
        "code": a.code, "kind": a.kind, "domain": domain, "status": a.status, "certainty": a.certainty,
        "severity": a.severity, "mandatory": a.mandatory, "duration": None,
        "padilla": padilla_label(domain, a.kind, a.mandatory, a.status == "applies", a.certainty),
        "title": a.title or a.summary, "summary": a.summary, "explanation": e.note or "",
        "citations": [{"cite": a.citation}], "rule": "review", "rules": [], "pack": "review",
        "counts": [], "history": [], "because": [], "facts": {}, "missing_facts": [], "burden": None,
        "silent_record": [], "mitigations": [], "record_checklist": [], "amount": None, "arithmetic": None,
        "timeline": None, "audience": "client",
        "review": {**_mark(e), "verdict": "added"},
    }


def apply_review(result: dict[str, Any], review: Review) -> None:
    """Put counsel's verdicts on the result. Each finding gets `review` (None while it awaits counsel); an
    override keeps `status_by_rules`, sets `status` to counsel's and `overridden_by`; added consequences become
    findings with `source: review`; reviewed flags the rules no longer produce go to `review_orphans`. Overrides,
    disputes, additions and orphans each get a line in `warnings`, which every format shows first."""
    problems: list[Problem] = []
    index: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for o in result["options"]:
        for f in o["findings"]:
            f["review"] = None
            index[f["flag_id"]] = (o, f)
    options = {o["id"]: o for o in result["options"]}
    changed: set[str] = set()      # options whose findings changed status or gained one
    orphans: list[dict[str, Any]] = []
    additions: list[tuple[dict[str, Any], Entry]] = []
    for i, e in enumerate(review.model.flags):
        if e.added is not None:
            a = e.added
            o = options.get(a.option)
            if o is None:
                problems.append(Problem(review.src.file, review.line("flags", i, "added", "option"), f"flags[{i}].added.option",
                                        f"no option '{a.option}' in the case", nearest(a.option, options)))
                continue
            f = _added_finding(e, a)
            if f["flag_id"] in index:
                problems.append(Problem(review.src.file, review.line("flags", i, "added"), f"flags[{i}].added",
                                        f"{a.code} is added twice for option {a.option}"))
                continue
            index[f["flag_id"]] = (o, f)
            additions.append((f, e))
            continue
        assert e.id is not None
        hit = index.get(e.id)
        if hit is None:
            if e.found is not None:   # listed by `collateral review` once: the rules produced it then
                if e.verdict is not None or e.note:   # reviewed: report it (a blank entry has nothing to lose)
                    orphans.append({"flag_id": e.id, "title": e.title, "found": e.found, "severity": e.severity, **_mark(e)})
            else:
                near = nearest(e.id, [k for k, (_, f) in index.items() if f.get("source") != "review"])
                problems.append(Problem(review.src.file, review.line("flags", i, "id"), f"flags[{i}].id",
                                        f"unknown flag id '{e.id}': no finding of this case has it", near))
            continue
        o, f = hit
        if f.get("source") == "review":
            continue
        if e.verdict is None and not e.note:
            continue   # still awaiting counsel
        f["review"] = _mark(e)
        if e.verdict == "overridden" and e.status is not None and e.status != f["status"]:
            f["status_by_rules"] = f["status"]
            f["status"] = e.status
            f["overridden_by"] = e.reviewer
            f["padilla"] = (None if e.status == "absent" else
                            padilla_label(f["domain"], f["kind"], f["mandatory"], e.status == "applies", f["certainty"]))
            changed.add(o["id"])
        elif e.verdict == "overridden":
            f["overridden_by"] = e.reviewer
    if problems:
        raise InputError("review file", problems)
    warnings: list[str] = []
    for o in result["options"]:
        for f in o["findings"]:
            mark = f.get("review")
            if not mark or mark["verdict"] not in ("overridden", "disputed"):
                continue
            who = f"{mark['reviewer']} on {mark['date']}"
            note = f" Note: {mark['note']}" if mark.get("note") else ""
            if mark["verdict"] == "overridden":
                rules_status = f.get("status_by_rules", f["status"])
                warnings.append(f"Overridden by {who}: {o['id']} — {f['title']}: the rules found it {rules_status}; "
                                f"counsel advises {f['status']} ({mark['authority']}).{note}")
            else:
                warnings.append(f"Disputed by {who}: {o['id']} — {f['title']} (still shown as {f['status']}"
                                + (f"; {mark['authority']}" if mark.get("authority") else "") + f").{note}")
    for f, e in additions:
        o = options[_flag_option(f["flag_id"])]
        known = [g for g in o["findings"] if g["code"] == f["code"]]
        if known:   # the rules find it too now: the verdict stands beside theirs, not twice in the memo
            warnings.append(f"Added by {_who(e)}: {o['id']} — {f['title']}: the rules now find it too "
                            f"({', '.join(g['flag_id'] for g in known)}); review that flag instead.")
            continue
        o["findings"].append(f)
        changed.add(o["id"])
        warnings.append(f"Added by {_who(e)}: {o['id']} — {f['title']} ({f['status']}; {f['citations'][0]['cite']}).")
    for x in orphans:
        warnings.append(f"A reviewed flag is no longer found by the rules: {x['title'] or x['flag_id']} ({x['flag_id']}; "
                        f"{x['verdict'] or 'no verdict'} by {x['reviewer'] or '?'} on {x['date'] or '?'}): check the review.")
    for o in result["options"]:
        if o["id"] in changed:
            o["findings"].sort(key=_finding_order)
            _refresh_option(o)
    if changed:
        live = [{**o, "findings": [f for f in o["findings"] if f["status"] in RULE_STATUSES]} for o in result["options"]]
        result["comparison"] = compare(live, result.get("client", {}).get("priorities", []))
    result["review_orphans"] = orphans
    marks = [f["review"] for o in result["options"] for f in o["findings"]]
    result["review"] = {
        "digest": review.digest,
        "reviewed": sum(1 for m in marks if m and m["verdict"] in ("confirmed", "disputed", "overridden")),
        "pending": sum(1 for m in marks if m is None or m["verdict"] is None),
        "overridden": sum(1 for m in marks if m and m["verdict"] == "overridden"),
        "disputed": sum(1 for m in marks if m and m["verdict"] == "disputed"),
        "added": sum(1 for m in marks if m and m["verdict"] == "added"),
        "orphans": len(orphans),
    }
    result["warnings"] = list(result.get("warnings", [])) + warnings


def _refresh_option(o: dict[str, Any]) -> None:
    """The money and the questions of an option whose findings a review changed."""
    live = [f for f in o["findings"] if f["status"] in RULE_STATUSES]
    fin = o.get("financial")
    if isinstance(fin, dict) and "ability_to_pay" in fin:
        atp = fin["ability_to_pay"]
        o["financial"] = financial(live, {"client.finances.annual_income": atp.get("income"),
                                          "client.finances.poverty_line": atp.get("poverty_line"),
                                          "client.finances.household_size": atp.get("household_size")})
    possible = {f["id"]: f["severity"] for f in o["findings"] if f["status"] == "possible"}
    ids = {f["id"] for f in o["findings"]}
    for key in ("questions", "counsel_questions"):
        kept = []
        for q in o.get(key, []):
            why = [w for w in q.get("why", []) if w in possible or w not in ids]
            if q.get("why") and not why:
                continue   # every finding it would decide is decided by counsel now
            if why != q.get("why"):
                q = {**q, "why": why, "stakes": max((possible[w] for w in why if w in possible), key=_SEV.__getitem__,
                                                    default=q.get("stakes", "info"))}
            kept.append(q)
        o[key] = kept


# ------------------------------------------------------------------------------------------------ what changed
def _key(f: dict[str, Any]) -> str:
    return str(f.get("flag_id") or f["id"])


def _show(v: Any) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


_UNKNOWN = object()


class _Side:
    """One result, indexed for comparison."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        self.options = {o["id"]: o for o in result.get("options", [])}
        self.findings: dict[str, dict[str, dict[str, Any]]] = {}
        self.flag_of: dict[str, dict[str, str]] = {}
        self.known: dict[str, dict[str, Any]] = {}
        self.unknown: dict[str, set[str]] = {}
        for oid, o in self.options.items():
            fs = {_key(f): f for f in o["findings"]}
            self.findings[oid] = fs
            self.flag_of[oid] = {f["id"]: _key(f) for f in o["findings"]}
            known: dict[str, Any] = {}
            unknown: set[str] = set()
            for f in [*o["findings"], *o.get("applicant_view", [])]:
                known.update(f.get("facts") or {})
                unknown.update(f.get("missing_facts") or [])
            for q in [*o.get("questions", []), *o.get("counsel_questions", [])]:
                unknown.add(q["fact"])
            self.known[oid], self.unknown[oid] = known, unknown - set(known)
        self.packs = {p["id"]: p for p in result.get("packs", [])}

    def fact(self, oid: str, path: str) -> Any:
        if path in self.known.get(oid, {}):
            return self.known[oid][path]
        if path in self.unknown.get(oid, set()):
            return None
        if not path.startswith(("counts[", "history[")):   # a client fact: read by another option
            for other in self.known:
                if path in self.known[other]:
                    return self.known[other][path]
        return _UNKNOWN


def _state(f: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    if f is None:
        return None
    return {"status": f["status"], "certainty": f["certainty"], "amount": f.get("amount")}


def _effective(packset: Optional[PackSet]) -> dict[str, tuple[Optional[dt.date], Optional[dt.date]]]:
    out: dict[str, tuple[Optional[dt.date], Optional[dt.date]]] = {}
    if packset is None:
        return out
    for p in packset.packs:
        for lr in p.rules:
            eff = lr.rule.effective
            if eff is not None:
                out[lr.rule.id] = (eff.from_, eff.to)
    return out


def diff(old: dict[str, Any], new: dict[str, Any], packset: Optional[PackSet] = None) -> dict[str, Any]:
    """Findings added, removed, or changed in status, certainty or amount between two results, each with its
    causes: a fact it reads changed, a rule or its pack changed, a rule came into force or ceased to apply
    (the packs' effective dates, when `packset` is given), or a review verdict."""
    a, b = _Side(old), _Side(new)
    old_as_of, new_as_of = old.get("as_of"), new.get("as_of")
    so, sn = old.get("seal") or {}, new.get("seal") or {}
    facts_state = ("same" if so.get("case_digest") == sn.get("case_digest") else "changed") \
        if so.get("case_digest") and sn.get("case_digest") else "unknown"
    pack_changes: dict[str, str] = {}
    for pid in sorted(set(a.packs) | set(b.packs)):
        pa, pb = a.packs.get(pid), b.packs.get(pid)
        if pa is None and pb is not None:
            pack_changes[pid] = f"pack {pid} {pb.get('version')} applied (not before)"
        elif pb is None and pa is not None:
            pack_changes[pid] = f"pack {pid} {pa.get('version')} no longer applied"
        elif pa is not None and pb is not None and pa.get("digest") != pb.get("digest"):
            pack_changes[pid] = (f"pack {pid} {pa.get('version')} → {pb.get('version')}" if pa.get("version") != pb.get("version")
                                 else f"pack {pid} {pa.get('version')} edited (same version)")
    effective = _effective(packset) if old_as_of != new_as_of else {}
    old_engine, new_engine = (old.get("engine") or {}).get("version"), (new.get("engine") or {}).get("version")

    def count_changes(oid: str) -> list[str]:
        ca = (a.options.get(oid) or {}).get("counts", [])
        cb = (b.options.get(oid) or {}).get("counts", [])
        out = []
        for i in range(max(len(ca), len(cb))):
            x, y = (ca[i] if i < len(ca) else None), (cb[i] if i < len(cb) else None)
            if x is None or y is None:
                out.append(f"count {i + 1} {'added' if x is None else 'removed'}")
                continue
            for k in ("statute", "disposition", "custody_days", "suspended_days"):
                if x.get(k) != y.get(k):
                    out.append(f"counts[{i}].{k}: {_show(x.get(k))} → {_show(y.get(k))}")
        return out

    def causes(oid: str, fa: Optional[dict[str, Any]], fb: Optional[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        f_any = fb or fa
        assert f_any is not None
        # a review verdict
        ra = fa.get("status_by_rules", fa["status"]) if fa else None
        rb = fb.get("status_by_rules", fb["status"]) if fb else None
        review_only = False
        if fb is not None and fb.get("source") == "review" and fa is None:
            m = fb.get("review") or {}
            out.append({"kind": "review", "text": f"added by {m.get('reviewer')} on {m.get('date')}"})
            review_only = True
        elif fa is not None and fa.get("source") == "review" and fb is None:
            out.append({"kind": "review", "text": "no longer added by the review"})
            review_only = True
        elif fa is not None and fb is not None and (fa.get("overridden_by") or fb.get("overridden_by")) \
                and fa["status"] != fb["status"]:
            if fb.get("overridden_by") and fb.get("status_by_rules"):
                m = fb.get("review") or {}
                out.append({"kind": "review", "text": f"overridden by {m.get('reviewer')} on {m.get('date')}: "
                                                      f"{fb['status']} ({m.get('authority')})"})
            else:
                out.append({"kind": "review", "text": f"override by {fa.get('overridden_by')} withdrawn"})
            review_only = ra == rb and fa["certainty"] == fb["certainty"] and fa.get("amount") == fb.get("amount")
        if review_only:
            return out
        if oid not in a.options:
            return [{"kind": "option", "text": f"option {oid} is new"}]
        if oid not in b.options:
            return [{"kind": "option", "text": f"option {oid} is no longer in the case"}]
        # facts it reads
        paths: set[str] = set()
        for f in (fa, fb):
            if f is not None:
                paths |= set(f.get("facts") or {}) | set(f.get("missing_facts") or [])
        for p in sorted(paths):
            va = (fa.get("facts") or {}).get(p, _UNKNOWN) if fa else _UNKNOWN
            if va is _UNKNOWN:
                va = None if fa is not None and p in (fa.get("missing_facts") or []) else a.fact(oid, p)
            vb = (fb.get("facts") or {}).get(p, _UNKNOWN) if fb else _UNKNOWN
            if vb is _UNKNOWN:
                vb = None if fb is not None and p in (fb.get("missing_facts") or []) else b.fact(oid, p)
            if va is _UNKNOWN or vb is _UNKNOWN or va == vb:
                continue
            out.append({"kind": "fact", "fact": p, "old": va, "new": vb, "text": f"{p}: {_show(va)} → {_show(vb)}"})
        # rules and packs
        if fa is not None and fb is not None and fa.get("rules") != fb.get("rules"):
            out.append({"kind": "rule", "text": f"rules concluding it: {', '.join(fa.get('rules') or []) or 'none'} → "
                                                f"{', '.join(fb.get('rules') or []) or 'none'}"})
        for pid in sorted({f["pack"] for f in (fa, fb) if f is not None and f.get("pack")}):
            if pid in pack_changes:
                out.append({"kind": "rule", "pack": pid, "text": pack_changes[pid]})
        # the law in force on each date
        if old_as_of != new_as_of and old_as_of and new_as_of:
            lo, hi = sorted((dt.date.fromisoformat(old_as_of), dt.date.fromisoformat(new_as_of)))
            forward = new_as_of > old_as_of
            for rid in sorted({r for f in (fa, fb) if f is not None for r in (f.get("rules") or [])}):
                start, end = effective.get(rid, (None, None))
                if start is not None and lo < start <= hi:
                    out.append({"kind": "in_force", "rule": rid, "text": f"rule {rid} " + (
                        f"came into force on {start.isoformat()}" if forward else f"was not yet in force on {new_as_of} (from {start.isoformat()})")})
                if end is not None and lo < end <= hi:
                    out.append({"kind": "in_force", "rule": rid, "text": f"rule {rid} " + (
                        f"ceased to apply on {end.isoformat()}" if forward else f"was still in force on {new_as_of} (until {end.isoformat()})")})
        if not out:
            if facts_state != "same":
                out.extend({"kind": "fact", "text": t} for t in count_changes(oid))
            if not out and old_as_of != new_as_of:
                out.append({"kind": "as_of", "text": f"the law and the time-dependent facts as of {new_as_of} instead of {old_as_of}"})
            if not out and old_engine != new_engine:
                out.append({"kind": "engine", "text": f"engine {old_engine} → {new_engine}"})
        return out

    changes: dict[tuple[str, str], dict[str, Any]] = {}
    option_order = list(b.options) + [o for o in a.options if o not in b.options]
    for oid in option_order:
        fa_all, fb_all = a.findings.get(oid, {}), b.findings.get(oid, {})
        for k in list(fb_all) + [k for k in fa_all if k not in fb_all]:
            fa, fb = fa_all.get(k), fb_all.get(k)
            if fa is not None and fb is not None and _state(fa) == _state(fb):
                continue
            f = fb or fa
            assert f is not None
            kind = "added" if fa is None else "removed" if fb is None else "changed"
            fields = [x for x in ("status", "certainty", "amount") if fa and fb and fa.get(x) != fb.get(x)]
            changes[(oid, k)] = {"flag_id": k, "option": oid, "change": kind, "title": f["title"], "code": f["code"],
                                 "domain": f["domain"], "kind": f["kind"], "severity": f["severity"],
                                 "old": _state(fa), "new": _state(fb), "fields": fields, "causes": causes(oid, fa, fb),
                                 "_because": [(side.flag_of.get(oid, {}).get(x)) for side, g in ((a, fa), (b, fb))
                                              if g is not None for x in g.get("because", [])]}

    # a finding that changed because a finding it rests on changed: name that one and inherit its causes
    def inherited(key: tuple[str, str], seen: set[tuple[str, str]]) -> list[dict[str, Any]]:
        c = changes[key]
        out = list(c["causes"])
        for dep in dict.fromkeys(d for d in c["_because"] if d):
            dk = (key[0], dep)
            if dk not in changes or dk in seen or dk == key:
                continue
            d = changes[dk]
            out.append({"kind": "derived", "flag_id": dep, "text": f"follows from: {d['title']} ({_what(d)})"})
            out.extend(x for x in inherited(dk, seen | {key}) if x["kind"] != "derived")
        unique: list[dict[str, Any]] = []
        for x in out:
            if all(x["text"] != y["text"] for y in unique):
                unique.append(x)
        return unique

    final = []
    for key, c in changes.items():
        c["causes"] = inherited(key, set())
        if len(c["causes"]) > 1:
            c["causes"] = [x for x in c["causes"] if x["kind"] not in ("as_of", "engine")] or c["causes"]
        if not c["causes"]:
            c["causes"] = [{"kind": "unknown", "text": "no cause found in the two results"}]
        final.append(c)
    for c in final:
        del c["_because"]
    final.sort(key=lambda c: (option_order.index(c["option"]), _DOM.get(c["domain"], 99), -_SEV.get(c["severity"], 0),
                              ("added", "changed", "removed").index(c["change"]), c["flag_id"]))
    return {
        "old": {"as_of": old_as_of, "case_id": old.get("case_id"), "result_digest": so.get("result_digest")},
        "new": {"as_of": new_as_of, "case_id": new.get("case_id"), "result_digest": sn.get("result_digest")},
        "inputs": {"facts": facts_state, "packs": [pack_changes[p] for p in sorted(pack_changes)],
                   "as_of": [old_as_of, new_as_of], "engine": [old_engine, new_engine]},
        "changes": final,
    }


def _what(c: dict[str, Any]) -> str:
    if c["change"] == "added":
        return f"now {c['new']['status']}"
    if c["change"] == "removed":
        return f"no longer found (was {c['old']['status']})"
    parts = []
    for fld in c["fields"]:
        o, n = c["old"][fld], c["new"][fld]
        parts.append(f"{fld} {_show(o) if o is not None else 'none'} → {_show(n) if n is not None else 'none'}")
    return "; ".join(parts)


def diff_text(d: dict[str, Any]) -> str:
    old, new, inp = d["old"], d["new"], d["inputs"]
    lines = [f"Changes from the result as of {old['as_of']} to the result as of {new['as_of']}"
             + (f" (case {new['case_id']})" if new.get("case_id") else "")]
    what = [f"facts {inp['facts']}"]
    if inp["packs"]:
        what.append("; ".join(inp["packs"]))
    if inp["as_of"][0] != inp["as_of"][1]:
        what.append(f"law as of {inp['as_of'][0]} → {inp['as_of'][1]}")
    if inp["engine"][0] != inp["engine"][1]:
        what.append(f"engine {inp['engine'][0]} → {inp['engine'][1]}")
    lines.append("Inputs: " + "; ".join(what))
    cs = d["changes"]
    if not cs:
        lines.append("No finding changed.")
        return "\n".join(lines) + "\n"
    n = {k: sum(1 for c in cs if c["change"] == k) for k in ("added", "removed", "changed")}
    lines.append(f"{n['added']} added, {n['removed']} removed, {n['changed']} changed.")
    sign = {"added": "+", "removed": "-", "changed": "~"}
    current = None
    for c in cs:
        if c["option"] != current:
            current = c["option"]
            lines += ["", f"Option {current}"]
        lines.append(f"  {sign[c['change']]} [{c['severity']}] {c['title']} — {_what(c)}")
        lines.append(f"      flag: {c['flag_id']}")
        lines.append("      because: " + "; ".join(x["text"] for x in c["causes"]))
    return "\n".join(lines) + "\n"


def apply_since(result: dict[str, Any], old: dict[str, Any], packset: Optional[PackSet] = None) -> None:
    """`since`: what changed from an earlier result to this one; one line per change at the top of the memo."""
    d = diff(old, result, packset)
    result["since"] = {"as_of": d["old"]["as_of"], "result_digest": d["old"]["result_digest"], "inputs": d["inputs"],
                       "changes": d["changes"]}
    head = f"Since the memo of {d['old']['as_of']}"
    lines = [f"{head}: {c['option']} — {c['title']}: {_what(c)} (because: {'; '.join(x['text'] for x in c['causes'])})."
             for c in d["changes"]]
    result["warnings"] = list(result.get("warnings", [])) + (lines or [f"{head}: no finding changed."])


# ------------------------------------------------------------------------------------------------ review queue
def pending(result: dict[str, Any], review: Optional[Review], case_name: str) -> list[dict[str, Any]]:
    """The flags of one result still awaiting counsel: those with no verdict in the review file."""
    done = {e.id for e in (review.model.flags if review else []) if e.id is not None and e.verdict is not None}
    rows = []
    for o in result["options"]:
        for f in o["findings"]:
            if f.get("source") == "review" or f["flag_id"] in done:
                continue
            rows.append({"severity": f["severity"], "status": f["status"], "domain": f["domain"], "case": case_name,
                         "case_id": result.get("case_id") or "", "option": o["id"], "flag_id": f["flag_id"], "title": f["title"]})
    return rows


def queue_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most serious first: severity, what applies before what is possible, immigration first, then by case."""
    return sorted(rows, key=lambda r: (-_SEV.get(r["severity"], 0), r["status"] != "applies", _DOM.get(r["domain"], 99),
                                       r["case"], r["flag_id"]))


def is_case_data(data: Any) -> bool:
    return isinstance(data, dict) and "options" in data and "format" in data

