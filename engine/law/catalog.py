"""Offense catalogs: statute -> the attributes the rules read, under the categorical approach."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.model import casefile as cf

MENS_REA_ORDER = ("strict", "negligent", "reckless", "knowing", "intent")
FORCE_ORDER = ("none", "offensive_touching", "violent")
CERTAINTY_ORDER = ("clear", "likely", "unsettled", "circuit_split")


class DatedInt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model_config["populate_by_name"] = True
    from_: dt.date = Field(default=dt.date.min, alias="from")   # omitted: in force from the start
    to: Optional[dt.date] = None
    value: int = Field(ge=0)
    cite: Optional[str] = None
    # which date selects this value: the offense date for a penalty increase (the Ex Post Facto Clause, U.S.
    # Const. art. I, § 10, cl. 1), the conviction date where the law says so (e.g. Cal. Penal Code § 18.5 as
    # applied in Matter of Velasquez-Rios, 27 I&N Dec. 470 (BIA 2018)); unset: the conviction date
    applies_by: Optional[Literal["offense", "conviction"]] = None
    floor: bool = False   # `from` is where the encoding starts, not the law's effective date


class Authority(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    cite: str = Field(min_length=3)
    holding: Optional[str] = None
    url: Optional[str] = None


class OffenseAttrs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    title: Optional[str] = None
    class_: Optional[cf.OffenseClass] = Field(default=None, alias="class")
    max_days: Union[int, list[DatedInt], None] = None
    # a mandatory minimum term the court cannot go below (dated like max_days), and whether the law makes it run
    # consecutively to any other term (e.g. 18 U.S.C. 924(c)(1)(D)(ii), 1028A(b)(2))
    min_days: Union[int, list[DatedInt], None] = None
    min_consecutive: Optional[bool] = None
    elements: Optional[list[str]] = None
    mens_rea: Optional[cf.MensRea] = None
    force: Optional[cf.Force] = None
    cimt: Optional[bool] = None
    substance_schedule: Optional[cf.Schedule] = None
    inchoate: Optional[cf.Inchoate] = None
    certainty: Optional[cf.Certainty] = None
    notes: Optional[str] = None
    authorities: list[Authority] = []


class Prong(OffenseAttrs):
    id: str = Field(min_length=1)
    aliases: list[str] = []   # the subsections that name this alternative in a citation, e.g. "460(b)"
    # the record substances (normalized names, rules/us/offenses/schedules.yaml) that identify this alternative of
    # a statute divisible by substance: a record naming one names the prong (the modified categorical approach)
    substances: list[str] = []

    @field_validator("id", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v


class Verified(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(min_length=3)   # where the statute's text was read (official code site, annotated code)
    on: dt.date                         # when


class CatalogEntry(OffenseAttrs):
    statute: str = Field(min_length=1)
    # reviewed: names reviewed_by and reviewed_on (`packs check`); no `retired`: a repealed statute still
    # classifies the convictions entered under it
    status: Literal["draft", "reviewed"] = "draft"
    reviewed_by: Optional[str] = None
    reviewed_on: Optional[dt.date] = None
    verified: Optional[Verified] = None   # the entry was checked against the statute's text
    aliases: list[str] = []
    citation: str = Field(min_length=3)
    divisible: bool = False
    prongs: list[Prong] = []


def normalize_statute(text: str) -> str:
    t = text.lower().replace("§", " ").replace("section", " ").replace("sec.", " ")
    t = re.sub(r"[^a-z0-9()]+", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    return t.replace(" (", "(")


def _prong_hint(entry: CatalogEntry, hints: list[str]) -> Optional[str]:
    """The prong of a divisible entry that the rest of a citation names (`(2)`, `460(b)`, `a2`), if any."""
    if not entry.divisible or not hints:
        return None
    ids = {re.sub(r"[^a-z0-9]", "", name.lower()): p.id for p in entry.prongs for name in [p.id, *p.aliases]}
    joined = re.sub(r"[^a-z0-9]", "", "".join(hints).lower())
    for h in [joined] + [re.sub(r"[^a-z0-9]", "", x.lower()) for x in hints]:
        if h in ids:
            return ids[h]
        tail = re.sub(r"^\d+", "", h)   # 460(b) -> b
        if tail and tail in ids:
            return ids[tail]
    return None


def max_days_on(value: Union[int, list[DatedInt], None], on: dt.date, committed: Optional[dt.date] = None) -> Optional[int]:
    """The maximum in force: each dated value is selected by the conviction date `on`, or by the offense date
    `committed` where it `applies_by: offense` (when the offense date is unknown, the conviction date)."""
    if value is None or isinstance(value, int):
        return value
    for d in sorted(value, key=lambda x: x.from_, reverse=True):
        when = committed if d.applies_by == "offense" and committed is not None else on
        if d.from_ <= when and (d.to is None or when < d.to):
            return d.value
    return None


@dataclass
class ResolvedOffense:
    statute: str
    jurisdiction: str
    title: str
    citation: str
    entry: Optional[CatalogEntry]
    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _least(values: list[Optional[str]], order: tuple[str, ...]) -> Optional[str]:
    if any(v is None for v in values):
        return None
    return min((v for v in values if v is not None), key=order.index)


class Catalogs:
    """All offense catalogs of the loaded packs, by jurisdiction."""

    def __init__(self) -> None:
        self.by_jurisdiction: dict[str, dict[str, CatalogEntry]] = {}
        self.packs: dict[str, str] = {}   # jurisdiction -> pack id
        # element tags that can carry force against a person (rules/vocabulary.yaml `force_elements`): a statute
        # outside the catalog whose given elements have none of them has force `none`
        self.force_elements: frozenset[str] = frozenset()
        self.codes: dict[str, list[tuple[str, str]]] = {}   # jurisdiction -> (other name, catalog name), normalized

    def add(self, jurisdiction: str, pack_id: str, entries: list[CatalogEntry],
            codes: Optional[dict[str, list[str]]] = None) -> None:
        table = self.by_jurisdiction.setdefault(jurisdiction, {})
        self.packs[jurisdiction] = pack_id
        synonyms = self.codes.setdefault(jurisdiction, [])
        for canonical, names in (codes or {}).items():
            target = normalize_statute(canonical)
            synonyms.extend((normalize_statute(n), target) for n in names)
        synonyms.sort(key=lambda x: -len(x[0]))
        for e in entries:
            for key in [e.statute, *e.aliases]:
                table.setdefault(normalize_statute(key), e)

    def _canonical(self, jurisdiction: str, text: str) -> str:
        """The normalized key of a citation, its code name written as the catalog writes it."""
        t = normalize_statute(text)
        codes = self.codes.get(jurisdiction, [])
        for name, target in codes:   # Florida's own form: "s. 784.03, F.S."
            for written in (target, name):
                if t.endswith(" " + written) and len(t) > len(written) + 1:
                    t = t[: -len(written) - 1]
                    if not any(re.match(r"(^|\d+ )" + re.escape(n) + r"(?= |\(|$)", t) for n, _ in codes):
                        t = target + " " + t
                    break
        for name, target in codes:
            m = re.match(r"(^|\d+ )" + re.escape(name) + r"(?= |\(|$)", t)
            if m:
                return t[: m.start()] + m.group(1) + target + t[m.end():]
        return t

    def lookup(self, jurisdiction: str, statute: str) -> Optional[CatalogEntry]:
        found = self.find(jurisdiction, statute)
        return found[0] if found else None

    def find(self, jurisdiction: str, statute: str) -> Optional[tuple[CatalogEntry, Optional[str]]]:
        """The catalog entry a citation names, however it is written, and the prong it points to (or None).

        Accepts the code's other names (catalog `codes`), combined sections (`PC 459/460(b)`: each part is
        tried, the others pointing to the prong), and subsections and paragraphs below the catalog's key
        (`PL 120.00(2)` falls back to `PL 120.00`, pointing to prong `2`)."""
        table = self.by_jurisdiction.get(jurisdiction, {})
        key = self._canonical(jurisdiction, statute)
        if key in table:
            return table[key], None
        parts = [p.strip() for p in statute.split("/") if p.strip()]
        candidates: list[tuple[str, list[str]]] = []
        if len(parts) > 1:
            prefix = re.match(r"^\D*", parts[0]).group(0)   # type: ignore[union-attr]
            full = [parts[0]] + [p if re.match(r"^\D", p) else prefix + p for p in parts[1:]]
            for i, p in enumerate(full):
                candidates.append((p, [q for j, q in enumerate(parts) if j != i]))
        else:
            candidates.append((statute, []))
        for text, others in candidates:
            k = self._canonical(jurisdiction, text)
            hints = list(others)
            while True:
                if k in table:
                    entry = table[k]
                    # below the key, only the section's own entry (its prongs) answers: an alias that names
                    # one grade of the section must not answer for another grade
                    if not hints or entry.divisible or self._canonical(jurisdiction, entry.statute) == k:
                        own = re.findall(r"\(([^()]*)\)", k)   # the key's own subsections lead the prong's id
                        return entry, _prong_hint(entry, hints) or _prong_hint(entry, own + hints)
                    break
                m = re.match(r"^(.*?)(\([^()]*\)|(?<=\))\d+)$", k)
                if not m or not m.group(1).strip():
                    break
                k, tail = m.group(1).rstrip(), m.group(2)
                hints.insert(0, tail)
        return None

    def search(self, jurisdiction: str, text: str) -> list[CatalogEntry]:
        """Entries a citation resolves to, else those whose key, aliases or title contain the words of `text`:
        first those whose title starts with the words as typed, then whose title or an alias contains them as a
        phrase, then the rest, each group in key order ("grand theft" lists the grand thefts before an access-
        card fraud that mentions grand theft in its title)."""
        found = self.find(jurisdiction, text) if text else None
        if found:
            return [found[0]]
        phrase = normalize_statute(text)
        words = phrase.split()
        ranked: list[tuple[int, int, CatalogEntry]] = []
        for i, e in enumerate(self.entries(jurisdiction)):
            title = normalize_statute(e.title or "")
            names = [normalize_statute(x) for x in [e.statute, *e.aliases]]
            if not all(w in " ".join([*names, title]) for w in words):
                continue
            rank = 0 if title.startswith(phrase) else 1 if phrase in title or any(phrase in n for n in names) else 2
            ranked.append((rank, i, e))
        return [e for _r, _i, e in sorted(ranked, key=lambda x: (x[0], x[1]))]

    def entries(self, jurisdiction: str) -> list[CatalogEntry]:
        seen: dict[str, CatalogEntry] = {}
        for e in self.by_jurisdiction.get(jurisdiction, {}).values():
            seen.setdefault(e.statute, e)
        return [seen[k] for k in sorted(seen)]

    def suggest(self, jurisdiction: str, statute: str, n: int = 3) -> list[str]:
        """The catalog keys nearest to a citation that does not resolve."""
        import difflib
        table = self.by_jurisdiction.get(jurisdiction, {})
        key = self._canonical(jurisdiction, statute)
        section = re.sub(r"\(.*$", "", key)
        close = sorted(k for k in table if k.startswith(section) and k != section)   # the section's own entries first
        close += difflib.get_close_matches(key, list(table), n=n * 3, cutoff=0.6)
        out: list[str] = []
        for k in close:
            if table[k].statute not in out:
                out.append(table[k].statute)
        return out[:n]

    def named_prong(self, offense: cf.Offense, case_jurisdiction: str, record_substance: Optional[str] = None) -> Optional[str]:
        """The prong the plea names: given in the case file, pointed to by the citation (`PL 120.00(2)`), or
        identified by the substance the record names (a prong's `substances`, one prong only)."""
        if offense.prong is not None:
            return offense.prong
        found = self.find(offense.jurisdiction or case_jurisdiction, offense.statute)
        return _named_prong(found[0], found[1], record_substance) if found else None

    def resolve(self, offense: cf.Offense, case_jurisdiction: str, on: dt.date,
                committed: Optional[dt.date] = None, record_substance: Optional[str] = None) -> ResolvedOffense:
        juris = offense.jurisdiction or case_jurisdiction
        found = self.find(juris, offense.statute)
        entry, hint = found if found else (None, None)
        if entry is not None and offense.prong is None:
            named = _named_prong(entry, hint, record_substance)
            if named is not None:
                offense = offense.model_copy(update={"prong": named})
        warnings: list[str] = []
        base: dict[str, Any] = {}
        unresolved_elements: list[str] = []
        cimt_unresolved = False
        prong_broader = False
        described = described_entry(offense) if entry is None else None
        if entry is None:
            if juris in self.by_jurisdiction:
                warnings.append(f"{offense.statute} is not in the {juris} offense catalog; only the attributes given in the case file were used.")
            else:
                warnings.append(f"No offense catalog for {juris}; {offense.statute} was analysed only from the attributes given in the case file.")
        source = entry or described
        if source is not None:
            base = _attrs(source, on, committed)
            base["divisible"] = source.divisible
            prong_id = offense.prong
            if source.divisible and source.prongs:
                prongs = {p.id: p for p in source.prongs}
                if prong_id is not None and prong_id in prongs:
                    base.update({k: v for k, v in _attrs(prongs[prong_id], on, committed).items() if v is not None})
                    prong_broader = prongs[prong_id].substance_schedule == "broader"
                elif prong_id is not None:
                    warnings.append(f"{offense.statute}: prong '{prong_id}' is not in the catalog (prongs: {', '.join(prongs)}); the least culpable prong was used.")
                    prong_id = None
                if prong_id is None:
                    merged = [{**base, **{k: v for k, v in _attrs(p, on, committed).items() if v is not None}} for p in source.prongs]
                    element_sets = [set(m.get("elements") or []) for m in merged]
                    common = set.intersection(*element_sets)
                    union = set.union(*element_sets)
                    base["elements"] = sorted(common)
                    unresolved_elements = sorted(union - common)
                    cimts = [m.get("cimt") for m in merged]
                    base["cimt"] = all(c is True for c in cimts) if all(c is not None for c in cimts) else (False if any(c is False for c in cimts) else None)
                    cimt_unresolved = any(c is True for c in cimts) and not all(c is True for c in cimts)
                    base["mens_rea"] = _least([m.get("mens_rea") for m in merged], MENS_REA_ORDER)
                    base["force"] = _least([m.get("force") for m in merged], FORCE_ORDER)
                    maxes = [m.get("max_days") for m in merged]
                    base["max_days"] = min(int(x) for x in maxes if x is not None) if all(x is not None for x in maxes) else None
                    # the least culpable prong's minimum: a prong without one means no minimum is certain
                    base["min_days"] = min(int(m.get("min_days") or 0) for m in merged) or None
                    base["min_consecutive"] = all(m.get("min_consecutive") for m in merged) or None
                    certs = [m.get("certainty") or "clear" for m in merged]
                    base["certainty"] = max(certs, key=CERTAINTY_ORDER.index)
        given = offense.model_dump(by_alias=True, exclude_none=True)
        given.pop("statute", None)
        given.pop("jurisdiction", None)
        given.pop("prongs", None)
        if described is not None:   # the case file's own description was weighed prong by prong above
            for k in ("elements", "mens_rea", "force", "cimt", "max_days", "min_days", "divisible", "substance_schedule"):
                given.pop(k, None)
        if "class" in given:
            given["class"] = given.pop("class")
        base.update({k: v for k, v in given.items() if k != "title"})
        if offense.prong is not None:
            base["prong"] = offense.prong
            unresolved_elements = [] if source is None or not source.divisible else unresolved_elements
        # the catalog's key, whatever alias the case file used, so rules can name a statute reliably
        values: dict[str, Any] = {"count.offense.statute": entry.statute if entry else offense.statute,
                                  "count.offense.jurisdiction": juris,
                                  "count.offense.in_catalog": entry is not None}
        for k in ("class", "max_days", "min_days", "min_consecutive", "elements", "mens_rea", "force", "divisible", "prong",
                  "inchoate", "cimt", "substance_schedule", "certainty"):
            if base.get(k) is not None:
                values[f"count.offense.{k}"] = base[k]
        if (entry is None and "count.offense.force" not in values and "count.offense.elements" in values
                and not set(values["count.offense.elements"]) & self.force_elements):
            # the elements given are what every conviction has; with none that involves a person, a threat or
            # harm, force is not an element (Leocal v. Ashcroft, 543 U.S. 1, 9 (2004))
            values["count.offense.force"] = "none"
        if "count.offense.inchoate" not in values and (entry is not None or offense.inchoate is None):
            values["count.offense.inchoate"] = "none"
        if "count.offense.elements" in values:
            values["count.offense.elements_unresolved"] = unresolved_elements
        if "count.offense.substance_schedule" in values:
            values["count.offense.prong_substance_broader"] = prong_broader
        if source is not None or "count.offense.cimt" in values:
            # true only when some prong of a divisible statute is a CIMT and the record names none
            values["count.offense.cimt_unresolved"] = cimt_unresolved
        title = offense.title or (entry.title if entry and entry.title else offense.statute)
        citation = entry.citation if entry else offense.statute
        return ResolvedOffense(offense.statute, juris, title, citation, entry, values, warnings)


def _named_prong(entry: CatalogEntry, hint: Optional[str], record_substance: Optional[str]) -> Optional[str]:
    """The prong a citation's subsection points to, else the one prong that lists the record's substance."""
    if hint is not None:
        return hint
    if record_substance and entry.divisible:
        named = [p.id for p in entry.prongs if record_substance in p.substances]
        if len(named) == 1:
            return named[0]
    return None


def described_entry(offense: cf.Offense) -> Optional[CatalogEntry]:
    """A divisible statute outside the catalog that the case file describes with its alternatives, in the
    catalog's shape, so that it is weighed exactly as a catalog statute is (it stays `in_catalog: false`)."""
    if not offense.prongs:
        return None
    return CatalogEntry.model_validate({
        "statute": offense.statute, "citation": offense.statute, "divisible": True,
        **({"class": offense.class_} if offense.class_ else {}),
        **{k: v for k, v in {"max_days": offense.max_days, "min_days": offense.min_days, "elements": offense.elements, "mens_rea": offense.mens_rea,
                             "force": offense.force, "cimt": offense.cimt,
                             "substance_schedule": offense.substance_schedule}.items() if v is not None},
        "prongs": [p.model_dump(exclude_none=True) for p in offense.prongs]})


def _attrs(a: OffenseAttrs, on: dt.date, committed: Optional[dt.date] = None) -> dict[str, Any]:
    return {
        "class": a.class_, "max_days": max_days_on(a.max_days, on, committed),
        "min_days": max_days_on(a.min_days, on, committed), "min_consecutive": a.min_consecutive, "elements": list(a.elements) if a.elements is not None else None,
        "mens_rea": a.mens_rea, "force": a.force, "cimt": a.cimt, "substance_schedule": a.substance_schedule,
        "inchoate": a.inchoate, "certainty": a.certainty,
    }


def describe_entry(e: CatalogEntry, on: dt.date, prong: Optional[str] = None) -> str:
    """What the tool assumes about a statute, as an attorney checks it (`collateral statutes`)."""
    lines = [f"{e.statute} — {e.title or ''}", f"  citation: {e.citation}"]
    if e.aliases:
        lines.append(f"  also written: {', '.join(e.aliases)}")
    lines.append(f"  class: {e.class_ or 'not given'}")
    if isinstance(e.max_days, list):
        for d in sorted(e.max_days, key=lambda x: x.from_):
            since = "" if d.from_ == dt.date.min else f"from {d.from_.isoformat()}" + (" (encoding starts here)" if d.floor else "")
            until = f" to {d.to.isoformat()}" if d.to else ""
            by = f", by {d.applies_by} date" if d.applies_by else ""
            lines.append(f"  maximum: {d.value} days {since}{until}{by}" + (f" — {d.cite}" if d.cite else ""))
    else:
        lines.append(f"  maximum: {e.max_days if e.max_days is not None else 'not given'} days")
    lines.append(f"  maximum in force on {on.isoformat()}: {max_days_on(e.max_days, on)} days")
    lines.append(f"  elements (least culpable conduct): {', '.join(e.elements or []) or 'none listed'}")
    lines.append(f"  mental state: {e.mens_rea or 'not given'}; force: {e.force or 'not given'}")
    lines.append(f"  CIMT: {'yes' if e.cimt else 'no' if e.cimt is False else 'not classified'}"
                 + (f"; drug schedule: {e.substance_schedule}" if e.substance_schedule else ""))
    lines.append(f"  certainty: {e.certainty or 'clear'}; divisible: {'yes' if e.divisible else 'no'}")
    for p in e.prongs:
        mark = "  <- named by the citation" if p.id == prong else ""
        attrs = [f"elements {', '.join(p.elements) or 'none'}" if p.elements is not None else "",
                 f"force {p.force}" if p.force else "", f"mental state {p.mens_rea}" if p.mens_rea else "",
                 f"CIMT {'yes' if p.cimt else 'no'}" if p.cimt is not None else "",
                 f"certainty {p.certainty}" if p.certainty else ""]
        lines.append(f"  prong {p.id}: {p.title or ''} ({'; '.join(a for a in attrs if a)}){mark}")
    for a in e.authorities:
        lines.append(f"  authority: {a.cite}" + (f" — {a.holding}" if a.holding else ""))
    if e.notes:
        lines.append(f"  notes: {' '.join(e.notes.split())}")
    lines.append(f"  verified against the statute's text: {e.verified.source + ' (' + e.verified.on.isoformat() + ')' if e.verified else 'no'}")
    return "\n".join(lines) + "\n"
