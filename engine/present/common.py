"""Small helpers shared by the memo and the letter: severity order, money, dates, sentences."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

SEVERITIES = ("none", "info", "low", "medium", "high", "critical")
SEVERITY_LABEL = {"critical": "CRITICAL", "high": "High", "medium": "Medium", "low": "Low", "info": "Info", "none": "—"}
Finding = dict[str, Any]


def rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def worst(severities: Iterable[str]) -> str:
    return max(severities, key=rank, default="none")


def money(v: float | None) -> str:
    if v is None:
        return "unknown"
    return f"${v:,.2f}".replace(".00", "") if v >= 0 else f"−${-v:,.2f}".replace(".00", "")


def join_and(items: Iterable[str], word: str = "and") -> str:
    xs = [x for x in items if x]
    if len(xs) <= 1:
        return "".join(xs)
    return ", ".join(xs[:-1]) + f" {word} " + xs[-1]


def unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for x in items:
        if x and x not in seen:
            seen[x] = None
    return list(seen)


def parse_date(v: Any) -> dt.date | None:
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:   # 29 February
        return d.replace(year=d.year + years, day=28)


def add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise ValueError(d)


def days_text(days: int) -> str:
    if days >= 365 and days % 365 == 0:
        years = days // 365
        return f"{years} year{'s' if years > 1 else ''}"
    return f"{days:,} days"


_ABBREV = {"u.s", "u.s.c", "c.f.r", "cal", "pen", "gov", "code", "stat", "v", "no", "ct", "app", "dec", "fed", "reg",
           "seq", "e.g", "i.e", "art", "ch", "fla", "tex", "n.y", "inc", "st", "jr", "sec", "subd", "para", "corp",
           "bus", "prof", "h&s", "occ", "crim", "proc", "ann", "supp", "cir", "ed", "f", "f.2d", "f.3d", "f.4th",
           "i&n", "s.ct", "l.ed", "rev", "gen", "ins", "welf", "inst", "veh", "civ", "evid", "fam", "health", "safety",
           "ga", "ill", "wash", "n.j", "cf", "al", "approx", "cl", "pt", "vol", "op", "att'y", "mr", "ms", "dr"}
_END = re.compile(r"([.!?])(['\")\]]*)\s+(?=[A-Z0-9(\"'])")


def first_sentence(text: str) -> str:
    """The first sentence of TEXT, not fooled by 'U.S.C.' or 'v.' or 'Cal.'."""
    text = " ".join((text or "").split())
    for m in _END.finditer(text):
        if m.group(1) == ".":
            before = text[:m.start()]
            word = re.split(r"[\s(]", before)[-1].lower() if before else ""
            if word in _ABBREV or len(word) <= 1 or re.fullmatch(r"[a-z]\.[a-z.]*", word) or word[-1:].isdigit() and "§" in before[-12:]:
                continue
        return text[:m.end()].strip()
    return text


def sentences(text: str, n: int) -> str:
    out: list[str] = []
    rest = " ".join((text or "").split())
    while rest and len(out) < n:
        s = first_sentence(rest)
        out.append(s)
        rest = rest[len(s):].strip()
    return " ".join(out)
