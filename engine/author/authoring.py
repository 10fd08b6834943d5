"""The rule authors' toolkit: named conditions, JSON Schemas, the pack scaffold, the generated reference, the
canonical layout (`packs fmt`) and the digests of the lock file (docs/rule-authoring.md §9)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional

from engine.law.conditions import expand_uses as expand_uses
from engine.model.errors import Problem

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


# ---------------------------------------------------------------- JSON Schemas
SCHEMA_KINDS = ("pack", "rules", "parameters", "derived", "catalog", "tests", "case")
SCHEMA_FILES = {"pack": "pack.yaml", "rules": "*.rules.yaml", "parameters": "parameters.yaml", "derived": "derived.yaml",
                "catalog": "catalog.yaml", "tests": "*.test.yaml", "case": "a case file"}

_VALUE = {"description": "A literal, {param: NAME}, or another fact plus an offset: {fact: PATH, plus: {years: 5}}"}
_FACT_OPS: dict[str, Any] = {
    "eq": _VALUE, "ne": _VALUE, "lt": _VALUE, "le": _VALUE, "gt": _VALUE, "ge": _VALUE,
    "in": {"description": "the value is one of these (a list or {param: NAME})"},
    "not_in": {"description": "the value is none of these (a list or {param: NAME})"},
    "has": {"type": "string", "description": "a list fact contains this tag"},
    "has_any": {"type": "array", "items": {"type": "string"}, "description": "a list fact contains one of these tags"},
    "has_all": {"type": "array", "items": {"type": "string"}, "description": "a list fact contains every one of these tags"},
    "known": {"type": "boolean", "description": "the fact is known (true) or unknown (false); never unknown itself"},
    "starts_with": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                    "description": "a text fact starts with this prefix or one of these prefixes"},
}
_COUNT_OPS = {k: {"type": "integer"} for k in ("eq", "lt", "le", "gt", "ge")}
_REF = {"$ref": "#/$defs/Condition"}
CONDITION_SCHEMA: dict[str, Any] = {
    "title": "Condition",
    "description": "A condition (docs/rule-authoring.md §5): all, any, not, fact with one operator, finding, count, "
                   "or use: NAME (a named condition of the file's `conditions:`).",
    "anyOf": [
        {"type": "object", "properties": {"all": {"type": "array", "items": _REF, "minItems": 1}}, "required": ["all"],
         "additionalProperties": False, "description": "every condition holds"},
        {"type": "object", "properties": {"any": {"type": "array", "items": _REF, "minItems": 1}}, "required": ["any"],
         "additionalProperties": False, "description": "at least one condition holds"},
        {"type": "object", "properties": {"not": _REF}, "required": ["not"], "additionalProperties": False,
         "description": "the condition does not hold"},
        {"type": "object", "properties": {"use": {"type": "string"}}, "required": ["use"], "additionalProperties": False,
         "description": "the named condition of this file's `conditions:`"},
        {"type": "object", "properties": {"fact": {"type": "string", "description": "a fact path (§7)"}, **_FACT_OPS},
         "required": ["fact"], "minProperties": 2, "maxProperties": 2, "additionalProperties": False,
         "description": "a test on a fact, with exactly one operator"},
        {"type": "object", "properties": {"finding": {"type": "string", "description": "a code some rule concludes"},
                                          "any_count": {"type": "boolean"}},
         "required": ["finding"], "additionalProperties": False, "description": "a finding with that code exists"},
        {"type": "object", "properties": {"count": {"type": "string"}, "separate": {"type": "boolean"}, **_COUNT_OPS},
         "required": ["count"], "minProperties": 2, "additionalProperties": False,
         "description": "the number of counts (or separate schemes) on which the code was found"},
    ],
}


def _models() -> dict[str, Any]:
    from engine.law.packs import Catalog, DerivedFile, Manifest, ParameterFile, RuleFile, TestFile
    from engine.model.casefile import CaseFile
    return {"pack": Manifest, "rules": RuleFile, "parameters": ParameterFile, "derived": DerivedFile, "catalog": Catalog,
            "tests": TestFile, "case": CaseFile}


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind of file, generated from its model (conditions described, not `{}`)."""
    model = _models()[kind]
    out: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                           "$id": f"collateral/{kind}.schema.json"}
    out.update(model.model_json_schema(by_alias=True, mode="validation"))
    out["description"] = f"collateral: {SCHEMA_FILES[kind]} (generated from {model.__name__}; `collateral schema {kind}`)"
    if kind == "rules":
        defs = out.setdefault("$defs", {})
        defs["Condition"] = CONDITION_SCHEMA
        defs["Rule"]["properties"]["when"] = {**_REF, "description": "the condition under which the rule concludes"}
        out["properties"]["conditions"] = {"type": "object", "additionalProperties": _REF, "default": {},
                                           "description": "named reusable conditions, read with {use: NAME}"}
    return out


def schema_text(kind: str) -> str:
    return json.dumps(schema(kind), indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema to folder/<kind>.schema.json (the shipped copies: a test keeps them from drifting)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in SCHEMA_KINDS:
        p = folder / f"{kind}.schema.json"
        p.write_text(schema_text(kind), encoding="utf-8")
        out.append(p)
    return out


def schema_header(kind: str, folder: Path) -> str:
    """The yaml-language-server comment that points an editor at the shipped schema, relative to folder."""
    rel = os.path.relpath(SCHEMA_DIR / f"{kind}.schema.json", folder.resolve())
    return f"# yaml-language-server: $schema={Path(rel).as_posix()}\n"


def kind_of(path: Path) -> Optional[str]:
    """The schema kind of a pack file, by its name."""
    name = path.name
    if name == "pack.yaml":
        return "pack"
    if name.endswith(".rules.yaml"):
        return "rules"
    if name.endswith(".test.yaml"):
        return "tests"
    return {"parameters.yaml": "parameters", "derived.yaml": "derived", "catalog.yaml": "catalog"}.get(name)


# ---------------------------------------------------------------- digests (pack.lock.json)
LOCK_NAME = "pack.lock.json"
_REVIEW_ONLY = ("reviewed_by", "reviewed_on")


def rule_digest(rule: Any) -> str:
    """The digest of a rule's canonical content: its fields as data (named conditions expanded, comments and
    layout ignored), without who reviewed it; `status` counts only when the rule is retired."""
    data = rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    for k in _REVIEW_ONLY:
        data.pop(k, None)
    if data.get("status") != "retired":
        data.pop("status", None)
    return "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def param_digest(param: Any) -> str:
    data = param.model_dump(mode="json", by_alias=True, exclude_none=True)
    return "sha256:" + hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def lock_data(pack: Any) -> dict[str, Any]:
    """What pack.lock.json records: the version, and a digest per rule (retired ones too) and per parameter."""
    rules = {lr.rule.id: rule_digest(lr.rule) for lr in [*pack.rules, *pack.retired]}
    return {"pack": pack.id, "version": pack.manifest.version,
            "rules": dict(sorted(rules.items())),
            "parameters": {k: param_digest(v) for k, v in sorted(pack.parameters.items())}}


def lock_text(pack: Any) -> str:
    return json.dumps(lock_data(pack), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- scaffold (`packs new`)
class ScaffoldError(Exception):
    pass


def _code_prefix(domain: str) -> str:
    from engine.author.packtools import CODE_PREFIXES
    return next(p for p, d in sorted(CODE_PREFIXES.items()) if d == domain)


def scaffold(root: Path, jurisdiction: str, domain: str, name: Optional[str] = None,
             on: Optional[dt.date] = None) -> tuple[Path, list[Path]]:
    """Create root/<jurisdiction>/<name or domain>/ with a manifest, a parameter, one cited example rule and a
    positive and a negative test, which pass `packs check` and `packs test` as they are. Returns the folder and
    the files written."""
    import re

    from engine.author.packtools import CODE_PREFIXES
    on = on or dt.date.today()
    juris = jurisdiction.upper()
    if not re.fullmatch(r"US(-[A-Z]{2})?", juris):
        raise ScaffoldError(f"jurisdiction '{jurisdiction}': expected US or US-XX (a state's postal code, e.g. US-CA)")
    if domain not in CODE_PREFIXES.values():
        raise ScaffoldError(f"domain '{domain}': expected one of {', '.join(sorted(set(CODE_PREFIXES.values())))}")
    slug = name or domain
    if not re.fullmatch(r"[a-z][a-z0-9-]*", slug):
        raise ScaffoldError(f"name '{slug}': lower-case letters, digits and hyphens, starting with a letter")
    pack_id = f"{juris.lower()}.{slug}"
    folder = root / juris.lower() / slug
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists")
    code = f"{_code_prefix(domain)}.{slug.replace('-', '_')}_example"
    fines = domain == "fines"
    param = "example_fee_usd" if fines else "example_min_days"
    day = on.isoformat()
    manifest = f"""\
id: {pack_id}                       # dotted, lower case; every rule id starts with it
title: "{juris} {slug.replace('-', ' ')}: replace with what this pack covers"
jurisdiction: {juris}
domain: {domain}
version: 0.1.0                      # bump with every change of law content, with a changelog line
current_through: {day}          # the date through which you checked the law
maintainers: ["Replace with your office"]
changelog:
  - {{version: 0.1.0, date: {day}, changes: "First draft, from collateral packs new."}}
"""
    if fines:
        parameters = f"""\
parameters:
  {param}:
    description: "Example: the fee on each conviction. Replace it with the real amount and its source."
    unit: usd
    values:
      - from: 2020-01-01
        value: 50
        cite: "Replace with the ordinance or statute that sets it, with a pinpoint (e.g. Gov. Code § 76000(a))"
"""
        when = """\
      all:
        - fact: count.offense.statute   # replace: the statutes the fee follows
          starts_with: "EXAMPLE "
        - fact: count.disposition
          eq: conviction
        - fact: count.source
          eq: option"""
        extra_then = f"\n      amount: {{param: {param}}}"
    else:
        parameters = f"""\
parameters:
  {param}:
    description: "Example: the custody term from which the consequence follows. Replace it, with its source."
    unit: days
    values:
      - from: 2020-01-01
        value: 365
        cite: "Replace with the statute that sets it, with a pinpoint (e.g. 8 U.S.C. § 1101(a)(43)(G))"
"""
        when = f"""\
      all:
        - fact: count.offense.statute   # replace: the statutes the consequence follows
          starts_with: "EXAMPLE "
        - fact: count.disposition
          eq: conviction
        - fact: count.sentence.custody_days
          ge: {{param: {param}}}"""
        extra_then = ""
    rules = f"""\
rules:
  - id: {pack_id}.example               # <pack id>.<slug>; never reused, never renamed
    title: "Example rule: replace it with a rule of your pack"
    status: draft                       # draft | reviewed (with reviewed_by and reviewed_on) | retired
    effective: {{from: 2020-01-01}}       # optional to: (exclusive)
    certainty: clear                    # clear | likely | unsettled | circuit_split
    scope: count                        # count: every count; option: once per plea option
    citations:
      - {{cite: "Replace with the statute or decision, with a pinpoint (e.g. Gov. Code § 76000(a))"}}
    when:
{when}
    then:
      code: {code}
      kind: consequence                 # consequence | classification | relief
      domain: {domain}
      severity: {'low' if fines else 'medium'}                    # critical | high | medium | low | info
      mandatory: true
      title: "Example consequence"
      summary: "Replace with plain sentences a client can understand."
      explanation: "Replace with the legal test and how the facts meet it, for the attorney."{extra_then}
"""
    defaults = f"""\
defaults:
  case:
    format: 1
    jurisdiction: {juris}
    as_of: {day}
    client:
      birth_date: 1990-01-01
      immigration: {{status: us_citizen}}
"""
    count = 'offense: {statute: "EXAMPLE 1", class: misdemeanor, max_days: 365, elements: [theft], mens_rea: intent, force: none}'
    yes = "conviction" + (", 365 days in custody" if not fines else "")
    no = "dismissal" if fines else "conviction with 30 days in custody"
    tests = defaults + f"""\
tests:
  - name: "A {yes} brings the example consequence"
    case:
      options:
        - id: offer
          counts:
            - {count}
              committed_on: 2024-01-01
              disposition: conviction
              sentence: {{custody_days: {365 if not fines else 0}}}
    expect:
      offer:
        applies: [{code}]{f'''
        amounts: {{{code}: 50}}''' if fines else ''}

  - name: "A {no} does not"
    case:
      options:
        - id: offer
          counts:
            - {count}
              committed_on: 2024-01-01
              disposition: {'dismissal' if fines else 'conviction'}
              sentence: {{custody_days: {0 if fines else 30}}}
    expect:
      offer:
        absent: [{code}]
"""
    folder.mkdir(parents=True)
    files = {"pack.yaml": ("pack", manifest), "parameters.yaml": ("parameters", parameters),
             "example.rules.yaml": ("rules", rules), "example.test.yaml": ("tests", tests)}
    written = []
    for fname, (kind, text) in files.items():
        p = folder / fname
        p.write_text(schema_header(kind, folder) + text, encoding="utf-8")
        written.append(p)
    from engine.law.packs import load_pack
    problems: list[Problem] = []
    pack = load_pack(folder, problems)
    if pack is None or problems:
        raise ScaffoldError("the scaffold does not load: " + "; ".join(str(p) for p in problems))
    (folder / LOCK_NAME).write_text(lock_text(pack), encoding="utf-8")
    written.append(folder / LOCK_NAME)
    return folder, written


# ---------------------------------------------------------------- conditions and amounts in words
_OPS = {"eq": "is", "ne": "is not", "lt": "is before / less than", "le": "is at most", "gt": "is after / more than",
        "ge": "is at least", "in": "is one of", "not_in": "is none of", "has": "includes", "has_any": "includes any of",
        "has_all": "includes all of", "starts_with": "starts with"}
_COUNT = {"eq": "exactly", "lt": "fewer than", "le": "at most", "gt": "more than", "ge": "at least"}


def value_words(v: Any) -> str:
    """A condition's value: a literal, a parameter, or a fact plus an offset."""
    if isinstance(v, dict) and set(v) == {"param"}:
        return f"parameter `{v['param']}`"
    if isinstance(v, dict) and "fact" in v:
        plus = v.get("plus") or {}
        offset = ", ".join(f"{value_words(n)} {unit}" for unit, n in plus.items())
        return f"`{v['fact']}`" + (f" plus {offset}" if offset else "")
    if isinstance(v, list):
        return ", ".join(value_words(x) for x in v) or "(none)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.date, int, float)):
        return str(v)
    return f"`{v}`"


def condition_words(c: Any, depth: int = 0) -> list[str]:
    """A condition as nested Markdown bullets, in words."""
    pad = "  " * depth

    def line(text: str) -> list[str]:
        return [f"{pad}- {text}"]

    if not isinstance(c, dict):
        return line(f"(not a condition: {c!r})")
    if "all" in c or "any" in c:
        key = "all" if "all" in c else "any"
        kids = c[key] if isinstance(c[key], list) else []
        out = line("all of:" if key == "all" else "any of:")
        for k in kids:
            out += condition_words(k, depth + 1)
        return out
    if "not" in c:
        inner = c["not"]
        if isinstance(inner, dict) and "finding" in inner and len(inner) <= 2:
            return line(f"no finding `{inner['finding']}`" + (" on any count" if inner.get("any_count") else ""))
        return line("not:") + condition_words(inner, depth + 1)
    if "use" in c:
        return line(f"the named condition `{c['use']}`")
    if "finding" in c:
        return line(f"finding `{c['finding']}`" + (" on any count" if c.get("any_count") else ""))
    if "count" in c:
        op = next((k for k in c if k in _COUNT), "ge")
        what = "separate schemes of misconduct" if c.get("separate") else "counts"
        return line(f"{_COUNT[op]} {c.get(op)} {what} with finding `{c['count']}`")
    if "fact" in c:
        op = next((k for k in c if k != "fact"), "")
        if op == "known":
            return line(f"`{c['fact']}` is {'known' if c[op] else 'unknown'}")
        return line(f"`{c['fact']}` {_OPS.get(op, op)} {value_words(c.get(op))}")
    return line(f"(unrecognised condition {sorted(c)})")


_ARITH = {"add": " + ", "sub": " − ", "mul": " × ", "div": " ÷ "}


def amount_words(e: Any) -> str:
    if isinstance(e, dict) and len(e) == 1:
        (k, v), = e.items()
        if k == "param":
            return f"parameter `{v}`"
        if k == "fact":
            return f"`{v}`"
        if k in _ARITH and isinstance(v, list):
            return "(" + _ARITH[k].join(amount_words(x) for x in v) + ")"
        if isinstance(v, list):
            return f"{k.replace('_', ' ')}(" + ", ".join(amount_words(x) for x in v) + ")"
    if isinstance(e, dict) and "sum" in e:
        return f"sum over {str(e.get('over', 'option_counts')).replace('_', ' ')} of {amount_words(e['sum'])}"
    return str(e)


# ---------------------------------------------------------------- the generated reference (`packs docs`)
Exercised = dict[str, list[tuple[str, str]]]   # rule id -> (test name, test file) of the tests that make it fire
MAX_TESTS_LISTED = 12


def _rel(path: Any, base: Path) -> str:
    return Path(os.path.relpath(str(path), str(base))).as_posix()


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _md_cell(text: Any) -> str:
    return _one_line(text).replace("|", "\\|")


def _dated(values: list[Any]) -> list[str]:
    out = []
    for v in sorted(values, key=lambda x: x.from_):
        span = f"from {v.from_.isoformat()}" + (f" to {v.to.isoformat()}" if v.to else "")
        out.append(f"{value_words(v.value) if not isinstance(v.value, str) else v.value} ({span}; {v.cite})")
    return out


def _status(r: Any) -> str:
    if r.status == "reviewed":
        return f"reviewed by {r.reviewed_by or '?'} on {r.reviewed_on.isoformat() if r.reviewed_on else '?'}"
    return str(r.status)


def _effective(r: Any) -> str:
    if r.effective is None:
        return "always (no effective date)"
    return f"from {r.effective.from_.isoformat()}" + (f" to {r.effective.to.isoformat()} (exclusive)" if r.effective.to else "")


def _max_days(e: Any) -> str:
    if e.max_days is None:
        return ""
    if isinstance(e.max_days, int):
        return str(e.max_days)
    return "; ".join(f"{d.value}" + (f" from {d.from_.isoformat()}" if d.from_ != dt.date.min else "")
                     + (f" to {d.to.isoformat()}" if d.to else "") for d in sorted(e.max_days, key=lambda x: x.from_))


def _cimt(v: Optional[bool]) -> str:
    return "" if v is None else ("yes" if v else "no")


def _rule_fields(lr: Any, base: Path, exercised: Exercised) -> list[tuple[str, Any]]:
    """(label, text or list of lines) for one rule, in the order the reference shows them."""
    r = lr.rule
    t = r.then
    fields: list[tuple[str, Any]] = [
        ("Status", _status(r)),
        ("In force", _effective(r)),
        ("Certainty", r.certainty),
        ("Scope", "each count" if r.scope == "count" else "each plea option"),
    ]
    if r.circuits:
        fields.append(("Circuits", ", ".join(str(c) for c in r.circuits)))
    if r.burden:
        fields.append(("Burden", r.burden))
    if r.circumstance_specific:
        fields.append(("Circumstance-specific facts", ", ".join(r.circumstance_specific)))
    if r.overrides:
        fields.append(("Overrides", r.overrides))
    fields.append(("Condition", condition_words(r.when)))
    conclusion = (f"`{t.code}`: {t.title} ({t.kind}, {t.domain}, severity {t.severity}, "
                  f"{'mandatory' if t.mandatory else 'discretionary'}" + (f", {t.duration}" if t.duration else "") + ")")
    fields.append(("Consequence", conclusion))
    fields.append(("Summary", _one_line(t.summary)))
    if t.amount is not None:
        fields.append(("Amount", amount_words(t.amount)))
    if t.timeline:
        fields.append(("Timeline", _one_line(t.timeline)))
    if t.mitigations:
        fields.append(("Mitigations", [_one_line(m) for m in t.mitigations]))
    fields.append(("Citations", [c.cite + (f" — {_one_line(c.note)}" if c.note else "") for c in r.citations]))
    if r.notes:
        fields.append(("Notes", _one_line(r.notes)))
    fields.append(("Source", _rel(lr.file, base)))
    own = str(lr.pack.folder) + os.sep   # the pack's own tests first, then those of other packs
    tests = sorted(exercised.get(r.id, []), key=lambda t: not str(t[1]).startswith(own))
    shown = [f"{name} ({_rel(file, base)})" for name, file in tests[:MAX_TESTS_LISTED]]
    if len(tests) > MAX_TESTS_LISTED:
        shown.append(f"and {len(tests) - MAX_TESTS_LISTED} more")
    fields.append(("Tests that make it fire", shown or ["none"]))
    return fields


def _catalog_rows(pack: Any) -> list[list[str]]:
    rows = []
    for e in sorted(pack.catalog, key=lambda e: e.statute):
        auth = "; ".join(a.cite for a in e.authorities)
        rows.append([e.statute, _one_line(e.title or ""), e.class_ or "", _max_days(e), ", ".join(e.elements or []),
                     e.mens_rea or "", e.force or "", _cimt(e.cimt), e.substance_schedule or "", e.certainty or "clear",
                     _status(e), "yes" if e.verified else "no", auth])
        for p in e.prongs:
            rows.append([f"{e.statute} ↳ {p.id}", _one_line(p.title or ""), p.class_ or "", _max_days(p),
                         ", ".join(p.elements) if p.elements is not None else "", p.mens_rea or "", p.force or "",
                         _cimt(p.cimt), p.substance_schedule or "", p.certainty or "", "", "",
                         "; ".join(a.cite for a in p.authorities)])
    return rows


CATALOG_COLUMNS = ["Statute", "Title", "Class", "Max days", "Elements", "Mens rea", "Force", "CIMT", "Drug schedule",
                   "Certainty", "Status", "Verified", "Authorities"]


def _anchor(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text.lower())


def _pack_summary(p: Any) -> str:
    if p.catalog:
        return f"{len(p.catalog)} statutes"
    counts = {s: sum(1 for lr in p.rules if lr.rule.status == s) for s in ("reviewed", "draft")}
    return (f"{len(p.rules)} rules ({counts['reviewed']} reviewed, {counts['draft']} draft"
            + (f", {len(p.retired)} retired" if p.retired else "") + ")")


def pack_markdown(p: Any, base: Path, exercised: Exercised) -> str:
    m = p.manifest
    out = [f"# {p.id}: {_one_line(m.title)}", "",
           "<!-- generated by `collateral packs docs`; do not edit -->", "",
           f"- Jurisdiction: {m.jurisdiction}; domain: {m.domain}",
           f"- Version {m.version}, current through {m.current_through.isoformat()}; stability: {m.stability}"
           + ("; office overlay" if p.overlay else ""),
           f"- Maintainers: {', '.join(m.maintainers)}",
           f"- Folder: {_rel(p.folder, base)}",
           f"- {_pack_summary(p)}", ""]
    if m.changelog:
        out += ["## Changelog", ""]
        out += [f"- {c.version} ({c.date.isoformat()}): {_one_line(c.changes)}" for c in m.changelog]
        out.append("")
    if p.parameters:
        out += ["## Parameters", ""]
        for name, prm in sorted(p.parameters.items()):
            out.append(f"### `{name}`")
            out.append("")
            out.append(f"{_one_line(prm.description)} Unit: {prm.unit}.")
            out.append("")
            out += [f"- {v}" for v in _dated(prm.values)]
            out.append("")
    if p.derived:
        out += ["## Derived facts", ""]
        for d, _file, _line in sorted(p.derived, key=lambda x: x[0].path):
            out.append(f"- `{d.path}` = {amount_words(d.value)}: {_one_line(d.description)} ({d.cite})")
        out.append("")
    if p.rules or p.retired:
        out += ["## Rules", ""]
        for lr in sorted(p.rules, key=lambda lr: lr.rule.id) + sorted(p.retired, key=lambda lr: lr.rule.id):
            out += [f"### {lr.rule.id}", "", f"**{_one_line(lr.rule.title)}**", ""]
            for label, value in _rule_fields(lr, base, exercised):
                if isinstance(value, list):
                    out.append(f"- {label}:")
                    out += [("  " + v) if v.lstrip().startswith("- ") else f"  - {v}" for v in value]
                else:
                    out.append(f"- {label}: {value}")
            out.append("")
    if p.catalog:
        out += ["## Statutes", "", "| " + " | ".join(CATALOG_COLUMNS) + " |", "|" + "---|" * len(CATALOG_COLUMNS)]
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in _catalog_rows(p)]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def index_markdown(packs: list[Any], base: Path) -> str:
    out = ["# Rule pack reference", "",
           "<!-- generated by `collateral packs docs`; do not edit -->", "",
           "Every pack, rule and catalog entry, generated from the packs (`collateral packs docs -o docs/reference`). "
           "Search them all in [index.html](index.html), a single page that works offline.", "",
           "| Pack | Title | Jurisdiction | Domain | Version | Current through | Contents |", "|---|---|---|---|---|---|---|"]
    for p in packs:
        m = p.manifest
        out.append(f"| [{p.id}]({p.id}.md) | {_md_cell(m.title)} | {m.jurisdiction} | {m.domain} | {m.version} | "
                   f"{m.current_through.isoformat()} | {_pack_summary(p)} |")
    return "\n".join(out) + "\n"


def _h(text: Any) -> str:
    import html
    return html.escape(str(text), quote=True)


def _md_inline_html(text: str) -> str:
    """`code` spans of the reference's own text as <code>, everything else escaped."""
    parts = str(text).split("`")
    return "".join(f"<code>{_h(x)}</code>" if i % 2 else _h(x) for i, x in enumerate(parts))


def _bullets_html(lines: list[str]) -> str:
    """Nested '- ' bullets (two spaces per level) as nested <ul>."""
    out: list[str] = []
    depth = -1
    for raw in lines:
        stripped = raw.lstrip(" ")
        level = (len(raw) - len(stripped)) // 2
        text = stripped[2:] if stripped.startswith("- ") else stripped
        while depth < level:
            out.append("<ul>")
            depth += 1
        while depth > level:
            out.append("</ul>")
            depth -= 1
        out.append(f"<li>{_md_inline_html(text)}</li>")
    out += ["</ul>"] * (depth + 1)
    return "".join(out)


HTML_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>collateral: rule pack reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 1em 4em;color:#222}
header{position:sticky;top:0;background:#fff;padding:.6em 0;border-bottom:1px solid #ccc;z-index:1}
#q{width:100%;font-size:1.1em;padding:.4em;box-sizing:border-box}
h2{margin-top:2em;border-bottom:2px solid #446}
.item{border-left:3px solid #ccd;padding:.2em .8em;margin:.8em 0}
.item h3{margin:.2em 0;font-size:1.05em}
dl{display:grid;grid-template-columns:12em 1fr;gap:.15em .8em;margin:.3em 0}
dt{color:#555}dd{margin:0}dd ul{margin:0;padding-left:1.2em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:.2em .4em;vertical-align:top}
code{background:#f3f3f6;padding:0 .2em}.hidden{display:none}.meta{color:#555}
</style></head><body>
<header><input id="q" type="search" placeholder="Search rules, codes, statutes, citations..." autofocus>
<div class="meta" id="n"></div></header>
"""

HTML_SCRIPT = """<script>
(function(){
  var q=document.getElementById('q'),n=document.getElementById('n');
  var items=[].slice.call(document.querySelectorAll('.item'));
  var packs=[].slice.call(document.querySelectorAll('section.pack'));
  items.forEach(function(el){el._t=el.textContent.toLowerCase();});
  function run(){
    var words=q.value.toLowerCase().split(/\\s+/).filter(Boolean),shown=0;
    items.forEach(function(el){
      var ok=words.every(function(w){return el._t.indexOf(w)>=0;});
      el.classList.toggle('hidden',!ok);if(ok)shown++;
    });
    packs.forEach(function(s){
      var any=s.querySelector('.item:not(.hidden)')!==null||words.length===0;
      s.classList.toggle('hidden',!any);
    });
    n.textContent=words.length?shown+' of '+items.length+' entries match':items.length+' entries';
    if(history.replaceState)history.replaceState(null,'',words.length?'#q='+encodeURIComponent(q.value):'#');
  }
  q.addEventListener('input',run);
  var m=location.hash.match(/^#q=(.*)$/);if(m){q.value=decodeURIComponent(m[1]);}
  run();
})();
</script>
</body></html>
"""


def pack_html(p: Any, base: Path, exercised: Exercised) -> str:
    m = p.manifest
    out = [f'<section class="pack" id="{_h(_anchor(p.id))}"><h2>{_h(p.id)}: {_h(_one_line(m.title))}</h2>',
           f'<p class="meta">{_h(m.jurisdiction)} · {_h(m.domain)} · version {_h(m.version)} · current through '
           f'{m.current_through.isoformat()} · stability {_h(m.stability)}{" · office overlay" if p.overlay else ""} · '
           f'{_h(_pack_summary(p))}</p>']
    if p.parameters:
        for name, prm in sorted(p.parameters.items()):
            out.append(f'<div class="item"><h3>parameter <code>{_h(name)}</code></h3><p>{_h(_one_line(prm.description))} '
                       f'Unit: {_h(prm.unit)}.</p>{_bullets_html(["- " + v for v in _dated(prm.values)])}</div>')
    for lr in sorted(p.rules, key=lambda lr: lr.rule.id) + sorted(p.retired, key=lambda lr: lr.rule.id):
        out.append(f'<div class="item" id="{_h(_anchor(lr.rule.id))}"><h3>{_h(lr.rule.id)}: {_h(_one_line(lr.rule.title))}</h3><dl>')
        for label, value in _rule_fields(lr, base, exercised):
            if isinstance(value, list):
                lines = [v if v.lstrip().startswith("- ") else f"- {v}" for v in value]
                out.append(f"<dt>{_h(label)}</dt><dd>{_bullets_html(lines)}</dd>")
            else:
                out.append(f"<dt>{_h(label)}</dt><dd>{_md_inline_html(value)}</dd>")
        out.append("</dl></div>")
    if p.catalog:
        out.append("<table><thead><tr>" + "".join(f"<th>{_h(c)}</th>" for c in CATALOG_COLUMNS) + "</tr></thead><tbody>")
        out += ['<tr class="item">' + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in _catalog_rows(p)]
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def reference_files(packs: list[Any], base: Path, exercised: Exercised) -> dict[str, str]:
    """The reference: index.md, one <pack id>.md per pack and index.html (everything, with a search box that
    runs in the browser: no server, no network). Deterministic: the same packs and tests give the same bytes."""
    packs = sorted(packs, key=lambda p: p.id)
    files = {"index.md": index_markdown(packs, base)}
    for p in packs:
        files[f"{p.id}.md"] = pack_markdown(p, base, exercised)
    toc = "<nav><p>" + " · ".join(f'<a href="#{_h(_anchor(p.id))}">{_h(p.id)}</a>' for p in packs) + "</p></nav>"
    files["index.html"] = (HTML_HEAD + "<h1>Rule pack reference</h1>\n<p class=\"meta\">Generated by <code>collateral packs "
                           "docs</code> from the packs; every rule with its condition in words, consequence, citations, "
                           "status, dates and tests, and every catalog statute with its classification.</p>\n" + toc + "\n"
                           + "\n".join(pack_html(p, base, exercised) for p in packs) + "\n" + HTML_SCRIPT)
    return files


def write_reference(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write the reference into folder, removing the .md and .html files of packs that are gone."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.iterdir()):
        if old.is_file() and old.suffix in (".md", ".html") and old.name not in files:
            old.unlink()
    written = []
    for name, text in sorted(files.items()):
        p = folder / name
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
        written.append(p)
    return written


# ---------------------------------------------------------------- canonical layout (`packs fmt`)
CONDITION_ORDER = ("use", "all", "any", "not", "fact", "finding", "count", "eq", "ne", "lt", "le", "gt", "ge", "in",
                   "not_in", "has", "has_any", "has_all", "known", "starts_with", "any_count", "separate")
_COND = "condition"


def _field_models(model: Any) -> dict[str, tuple[str, Any]]:
    """alias -> (shape, child) for the fields of a model whose values are models: shape one | list | map."""
    import typing

    from pydantic import BaseModel

    def find(t: Any) -> Optional[tuple[str, Any]]:
        if isinstance(t, type) and issubclass(t, BaseModel):
            return "one", t
        origin = typing.get_origin(t)
        args = typing.get_args(t)
        if origin is list and args:
            inner = find(args[0])
            return ("list", inner[1]) if inner and inner[0] == "one" else None
        if origin is dict and len(args) == 2:
            inner = find(args[1])
            return ("map", inner[1]) if inner and inner[0] == "one" else None
        for a in args:   # Optional[...], Union[...]
            got = find(a)
            if got:
                return got
        return None

    out: dict[str, tuple[str, Any]] = {}
    for name, f in model.model_fields.items():
        got = find(f.annotation)
        if got:
            out[f.alias or name] = got
    return out


def _special(model: Any) -> dict[str, tuple[str, Any]]:
    from engine.law.packs import Rule, RuleFile, TestCase, TestFile
    from engine.model.casefile import CaseFile
    if model is Rule:
        return {"when": ("one", _COND)}
    if model is RuleFile:
        return {"conditions": ("map", _COND)}
    if model is TestCase:
        return {"case": ("one", CaseFile)}
    if model is TestFile:
        return {"defaults": ("one", "defaults")}
    return {}


def _reorder(node: Any, keys: list[str]) -> None:
    """Move the known keys of a ruamel mapping into the given order (unknown keys after them, as they were);
    comments stay with their keys."""
    present = [k for k in keys if k in node] + [k for k in node if k not in keys]
    if list(node) != present:
        for k in present:
            node.move_to_end(k)


def _canonical(node: Any, spec: Any) -> None:
    from collections.abc import MutableMapping

    if isinstance(node, list):
        for x in node:
            _canonical(x, spec)
        return
    if not isinstance(node, MutableMapping):
        return
    if spec == _COND:
        _reorder(node, list(CONDITION_ORDER))
        for k in ("all", "any"):
            if isinstance(node.get(k), list):
                for x in node[k]:
                    _canonical(x, _COND)
        if "not" in node:
            _canonical(node["not"], _COND)
        return
    if spec == "defaults":
        from engine.model.casefile import CaseFile
        if "case" in node:
            _canonical(node["case"], CaseFile)
        return
    fields = list(spec.model_fields.items())
    _reorder(node, [f.alias or name for name, f in fields])
    children = {**_field_models(spec), **_special(spec)}
    for key, (shape, child) in children.items():
        if key not in node:
            continue
        value = node[key]
        if shape == "map" and isinstance(value, MutableMapping):
            for v in value.values():
                _canonical(v, child)
        else:
            _canonical(value, child)


def _yaml() -> Any:
    from ruamel.yaml import YAML
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.brace_single_entry_mapping_in_flow_sequence = True   # [{cite: X}], never [cite: X]
    y.width = 4096   # never re-wrap: a long line stays as the author wrote it
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def format_text(text: str, kind: str) -> str:
    """A pack file in the canonical layout: keys in the order of the models (docs/rule-authoring.md), conditions
    as `use`/`all`/`any`/`not`/`fact`/`finding`/`count` then the operator, lists indented under their key,
    comments and quoting kept."""
    import io
    y = _yaml()
    data = y.load(text)
    if data is None:
        return text
    model = _models()[kind]
    _canonical(data, model)
    buf = io.StringIO()
    y.dump(data, buf)
    out = buf.getvalue()
    import yaml
    if yaml.safe_load(out) != yaml.safe_load(text):   # the packs are read with PyYAML (YAML 1.1): never change a value
        raise ValueError("the canonical layout would change a value as PyYAML reads it; fix the file by hand (quote it)")
    return out


def format_file(path: Path) -> Optional[str]:
    """The canonical text of a pack file (None: not a file `packs fmt` formats)."""
    kind = kind_of(path)
    if kind is None:
        return None
    return format_text(path.read_text(encoding="utf-8"), kind)
