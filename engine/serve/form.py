"""The intake form, built from the case-file model (engine/model/casefile.py).

Every input is named by the case-file path it fills (`client.immigration.status`,
`options[0].counts[1].sentence.custody_days`), and its widget, choices and bounds are read from the model's
annotation at that path, so the form follows the schema. A form is laid over a draft (the case file as a dict):
an input left empty removes the field, so an unknown fact stays unknown and is never written as "no"; what the
form does not show (a divisible statute's `prongs`, a license's issuer) is kept from the draft.

Booleans are a choice of unknown / yes / no; lists of choices are checkboxes with an explicit "None": nothing
ticked is unknown, "None" is the empty list."""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from engine.model import casefile as cf

NONE = "__none__"   # the "None of these" box of a list of choices: the empty list, not unknown
UNKNOWN_LABEL = "Unknown"

Kind = Literal["select", "tri", "date", "int", "number", "text", "tags", "words", "order"]


@dataclass(frozen=True)
class Widget:
    kind: Kind
    choices: tuple[str, ...] = ()
    optional: bool = True
    required: bool = False
    minimum: Optional[float] = None
    maximum: Optional[float] = None


# ------------------------------------------------------------------------------------------ the model at a path

def _unwrap(ann: Any) -> tuple[Any, bool]:
    """(the annotation without Optional, whether None is allowed)."""
    if get_origin(ann) in (Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        return args[0], len(args) < len(get_args(ann))
    return ann, False


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {f.alias or name: f for name, f in model.model_fields.items()}


def _split(path: str) -> list[tuple[str, Optional[int]]]:
    """"options[0].counts[1].offense.statute" -> [("options", 0), ("counts", 1), ("offense", None), ("statute", None)]"""
    return [(m.group(1), int(m.group(2)) if m.group(2) is not None else None)
            for m in re.finditer(r"([A-Za-z_]+)(?:\[(\d+)\])?", path)]


def model_at(path: str) -> Any:
    """The field of the case-file model at PATH (indexes ignored), or None."""
    model: Any = cf.CaseFile
    found: Any = None
    for name, _ in _split(path):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        found = _fields(model).get(name)
        if found is None:
            return None
        ann, _opt = _unwrap(found.annotation)
        if get_origin(ann) is list:
            ann = get_args(ann)[0]
        model = ann
    return found


def widget_for(path: str) -> Widget:
    """The input for the case-file field at PATH, from its annotation and constraints."""
    f = model_at(path)
    if f is None:
        raise KeyError(path)
    ann, optional = _unwrap(f.annotation)
    lo = hi = None
    for m in f.metadata:
        if isinstance(m, annotated_types.Ge):
            lo = float(m.ge)   # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Le):
            hi = float(m.le)   # type: ignore[arg-type]
    required = f.is_required()
    if get_origin(ann) is Literal:
        return Widget("select", tuple(str(a) for a in get_args(ann)), optional, required)
    if get_origin(ann) is list:
        inner = get_args(ann)[0]
        if get_origin(inner) is Literal:
            if not optional:   # an ordered list with a default (client.priorities)
                return Widget("order", tuple(str(a) for a in get_args(inner)), False, required)
            return Widget("tags", tuple(str(a) for a in get_args(inner)), optional, required)
        return Widget("words", (), optional, required)
    if ann is bool:
        return Widget("tri", (), optional, required)
    if ann is dt.date:
        return Widget("date", (), optional, required)
    if ann is int:
        return Widget("int", (), optional, required, lo, hi)
    if ann is float:
        return Widget("number", (), optional, required, lo, hi)
    return Widget("text", (), optional, required)


# ------------------------------------------------------------------------------------------ labels

LABELS: dict[str, str] = {
    "case_id": "Case number", "jurisdiction": "Jurisdiction", "circuit": "Federal circuit (default: the state's)",
    "as_of": "Date the law is applied (plea or sentencing; default today)",
    "client.name": "Client's name", "client.birth_date": "Date of birth",
    "client.immigration.status": "Immigration status", "client.immigration.admission_date": "Last lawful admission (or adjustment)",
    "client.immigration.lpr_date": "Permanent resident since", "client.immigration.residence_since": "Resides continuously in the U.S. since",
    "client.immigration.lpr_admitted_at_port": "Became a permanent resident by admission at a port",
    "client.immigration.goals": "Immigration goals", "client.immigration.conduct": "Conduct that is a ground without conviction",
    "client.immigration.prior_relief": "Relief received before", "client.immigration.prior_removal": "Removed or deported before",
    "client.employment.occupation": "Occupation", "client.employment.sectors": "Sectors of work (now or planned)",
    "client.licenses.held": "Licenses held", "client.licenses.applying": "Licenses applied for",
    "client.benefits": "Public benefits received", "client.finances.annual_income": "Annual income (dollars)",
    "client.finances.household_size": "People in the household", "client.civic.registered_voter": "Registered to vote",
    "client.civic.owns_firearm": "Owns or possesses a firearm",
    "client.priorities": "Client's priorities, most important first (comma-separated)",
    "id": "Option id (letters, digits, . _ -)", "label": "Description", "consecutive": "Terms on the counts run consecutively",
    "offense.statute": "Statute", "offense.jurisdiction": "Law of (default: the case's jurisdiction)",
    "offense.prong": "Subsection or alternative the record names", "committed_on": "Offense committed on",
    "convicted_on": "Convicted on (an option's default: the law date)", "disposition": "Disposition", "plea": "Plea",
    "offense.title": "Title", "offense.class": "Class", "offense.max_days": "Statutory maximum (days)",
    "offense.min_days": "Mandatory minimum (days)",
    "offense.elements": "Elements (tags, comma-separated)", "offense.mens_rea": "Least culpable mental state",
    "offense.force": "Least force required", "offense.divisible": "Divisible (lists alternative elements)",
    "offense.inchoate": "Inchoate or accessory form", "offense.cimt": "Crime involving moral turpitude",
    "offense.substance_schedule": "State drug schedule compared with the federal", "offense.certainty": "How settled the classification is",
    "record.loss_amount": "Loss to the victims (dollars)", "record.substance": "Controlled substance named (tag)",
    "record.quantity_grams": "Quantity (grams)", "record.personal_use": "Possession for own use",
    "record.remuneration": "Payment or remuneration", "record.recidivism_found": "Prior drug conviction charged and found",
    "record.victim_age": "Victim's age", "record.victim_relationship": "Relationship to the victim",
    "record.firearm": "Record establishes a firearm", "record.commercial_vehicle": "Driving a commercial vehicle",
    "record.bac": "Blood-alcohol concentration", "record.on_public_housing_premises": "On or near public housing premises",
    "record.protection_order_violation_found": "Court found a protection-order violation",
    "record.underlying_max_days": "Maximum of the underlying charge (days)", "record.underlying_felony": "Underlying charge was a felony",
    "record.scheme": "Single scheme label (counts sharing it arose from one scheme)",
    "sentence.custody_days": "Custody (days, including any suspended part)", "sentence.suspended_days": "Suspended (days)",
    "sentence.probation_months": "Probation (months)", "sentence.fine": "Fine (dollars)", "sentence.restitution": "Restitution (dollars)",
    "sentence.registration": "Registration",
}
CHOICE_LABELS: dict[str, str] = {
    "us_citizen": "U.S. citizen", "us_national": "U.S. national", "lpr": "Lawful permanent resident (LPR)",
    "conditional_lpr": "Conditional permanent resident", "nonimmigrant": "Nonimmigrant (visa holder)", "daca": "DACA",
    "tps": "TPS", "u_or_t_visa": "U or T visa", "waiver_212h": "212(h) waiver", "section_212c": "212(c) relief",
    "cancellation_lpr": "LPR cancellation", "cancellation_nonlpr": "Non-LPR cancellation", "snap": "SNAP", "tanf": "TANF",
    "ssi": "SSI", "section_8": "Section 8", "nolo_contendere": "No contest (nolo contendere)", "alford": "Alford plea",
    "federal_match": "Matches the federal schedules", "broader": "Broader than the federal schedules",
    "circuit_split": "Circuit split", "yes": "Yes", "no": "No",
}
COUNT_LISTS = ("options[].counts[]", "history[]", "charges[]")


def generic(path: str) -> str:
    """options[0].counts[1].offense.statute -> options[].counts[].offense.statute"""
    return re.sub(r"\[\d+\]", "[]", path)


def count_field(path: str) -> Optional[str]:
    """The field of a count that PATH names (offense.statute), or None when PATH is not inside a count."""
    g = generic(path)
    for prefix in COUNT_LISTS:
        if g.startswith(prefix + "."):
            return g[len(prefix) + 1:]
    return None


def label_for(path: str) -> str:
    g = generic(path)
    if g in LABELS:
        return LABELS[g]
    if g.startswith("options[]."):
        inner = g[len("options[]."):]
        if inner in LABELS:
            return LABELS[inner]
    c = count_field(path)
    if c is not None and c in LABELS:
        return LABELS[c]
    last = g.rsplit(".", 1)[-1]
    return last.replace("_", " ").capitalize()


NO_HINT = {"count.offense.statute", "count.offense.jurisdiction", "count.sentence.fine", "count.sentence.restitution",
           "count.sentence.probation_months", "count.sentence.suspended_days", "count.committed_on", "count.convicted_on",
           "client.birth_date", "count.record.victim_age", "count.record.quantity_grams", "count.record.bac"}


def hint_for(path: str, questions: dict[str, str]) -> str:
    """The pack's question for the fact (rules/questions.yaml), shown under the input where it says more than
    the label."""
    c = count_field(path)
    key = f"count.{c}" if c is not None else generic(path)
    return "" if key in NO_HINT else questions.get(key, "")


def choice_label(value: str, vocabulary: Optional[dict[str, str]] = None) -> str:
    if vocabulary and value in vocabulary:
        text = re.split(r"\s\(", str(vocabulary[value]))[0].rstrip(".")
        return text or value
    return CHOICE_LABELS.get(value, value.replace("_", " ").capitalize())


# ------------------------------------------------------------------------------------------ the layout

CASE_FIELDS = ["case_id", "jurisdiction", "circuit", "as_of"]
CLIENT_SECTIONS: list[tuple[str, list[str]]] = [
    ("Client", ["client.name", "client.birth_date"]),
    ("Immigration", ["client.immigration.status", "client.immigration.admission_date", "client.immigration.lpr_date",
                     "client.immigration.residence_since", "client.immigration.lpr_admitted_at_port",
                     "client.immigration.prior_removal", "client.immigration.goals", "client.immigration.conduct",
                     "client.immigration.prior_relief"]),
    ("Work, licenses and benefits", ["client.employment.occupation", "client.employment.sectors", "client.licenses.held",
                                     "client.licenses.applying", "client.benefits"]),
    ("Money, civic life and priorities", ["client.finances.annual_income", "client.finances.household_size",
                                          "client.civic.registered_voter", "client.civic.owns_firearm", "client.priorities"]),
]
LICENSE_FIELDS = ("client.licenses.held", "client.licenses.applying")
COUNT_MAIN = ["offense.statute", "offense.jurisdiction", "offense.prong", "committed_on", "convicted_on", "disposition", "plea"]
COUNT_SENTENCE = ["sentence.custody_days", "sentence.suspended_days", "sentence.probation_months", "sentence.fine",
                  "sentence.restitution", "sentence.registration"]
COUNT_RECORD = ["record." + (f.alias or n) for n, f in cf.Record.model_fields.items()]
COUNT_OFFENSE = ["offense.title", "offense.class", "offense.max_days", "offense.elements", "offense.mens_rea", "offense.force",
                 "offense.divisible", "offense.cimt", "offense.inchoate", "offense.substance_schedule", "offense.certainty"]
OPTION_FIELDS = ["id", "label", "consecutive"]
LISTS = {"history": "prior conviction", "charges": "charge", "options": "plea option"}


@dataclass
class Field:
    name: str
    label: str
    widget: Widget
    value: Any = ""                       # str, or a list of str for tags
    hint: str = ""
    error: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    statute: bool = False                 # statute search as the attorney types

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-")


@dataclass
class Group:
    path: str                             # the case-file path of the block ("options[0].counts[1]", "client")
    title: str
    fields: list[Field] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    collapsible: bool = False             # shown as <details>, open when something in it is filled or wrong
    remove: str = ""                      # the action of the block's remove button
    add: str = ""                         # the action of the button that adds a block to a list
    add_label: str = ""
    error: str = ""
    info: Optional[dict[str, Any]] = None   # a count's statute as the catalog reads it

    @property
    def id(self) -> str:
        return "g-" + (re.sub(r"[^A-Za-z0-9]+", "-", self.path).strip("-") or "case")

    def walk(self) -> Iterator[Field]:
        yield from self.fields
        for g in self.groups:
            yield from g.walk()

    @property
    def filled(self) -> bool:
        return any(f.error or (f.value not in ("", [], None)) for f in self.walk()) or bool(self.error) \
            or any(g.filled for g in self.groups)


def get(data: Any, path: str) -> Any:
    """The value at a case-file path in a draft, or None."""
    node = data
    for name, idx in _split(path):
        if not isinstance(node, dict):
            return None
        node = node.get(name)
        if idx is not None:
            if not isinstance(node, list) or idx >= len(node):
                return None
            node = node[idx]
    return node


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set (or, with value None, remove) the value at PATH; missing mappings are made."""
    parts = _split(path)
    node: Any = data
    for i, (name, idx) in enumerate(parts):
        last = i == len(parts) - 1
        if idx is None:
            if last:
                if value is None:
                    node.pop(name, None)
                else:
                    node[name] = value
                return
            nxt = node.get(name)
            if not isinstance(nxt, dict):
                if value is None:
                    return
                nxt = node[name] = {}
            node = nxt
        else:
            seq = node.setdefault(name, [])
            while len(seq) <= idx:
                seq.append({})
            node = seq[idx]


def _shown(value: Any, w: Widget) -> Any:
    """A draft value as the input shows it."""
    if w.kind in ("tags",):
        if value is None:
            return []
        return [str(v) for v in value] if value else [NONE]
    if w.kind in ("words", "order"):
        return ", ".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else str(value))
    if value is None:
        return ""
    if w.kind == "tri":
        return "yes" if value is True else "no" if value is False else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _licenses_shown(draft: dict[str, Any], status: str) -> list[str]:
    lic = get(draft, "client.licenses")
    if not isinstance(lic, list):
        return []
    chosen = [str(x.get("type")) for x in lic if isinstance(x, dict) and x.get("status", "held") == status]
    return chosen or [NONE]


def _n(draft: dict[str, Any], path: str) -> int:
    seq = get(draft, path)
    return len(seq) if isinstance(seq, list) else 0


def build(draft: dict[str, Any], questions: dict[str, str], licenses: dict[str, str], jurisdictions: list[str]) -> Group:
    """The whole intake form for DRAFT: the case, the client, prior convictions, charges and the plea options."""
    def mk(path: str) -> Field:
        if path in LICENSE_FIELDS:
            w = Widget("tags", tuple(sorted(licenses, key=lambda c: choice_label(c, licenses).lower())))
            f = Field(path, label_for(path), w, _licenses_shown(draft, path.rsplit(".", 1)[1]), questions.get(path, ""))
            f.choices = [(c, choice_label(c, licenses)) for c in w.choices]
            return f
        w = widget_for(path)
        f = Field(path, label_for(path), w, _shown(get(draft, path), w), hint_for(path, questions))
        f.choices = [(c, choice_label(c)) for c in w.choices]
        if path == "jurisdiction" or path.endswith("offense.jurisdiction"):
            f.choices = [(j, j) for j in jurisdictions]   # a datalist: any US-XX is accepted
        f.statute = path.endswith("offense.statute")
        return f

    def count_block(prefix: str, title: str, remove: str) -> Group:
        main = COUNT_MAIN if not prefix.startswith("charges") else [p for p in COUNT_MAIN if p not in ("disposition", "plea")]
        g = Group(prefix, title, [mk(f"{prefix}.{p}") for p in main], remove=remove)
        if not prefix.startswith("charges"):   # the trial baseline leaves the sentence open up to the maximum
            g.groups.append(Group(f"{prefix}.sentence", "Sentence", [mk(f"{prefix}.{p}") for p in COUNT_SENTENCE]))
        g.groups += [Group(f"{prefix}.record", "Record of conviction", [mk(f"{prefix}.{p}") for p in COUNT_RECORD], collapsible=True),
                     Group(f"{prefix}.offense", "Statute outside the catalog, or overriding it",
                           [mk(f"{prefix}.{p}") for p in COUNT_OFFENSE], collapsible=True)]
        return g

    root = Group("", "Case", [mk(p) for p in CASE_FIELDS])
    client = Group("client", "Client", [mk(p) for p in CLIENT_SECTIONS[0][1]])
    for title, paths in CLIENT_SECTIONS[1:]:
        client.groups.append(Group(f"client:{title}", title, [mk(p) for p in paths]))
    root.groups.append(client)
    for key in ("history", "charges"):
        block = Group(key, "Prior convictions" if key == "history" else "Charges (as charged: adds a trial baseline)",
                      add=f"add:{key}", add_label=f"Add a {LISTS[key]}")
        for i in range(_n(draft, key)):
            block.groups.append(count_block(f"{key}[{i}]", f"{LISTS[key].capitalize()} {i + 1}", f"remove:{key}[{i}]"))
        root.groups.append(block)
    options = Group("options", "Plea options", add="add:options", add_label="Add a plea option")
    for i in range(_n(draft, "options")):
        o = Group(f"options[{i}]", f"Option {i + 1}", [mk(f"options[{i}].{p}") for p in OPTION_FIELDS],
                  remove=f"remove:options[{i}]" if _n(draft, "options") > 1 else "",
                  add=f"add:options[{i}].counts", add_label="Add a count to this option")
        n = _n(draft, f"options[{i}].counts")
        for j in range(n):
            o.groups.append(count_block(f"options[{i}].counts[{j}]", f"Count {j + 1}",
                                        f"remove:options[{i}].counts[{j}]" if n > 1 else ""))
        options.groups.append(o)
    root.groups.append(options)
    return root


def blank() -> dict[str, Any]:
    """A new case: one plea option with one count."""
    return {"format": 1, "options": [{"id": "offer", "counts": [{}]}]}


# ------------------------------------------------------------------------------------------ reading the form

def _number(text: str, whole: bool) -> Any:
    t = text.strip().replace(",", "").lstrip("$").strip()
    try:
        v = float(t)
    except ValueError:
        return text.strip()   # the schema reports it, next to the field
    if v != v or v in (float("inf"), float("-inf")):
        return text.strip()
    if v.is_integer():
        return int(v)
    return text.strip() if whole else v


def convert(f: Field, raw: list[str]) -> tuple[Any, str]:
    """(the value an input gives, or None for unknown; an error about the input itself)."""
    w = f.widget
    if w.kind == "tags":
        chosen = [x for x in raw if x]
        if NONE in chosen:
            if len(chosen) > 1:
                return None, "choose “None” or some of the others, not both"
            return [], ""
        return (chosen or None), ""
    text = raw[0].strip() if raw else ""
    if w.kind == "words":
        if not text:
            return None, ""
        if text.lower() == "none":
            return [], ""
        return [x.strip() for x in re.split(r"[,;]", text) if x.strip()], ""
    if w.kind == "order":
        return ([x.strip() for x in re.split(r"[,;]", text) if x.strip()] or None), ""
    if not text or text.lower() == "unknown":
        return None, ""
    if w.kind == "tri":
        return {"yes": True, "no": False}.get(text.lower(), text), ""
    if w.kind == "date":
        try:
            return dt.date.fromisoformat(text), ""
        except ValueError:
            return None, f"'{text}' is not a date (YYYY-MM-DD)"
    if w.kind in ("int", "number"):
        return _number(text, w.kind == "int"), ""
    return text, ""


def overlay(draft: dict[str, Any], form: Any, fields: list[Field]) -> tuple[dict[str, str], dict[str, Any]]:
    """Write the submitted values of FIELDS over DRAFT (in place). Returns the errors about inputs themselves, and
    what was typed in those inputs (shown again as typed; the draft keeps its earlier value)."""
    errors: dict[str, str] = {}
    sticky: dict[str, Any] = {}
    licenses: dict[str, Optional[list[str]]] = {}
    for f in fields:
        raw = [str(x) for x in form.getlist(f.name)]
        value, err = convert(f, raw)
        if err:
            errors[f.name] = err
            sticky[f.name] = raw if f.widget.kind == "tags" else (raw[0] if raw else "")
            continue
        if f.name in LICENSE_FIELDS:
            licenses[f.name.rsplit(".", 1)[1]] = value
            sticky[f.name] = raw
            continue
        _set(draft, f.name, value)
    if licenses:
        held, applying = licenses.get("held"), licenses.get("applying")
        if (held is None) != (applying is None):
            missing = "client.licenses.applying" if applying is None else "client.licenses.held"
            errors[missing] = ("held and applied-for licenses are recorded together: tick the licenses (or “None”) "
                               "here too, or leave both unknown")
        elif held is None:
            _set(draft, "client.licenses", None)
        else:
            old = get(draft, "client.licenses") or []
            issuer = {(x.get("type"), x.get("status", "held")): x.get("issuer") for x in old if isinstance(x, dict)}
            out = []
            for status, types_ in (("held", held), ("applying", applying or [])):
                for t in types_:
                    item: dict[str, Any] = {"type": t, "status": status}
                    if issuer.get((t, status)):
                        item["issuer"] = issuer[(t, status)]
                    out.append(item)
            _set(draft, "client.licenses", out)
    for name in LICENSE_FIELDS:
        if name not in errors and not any(k in errors for k in LICENSE_FIELDS):
            sticky.pop(name, None)
    return errors, sticky


def act(draft: dict[str, Any], action: str) -> None:
    """add:<list> appends an empty block; remove:<path> removes one."""
    verb, _, path = action.partition(":")
    if verb == "add" and path:
        seq = get(draft, path)
        if not isinstance(seq, list):
            _set(draft, path, [])
            seq = get(draft, path)
        assert isinstance(seq, list)
        if path == "options":
            ids = {str(o.get("id")) for o in seq if isinstance(o, dict)}
            n = len(seq) + 1
            while f"option{n}" in ids:
                n += 1
            seq.append({"id": f"option{n}", "counts": [{}]})
        else:
            seq.append({})
    elif verb == "remove" and path:
        m = re.fullmatch(r"(.+)\[(\d+)\]", path)
        if m:
            seq = get(draft, m.group(1))
            idx = int(m.group(2))
            if isinstance(seq, list) and idx < len(seq):
                del seq[idx]


def prune(data: Any) -> Any:
    """The draft as a case file: empty mappings left by cleared inputs are dropped (empty lists are kept: they say
    "none"); keys in the model's order."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            v = prune(v)
            if isinstance(v, dict) and not v and k not in ("offense",):
                continue
            out[k] = v
        return out
    if isinstance(data, list):
        return [prune(v) for v in data]
    return data


ORDER = ["format", "case_id", "jurisdiction", "circuit", "as_of", "client", "history", "charges", "options"]


def ordered(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: data[k] for k in ORDER if k in data}
    out.update({k: v for k, v in data.items() if k not in out})
    for key in ("history", "charges"):
        if key in out and out[key] == []:
            del out[key]
    return out


# ------------------------------------------------------------------------------------------ errors by field

def _prefixes(path: str) -> list[str]:
    """options[0].counts[1].sentence -> itself, options[0].counts[1], options[0].counts, options[0], options, ""."""
    out = [path]
    while path:
        path = re.sub(r"(\.?[A-Za-z_]+|\[\d+\])$", "", path)
        out.append(path)
    return out


def place_errors(root: Group, problems: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Put each (case-file path, message) next to its input, or on the block it concerns. Returns every problem as
    (path, message, the id of the element it was placed on) for the summary at the top of the form."""
    by_name = {f.name: f for f in root.walk()}
    groups: dict[str, Group] = {}

    def index(g: Group) -> None:
        groups.setdefault(g.path, g)
        for sub in g.groups:
            index(sub)

    index(root)
    out = []
    for path, message in problems:
        target: Field | Group = root
        wanted = "client.licenses.held" if path.startswith("client.licenses") and path not in by_name else path
        for p in _prefixes(wanted):
            if p in by_name:
                target = by_name[p]
                break
            if "required" in message:   # a required field missing in a block: on its first required input
                req = next((f for n, f in by_name.items() if n.startswith(p + ".") and f.widget.required and not f.value), None)
                if req is not None:
                    target = req
                    break
            if p in groups:
                target = groups[p]
                break
        target.error = (target.error + " " if target.error else "") + message
        out.append((path, message, target.id))
    return out
