"""The dated table of federal controlled-substance schedules (rules/us/offenses/schedules.yaml): is the substance
named in a record of conviction federally controlled on a given date (8 U.S.C. § 1227(a)(2)(B)(i); Mellouli)?

The table is data; this module only loads it, checks it and looks names up. A name that is not in the table is
unknown (controlled None), never "not controlled"."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.model.errors import InputError, Problem, nearest
from engine.model.yamlsrc import Located, dotted, load_file

# Same folder as the pack that owns it (engine/packs.RULES_DIR); computed here so packs may import this module.
SCHEDULES_FILE = Path(__file__).resolve().parents[2] / "rules" / "us" / "offenses" / "schedules.yaml"

Schedule = Literal["I", "II", "III", "IV", "V"]
Certainty = Literal["verified", "unverified"]
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"     # the form of count.record.substance in a case file

# Trailing words that name a salt, ester or form of the same substance ("cocaine hydrochloride" -> cocaine).
_SALT_WORDS = frozenset({
    "hydrochloride", "hcl", "sulfate", "sulphate", "citrate", "phosphate", "tartrate", "bitartrate", "hydrobromide",
    "maleate", "mesylate", "acetate", "cypionate", "enanthate", "propionate", "undecanoate", "decanoate", "salt", "salts",
})


class M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class StatusItem(M):
    from_: dt.date = Field(alias="from")
    to: Optional[dt.date] = None
    controlled: Union[bool, Literal["depends"]] = True
    schedule: Optional[Schedule] = None
    cite: str = Field(min_length=3)
    certainty: Certainty = "verified"
    note: Optional[str] = Field(default=None, min_length=3)

    @model_validator(mode="after")
    def _consistent(self) -> StatusItem:
        if self.to is not None and self.to <= self.from_:
            raise ValueError(f"'to' ({self.to}) must be after 'from' ({self.from_})")
        if self.controlled is not True and self.schedule is not None:
            raise ValueError("a schedule is given only when controlled is true")
        if self.note is None:
            if self.controlled == "depends":
                raise ValueError("controlled 'depends' needs a note saying what it depends on")
            if self.certainty == "unverified":
                raise ValueError("an unverified item needs a note saying what is unconfirmed")
            if self.controlled is True and self.schedule is None:
                raise ValueError("a controlled item without a schedule needs a note saying why")
        return self


class Substance(M):
    name: str = Field(pattern=NAME_PATTERN)
    aliases: list[str] = []
    note: Optional[str] = Field(default=None, min_length=3)
    status: list[StatusItem] = Field(min_length=1)


class TableFile(M):
    substances: list[Substance] = Field(min_length=1)


@dataclass(frozen=True)
class SubstanceStatus:
    """The federal status of a named substance on a date. controlled: True (in a federal schedule), False (in none),
    None (unknown: not in the table, a date the table does not cover, or it depends on facts the name does not
    give -- `note` says which)."""

    controlled: Optional[bool]
    schedule: Optional[str]
    name: str                            # canonical table name; "" when the name is not in the table
    cite: str
    certainty: str                       # "verified", "unverified", or "" when nothing was found
    note: str
    since: Optional[dt.date] = None      # the period of the item that applied
    until: Optional[dt.date] = None


@dataclass(frozen=True)
class Table:
    file: str
    substances: Mapping[str, Substance]      # canonical name -> entry
    index: Mapping[str, str]                 # lookup key of every name and alias -> canonical name


def _key(text: str) -> str:
    """Lookup key: lower case, apostrophes dropped, words split on anything but letters, digits and brackets."""
    t = unicodedata.normalize("NFKC", str(text)).lower().replace("'", "").replace("\u2019", "")
    t = t.replace("marihuana", "marijuana")
    return " ".join(re.findall(r"[a-z0-9\[\]]+", t))


def _load(path: Path) -> Table:
    src = load_file(path)
    problems: list[Problem] = []
    if not isinstance(src.data, dict):
        raise InputError("schedules table", [Problem(src.file, src.line(()), "", "expected a mapping with 'substances'")])
    try:
        parsed = TableFile.model_validate(src.data)
    except ValidationError as exc:
        raise InputError("schedules table", _validation_problems(exc, src)) from None
    substances: dict[str, Substance] = {}
    index: dict[str, str] = {}
    for i, sub in enumerate(parsed.substances):
        where = ("substances", i)
        if sub.name in substances:
            problems.append(Problem(src.file, src.line(where + ("name",)), dotted(where + ("name",)),
                                    f"substance '{sub.name}' is listed twice"))
        substances[sub.name] = sub
        for j, alias in enumerate([sub.name, *sub.aliases]):
            loc = where + (("name",) if j == 0 else ("aliases", j - 1))
            key = _key(alias)
            if not key:
                problems.append(Problem(src.file, src.line(loc), dotted(loc), f"alias '{alias}' has no letters or digits"))
            elif index.get(key, sub.name) != sub.name:
                problems.append(Problem(src.file, src.line(loc), dotted(loc),
                                        f"'{alias}' already names substance '{index[key]}'"))
            else:
                index[key] = sub.name
        problems.extend(_order_problems(sub, where, src))
    if problems:
        raise InputError("schedules table", problems)
    return Table(src.file, MappingProxyType(substances), MappingProxyType(index))


def _order_problems(sub: Substance, where: tuple[Any, ...], src: Located) -> list[Problem]:
    """Dated items must be in order, consecutive and non-overlapping; only the last may carry an explicit 'to'
    that ends the table's knowledge, any other 'to' must equal the next item's 'from'."""
    out: list[Problem] = []
    for j in range(1, len(sub.status)):
        prev, cur = sub.status[j - 1], sub.status[j]
        loc = where + ("status", j, "from")
        if cur.from_ <= prev.from_:
            out.append(Problem(src.file, src.line(loc), dotted(loc),
                               f"{cur.from_} is not after the previous item's 'from' ({prev.from_}); items must be in date order"))
        elif prev.to is not None and prev.to != cur.from_:
            kind = "overlaps" if prev.to > cur.from_ else "leaves a gap before"
            ploc = where + ("status", j - 1, "to")
            out.append(Problem(src.file, src.line(ploc), dotted(ploc),
                               f"'to' {prev.to} {kind} the next item (from {cur.from_}); items must be consecutive"))
    return out


def _validation_problems(exc: ValidationError, src: Located) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p in ("bool", "literal['depends']"))))
        msg = err["msg"]
        suggestion = ""
        if err["type"] == "extra_forbidden" and loc:
            fields = _fields_at(loc[:-1])
            suggestion = nearest(str(loc[-1]), fields)
            msg = "unknown field" + (f"; expected one of: {', '.join(fields)}" if fields else "")
        elif "input" in err and not isinstance(err.get("input"), (dict, list)):
            msg = f"{msg} (got {err.get('input')!r})"
        out.append(Problem(src.file, src.line(loc), dotted(loc), msg, suggestion))
    return out


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    names = tuple(p for p in loc if isinstance(p, str))
    models: dict[tuple[str, ...], type[M]] = {(): TableFile, ("substances",): Substance, ("substances", "status"): StatusItem}
    model = models.get(names, TableFile)
    return [f.alias or n for n, f in model.model_fields.items()]


@functools.lru_cache(maxsize=8)
def load_table(path: Path = SCHEDULES_FILE) -> Table:
    """The checked table (cached per path for the life of the process; edit the file and restart to reload).
    Raises InputError with file:line for any problem in the file."""
    return _load(Path(path))


def _lookup(text: str, table: Table) -> Optional[str]:
    words = _key(text).split()
    candidates = [words]
    stripped = list(words)
    while len(stripped) > 1 and stripped[-1] in _SALT_WORDS:
        stripped = stripped[:-1]
        candidates.append(list(stripped))
    for ws in list(candidates):
        last = ws[-1] if ws else ""
        if last.endswith("ies") and len(last) > 4:
            candidates.append(ws[:-1] + [last[:-3] + "y"])
        elif last.endswith("s") and not last.endswith("ss") and len(last) > 3:
            candidates.append(ws[:-1] + [last[:-1]])
    for ws in candidates:
        name = table.index.get(" ".join(ws))
        if name is not None:
            return name
    return None


def normalize_substance(text: str, path: Path = SCHEDULES_FILE) -> str:
    """The table's canonical name for text ("Cocaine Hydrochloride" -> "cocaine", "marihuana" -> "marijuana",
    "methamphetamines" -> "methamphetamine"); a name not in the table comes back in the same lower snake-case
    form ("Unobtainium Salt" -> "unobtainium_salt"), so it can be compared and reported."""
    found = _lookup(text, load_table(path))
    return found if found is not None else "_".join(_key(text).split())


def suggest(text: str, path: Path = SCHEDULES_FILE) -> str:
    """The canonical name of the nearest table name or alias (errors.nearest), or '' when nothing is close."""
    return _suggest(text, Path(path))


@functools.lru_cache(maxsize=1024)
def _suggest(text: str, path: Path) -> str:
    """suggest, remembered per process (a fuzzy match over the whole table costs milliseconds, and the same
    unknown name comes back for every count and every re-run of an option)."""
    table = load_table(path)
    found = _lookup(text, table)
    if found is not None:
        return found
    best = nearest(_key(text), table.index)
    return table.index[best] if best else ""


def federal_status(text: str, on: dt.date, path: Path = SCHEDULES_FILE) -> SubstanceStatus:
    """Whether the substance named by text was federally controlled on `on` (the date of conviction)."""
    table = load_table(path)
    day = on.date() if isinstance(on, dt.datetime) else on
    name = _lookup(text, table)
    if name is None:
        hint = suggest(text, path)
        note = f"'{text}' is not in the federal schedules table ({Path(table.file).name}); the table is not exhaustive: check 21 C.F.R. part 1308 by hand"
        return SubstanceStatus(None, None, "", "", "", note + (f" (did you mean '{hint}'?)" if hint else ""))
    sub = table.substances[name]
    items = sub.status
    if day < items[0].from_:
        note = f"The table does not cover {name} before {items[0].from_.isoformat()}."
        return SubstanceStatus(None, None, name, "", "", " ".join(x for x in (note, sub.note) if x), until=items[0].from_)
    for j, item in enumerate(items):
        end = items[j + 1].from_ if j + 1 < len(items) else item.to
        if end is not None and day >= end:
            continue
        controlled = None if item.controlled == "depends" else bool(item.controlled)
        note = " ".join(x for x in (item.note, sub.note) if x)
        return SubstanceStatus(controlled, item.schedule, name, item.cite, item.certainty, note, item.from_, end)
    last = items[-1]
    note = f"The table does not cover {name} on or after {last.to.isoformat() if last.to else ''}."
    return SubstanceStatus(None, None, name, "", "", " ".join(x for x in (note, sub.note) if x), since=last.to)
