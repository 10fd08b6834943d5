"""Offense catalogs: statute -> the attributes the rules read, under the categorical approach."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import casefile as cf

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

    @field_validator("id", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v


class CatalogEntry(OffenseAttrs):
    statute: str = Field(min_length=1)
    aliases: list[str] = []
    citation: str = Field(min_length=3)
    divisible: bool = False
    prongs: list[Prong] = []


def normalize_statute(text: str) -> str:
    t = text.lower().replace("§", " ").replace("section", " ").replace("sec.", " ")
    t = re.sub(r"[^a-z0-9()]+", " ", t)
    t = re.sub(r"\s+", " ", t).strip()
    return t.replace(" (", "(")


def max_days_on(value: Union[int, list[DatedInt], None], on: dt.date) -> Optional[int]:
    if value is None or isinstance(value, int):
        return value
    for d in sorted(value, key=lambda x: x.from_, reverse=True):
        if d.from_ <= on and (d.to is None or on < d.to):
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

    def add(self, jurisdiction: str, pack_id: str, entries: list[CatalogEntry]) -> None:
        table = self.by_jurisdiction.setdefault(jurisdiction, {})
        self.packs[jurisdiction] = pack_id
        for e in entries:
            for key in [e.statute, *e.aliases]:
                table.setdefault(normalize_statute(key), e)

    def lookup(self, jurisdiction: str, statute: str) -> Optional[CatalogEntry]:
        return self.by_jurisdiction.get(jurisdiction, {}).get(normalize_statute(statute))

    def resolve(self, offense: cf.Offense, case_jurisdiction: str, on: dt.date) -> ResolvedOffense:
        juris = offense.jurisdiction or case_jurisdiction
        entry = self.lookup(juris, offense.statute)
        warnings: list[str] = []
        base: dict[str, Any] = {}
        unresolved_elements: list[str] = []
        cimt_unresolved = False
        if entry is None:
            if juris in self.by_jurisdiction:
                warnings.append(f"{offense.statute} is not in the {juris} offense catalog; only the attributes given in the case file were used.")
            else:
                warnings.append(f"No offense catalog for {juris}; {offense.statute} was analysed only from the attributes given in the case file.")
        else:
            base = _attrs(entry, on)
            base["divisible"] = entry.divisible
            prong_id = offense.prong
            if entry.divisible and entry.prongs:
                prongs = {p.id: p for p in entry.prongs}
                if prong_id is not None and prong_id in prongs:
                    base.update({k: v for k, v in _attrs(prongs[prong_id], on).items() if v is not None})
                elif prong_id is not None:
                    warnings.append(f"{offense.statute}: prong '{prong_id}' is not in the catalog (prongs: {', '.join(prongs)}); the least culpable prong was used.")
                    prong_id = None
                if prong_id is None:
                    merged = [{**base, **{k: v for k, v in _attrs(p, on).items() if v is not None}} for p in entry.prongs]
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
                    certs = [m.get("certainty") or "clear" for m in merged]
                    base["certainty"] = max(certs, key=CERTAINTY_ORDER.index)
        given = offense.model_dump(by_alias=True, exclude_none=True)
        given.pop("statute", None)
        given.pop("jurisdiction", None)
        if "class" in given:
            given["class"] = given.pop("class")
        base.update({k: v for k, v in given.items() if k != "title"})
        if offense.prong is not None:
            base["prong"] = offense.prong
            unresolved_elements = [] if entry is None or not entry.divisible else unresolved_elements
        # the catalog's key, whatever alias the case file used, so rules can name a statute reliably
        values: dict[str, Any] = {"count.offense.statute": entry.statute if entry else offense.statute,
                                  "count.offense.jurisdiction": juris,
                                  "count.offense.in_catalog": entry is not None}
        for k in ("class", "max_days", "elements", "mens_rea", "force", "divisible", "prong", "inchoate", "cimt",
                  "substance_schedule", "certainty"):
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
        if entry is not None or "count.offense.cimt" in values:
            # true only when some prong of a divisible statute is a CIMT and the record names none
            values["count.offense.cimt_unresolved"] = cimt_unresolved
        title = offense.title or (entry.title if entry and entry.title else offense.statute)
        citation = entry.citation if entry else offense.statute
        return ResolvedOffense(offense.statute, juris, title, citation, entry, values, warnings)


def _attrs(a: OffenseAttrs, on: dt.date) -> dict[str, Any]:
    return {
        "class": a.class_, "max_days": max_days_on(a.max_days, on), "elements": list(a.elements) if a.elements is not None else None,
        "mens_rea": a.mens_rea, "force": a.force, "cimt": a.cimt, "substance_schedule": a.substance_schedule,
        "inchoate": a.inchoate, "certainty": a.certainty,
    }
