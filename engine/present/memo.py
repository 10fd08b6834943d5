"""What the memo says, computed from the result document (docs/result-format.md) and nothing else.

Page one answers what an attorney advising before a plea needs: per option what it does to the client
(deportability and its ground, aggravated felony, mandatory detention, relief kept or lost, the job and
license that matter, money against ability to pay), which option is safer for the client's priorities, the
counter-offer to ask for, the record language to request and avoid, and the open questions. The sections
after it give each finding in an attorney's words; the trace (ids, rules, facts read) is the appendix."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from engine.present import money as amounts
from engine.present.common import (
    SEVERITY_LABEL,
    Finding,
    add_months,
    add_years,
    days_text,
    first_sentence,
    join_and,
    money,
    parse_date,
    rank,
    unique,
    worst,
)

CITIZEN = {"us_citizen", "us_national"}
STATUS_LABEL = {"us_citizen": "U.S. citizen", "us_national": "U.S. national", "lpr": "lawful permanent resident",
                "conditional_lpr": "conditional permanent resident", "refugee": "refugee", "asylee": "asylee",
                "nonimmigrant": "nonimmigrant visa holder", "daca": "DACA recipient", "tps": "TPS holder",
                "parolee": "parolee", "undocumented": "undocumented", "unknown": "not given"}
GROUND = {"aggravated_felony": "aggravated felony", "cimt": "CIMT within 5 years of admission",
          "multiple_cimts": "two CIMTs after admission", "controlled_substance": "controlled substance",
          "domestic_violence": "domestic violence", "firearm": "firearm offense", "child_abuse": "child abuse",
          "stalking": "stalking", "protection_order_violation": "protection-order violation",
          "sex_offender_registration": "failure to register as a sex offender", "drug_abuser": "drug abuser or addict",
          "high_speed_flight": "high-speed flight"}
INADMISSIBLE = {"cimt": "CIMT", "controlled_substance": "controlled substance", "drug_trafficker": "reason to believe drug trafficking",
                "multiple_convictions": "two or more convictions with 5 years' aggregate sentence",
                "prostitution": "prostitution", "false_claim_citizenship": "false claim to citizenship"}
RELIEF_LOST = {"waiver_212h": "212(h) waiver", "stop_time": "LPR cancellation (stop-time)",
               "cancellation_lpr": "LPR cancellation", "cancellation_nonlpr": "non-LPR cancellation",
               "asylum": "asylum", "withholding": "withholding of removal", "voluntary_departure": "voluntary departure",
               "naturalization": "naturalization for the good-moral-character period", "reentry": "any lawful return after removal",
               "daca": "DACA", "tps": "TPS"}
RELIEF_KEPT = {"imm.lpr_cancellation_available": "LPR cancellation", "imm.petty_offense_exception": "the petty-offense exception"}
DOMAIN_ORDER = ("immigration", "employment", "licensing", "fines", "firearms", "benefits", "housing", "driving",
                "voting", "jury", "registration", "family", "education", "relief")
CERTAINTY = {"clear": "settled law", "likely": "likely", "unsettled": "unsettled law", "circuit_split": "the circuits are split"}
COUNSEL_KIND = {"negotiation": "Negotiate", "record": "Record", "classification": "Classification", "prior_record": "Prior record"}


# --------------------------------------------------------------------------------------------- views

@dataclass
class FindingView:
    title: str
    severity: str
    domain: str
    where: str
    test: str
    meets: str
    facts: str
    authority: str
    certainty: str
    advice: str
    duration: str
    way_out: str
    from_history: bool
    possible: bool = False
    same_as: str = ""
    key: str = ""


@dataclass
class PossibleGroup:
    same_as: str
    question: str
    who: str
    stakes: str
    summary: str
    count: int
    authority: str


@dataclass
class MoneyView:
    rows: list[tuple[str, str, str]]
    total: str
    unknown: list[str]
    ability: str
    short: str
    relief: list[str] = field(default_factory=list)
    same_as: str = ""
    relief_same_as: str = ""


@dataclass
class Alternative:
    change: str
    avoids: list[str]
    avoids_other: int
    triggers: list[str]
    worst: str
    diversion: bool
    score: tuple[int, int, int]


@dataclass
class RecordLine:
    verb: str   # Request / Avoid / Keep
    text: str


@dataclass
class OptionView:
    id: str
    label: str
    counts: list[str]
    row: dict[str, str]
    sentences: list[str]
    major: list[FindingView]
    minor: list[FindingView]
    possible: list[PossibleGroup]
    classifications: list[str]
    relief: list[str]
    money: MoneyView
    timeline: list[tuple[str, str]]
    alternatives: list[Alternative]
    best_alternatives: list[Alternative]
    record: list[RecordLine]
    checklist: list[str]
    trace: list[dict[str, str]]
    applicant_view: list[str]
    relief_same: int = 0
    classifications_same: int = 0
    timeline_same: int = 0

    @property
    def other_alternatives(self) -> list[Alternative]:
        """The counter-offers page one does not already show."""
        return [a for a in self.alternatives if a not in self.best_alternatives]

    @property
    def major_new(self) -> list[FindingView]:
        return [v for v in self.major if not v.same_as]

    @property
    def minor_new(self) -> list[FindingView]:
        return [v for v in self.minor if not v.same_as]

    @property
    def repeated(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for v in self.major + self.minor:
            if v.same_as:
                out.setdefault(v.same_as, []).append(v.title)
        return out


@dataclass
class Question:
    ask: str
    stakes: str
    options: list[str]
    decides: str
    kind: str = ""


@dataclass
class Memo:
    case_id: str
    client_name: str
    jurisdiction: str
    circuit: str
    as_of: str
    engine: str
    warnings: list[str]
    client: list[tuple[str, str]]
    priorities: str
    options: list[OptionView]
    safer: str
    safer_label: str
    reasons: list[str]
    conflicts: list[str]
    domains: list[tuple[str, list[str]]]
    client_questions: list[Question]
    counsel_questions: list[Question]
    packs: list[dict[str, str]]
    appendix: bool
    current: tuple[str, str] = ("", "")
    columns: list[str] = field(default_factory=list)
    review: dict[str, int] = field(default_factory=dict)   # rules behind the findings: rules, reviewed, unreviewed


# --------------------------------------------------------------------------------------------- helpers

def _applies(f: Finding) -> bool:
    return bool(f["status"] == "applies")


def _where(f: Finding, n_counts: int) -> str:
    parts = []
    if f.get("counts") and n_counts > 1:
        parts.append(("count " if len(f["counts"]) == 1 else "counts ") + join_and(str(i + 1) for i in f["counts"]))
    if f.get("history"):
        parts.append(("prior conviction " if len(f["history"]) == 1 else "prior convictions ")
                     + join_and(str(i + 1) for i in f["history"]))
    return "; ".join(parts)


def _merge(findings: list[Finding]) -> list[Finding]:
    """One finding per code and status: the same consequence on two counts is said once, naming both."""
    out: dict[tuple[str, str], Finding] = {}
    for f in findings:
        key = (f["code"], f["status"])
        if key in out:
            m = out[key]
            m["counts"] = sorted(set(m["counts"]) | set(f["counts"]))
            m["history"] = sorted(set(m["history"]) | set(f["history"]))
            m["missing_facts"] = unique(m["missing_facts"] + f["missing_facts"])
            m["record_checklist"] = unique(m["record_checklist"] + f["record_checklist"])
            if rank(f["severity"]) > rank(m["severity"]):
                m["severity"] = f["severity"]
        else:
            out[key] = {**f, "counts": list(f.get("counts") or []), "history": list(f.get("history") or []),
                        "missing_facts": list(f.get("missing_facts") or []),
                        "record_checklist": list(f.get("record_checklist") or [])}
    return list(out.values())


def _cites(f: Finding, limit: int = 0) -> str:
    cites = unique(c["cite"] for c in f.get("citations") or [])
    return "; ".join(cites[:limit] if limit else cites)


_FACT_WORDS: list[tuple[str, Any]] = [
    (r"client\.immigration\.admission_date", lambda v: f"admitted {v}"),
    (r"client\.immigration\.lpr_date", lambda v: f"permanent resident since {v}"),
    (r"(counts|history)\[\w+\]\.committed_on", lambda v: f"offense committed {v}"),
    (r"(counts|history)\[\w+\]\.convicted_on", lambda v: f"convicted {v}"),
    (r"(counts|history)\[\w+\]\.offense\.max_days", lambda v: f"maximum {days_text(int(v))}" if v else ""),
    (r"(counts|history)\[\w+\]\.sentence\.confined_days", lambda v: f"term {days_text(int(v))} counting suspended time"),
    (r"(counts|history)\[\w+\]\.record\.loss_amount", lambda v: f"loss {money(float(v))}"),
    (r"(counts|history)\[\w+\]\.record\.substance", lambda v: f"substance named: {v}"),
    (r"(counts|history)\[\w+\]\.record\.victim_relationship", lambda v: f"relationship: {v}"),
    (r"(counts|history)\[\w+\]\.disposition", lambda v: "" if v == "conviction" else str(v).replace("_", " ")),
    (r"client\.finances\.poverty_ratio", lambda v: f"income {float(v) * 100:.0f}% of the poverty guideline"),
    (r"client\.licenses\.held", lambda v: ("licenses held: " + ", ".join(str(x).replace("_", " ") for x in v)) if v else ""),
    (r"client\.employment\.sectors", lambda v: ("works in " + ", ".join(map(str, v))) if v else ""),
]


def _facts_words(facts: dict[str, Any]) -> str:
    words: list[str] = []
    for key in sorted(facts):
        for pattern, say in _FACT_WORDS:
            if re.fullmatch(pattern, key) and facts[key] is not None:
                try:
                    w = say(facts[key])
                except (TypeError, ValueError):
                    w = ""
                if w:
                    words.append(w)
    return "; ".join(unique(words))


def _advice(f: Finding) -> str:
    cert = CERTAINTY.get(f["certainty"], f["certainty"])
    if f.get("padilla") == "clear":
        return f"{cert}; Padilla clear: tell the client it will follow."
    if f.get("padilla") == "risk":
        return f"{cert}; Padilla risk: advise as a serious risk."
    kind = "mandatory" if f.get("mandatory") else "discretionary"
    if f["certainty"] in ("unsettled", "circuit_split"):
        return f"{cert}, {kind}. Advise it as a risk."
    return f"{cert}, {kind}."


def _duration(f: Finding) -> str:
    d = f.get("duration") or ""
    if d:
        return d[0].upper() + d[1:]
    t = first_sentence(f.get("timeline") or "")
    return t


def _view(f: Finding, n_counts: int, compact: bool = False) -> FindingView:
    test = first_sentence(f.get("explanation") or "")
    if len(test.split()) > 35 and "; " in test:
        test = test.split("; ")[0] + "."
    meets = f.get("summary") or ""
    if f["status"] == "possible" and f.get("missing_facts"):
        meets += " (possible: turns on facts not yet known)"
    way_out = (f.get("mitigations") or [""])[0]
    return FindingView(title=f["title"], severity=SEVERITY_LABEL.get(f["severity"], str(f["severity"])), domain=f["domain"],
                       where=_where(f, n_counts), test=test, meets=meets, facts=_facts_words(f.get("facts") or {}),
                       authority=_cites(f, 1 if compact else 3), certainty=CERTAINTY.get(f["certainty"], str(f["certainty"])), advice=_advice(f),
                       duration=_duration(f).split("; ")[0] if compact else _duration(f), way_out=way_out, from_history=bool(f.get("history") and not f.get("counts")),
                       possible=f["status"] == "possible", key=f"{f['code']}|{f['status']}|{f.get('summary')}")


def _unverified(v: FindingView, f: Finding, option: dict[str, Any]) -> FindingView:
    """The rule's own way out is shown only where no verified counter-offer avoids the finding."""
    if any(f["code"] in (a.get("avoids") or []) for a in option.get("alternatives") or []):
        v.way_out = ""
    return v


def _domain_order(priorities: list[str]) -> list[str]:
    return unique(["immigration"] + list(priorities) + list(DOMAIN_ORDER))


def _domain_key(priorities: list[str]) -> Any:
    order = _domain_order(priorities)

    def key(f: Finding) -> tuple[int, int, str]:
        d = f["domain"]
        return (order.index(d) if d in order else len(order), -rank(f["severity"]), f["title"])
    return key


def _ask_map(option: dict[str, Any]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for q in option.get("questions") or []:
        out[q["fact"]] = (q["ask"], "client")
    for q in option.get("counsel_questions") or []:
        out.setdefault(q["fact"], (q["ask"], "counsel"))
    return out


_SENTENCE = re.compile(r"^counts\[\d+\]\.sentence\.")
_COUNT_SUFFIX = re.compile(r"\s*\((count|prior conviction) (\d+)(;[^)]*)?\)$")


def _questions_text(facts: tuple[str, ...] | list[str], asks: dict[str, tuple[str, str]]) -> str:
    """The questions deciding FACTS, each once: 'What fine …? (counts 1 and 2)'."""
    grouped: dict[str, list[str]] = {}
    for fact in facts:
        ask = asks.get(fact, (_fact_question(fact), ""))[0]
        m = _COUNT_SUFFIX.search(ask)
        base = ask[:m.start()] if m else ask
        grouped.setdefault(base, [])
        if m:
            grouped[base].append(m.group(2))
    out = []
    for base, counts in grouped.items():
        counts = unique(counts)
        out.append(base + (f" ({'count' if len(counts) == 1 else 'counts'} {join_and(counts)})" if counts else ""))
    return "; ".join(out)


def _fact_question(fact: str) -> str:
    return "What is " + re.sub(r"[._\[\]]+", " ", fact).strip() + "?"


def _summarize_titles(titles: list[str]) -> str:
    """Titles that differ only in one part become one line: 'California … applicant: board may deny … — barber, contractor'."""
    titles = unique(titles)
    if len(titles) == 1:
        return titles[0]
    words = [t.split() for t in titles]
    pre = 0
    while all(len(w) > pre for w in words) and len({w[pre] for w in words}) == 1:
        pre += 1
    suf = 0
    while all(len(w) > pre + suf for w in words) and len({w[-1 - suf] for w in words}) == 1:
        suf += 1
    middles = [" ".join(w[pre:len(w) - suf]) for w in words]
    if pre + suf >= 3 and all(middles):
        common = " ".join(words[0][:pre] + ["…"] + words[0][len(words[0]) - suf:])
        return f"{common} — for: {join_and(middles)}"
    if len(titles) > 4:
        return "; ".join(titles[:4]) + f"; and {len(titles) - 4} more"
    return "; ".join(titles)


# --------------------------------------------------------------------------------------------- money

def _money(option: dict[str, Any], findings: list[Finding], asks: dict[str, tuple[str, str]]) -> MoneyView:
    fin = option.get("financial") or {}
    items = fin.get("items") or []
    known: dict[str, list[Any]] = {}
    for i in items:
        if i.get("amount") is not None and i["status"] == "applies":
            entry = known.setdefault(i["label"], [0.0, 0, (i.get("cite") or "").split("; ")[0]])
            entry[0] += i["amount"]
            entry[1] += 1
    rows = [(label + (f" (× {n})" if n > 1 else ""), money(amount), cite) for label, (amount, n, cite) in known.items()]
    missing_of: dict[tuple[str, tuple[int, ...]], list[str]] = {}
    for f in findings:
        if f["domain"] == "fines" and f.get("missing_facts"):
            missing_of.setdefault((f["code"], tuple(f.get("counts") or [])), f["missing_facts"])
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for i in items:
        if i.get("amount") is None:
            groups[tuple(missing_of.get((i["code"], tuple(i.get("counts") or [])), []))].append(i)
    merged_groups: dict[str, list[Any]] = {}
    for facts, group in groups.items():   # the same items on each count: one line naming the counts
        stripped = tuple(re.sub(r"\[\d+\]", "[]", f) for f in facts)
        key = f"{stripped}|{[i['label'] for i in group]}"
        if key in merged_groups:
            merged_groups[key][0] = tuple(merged_groups[key][0]) + tuple(facts)
            merged_groups[key][2] += 1
        else:
            merged_groups[key] = [tuple(facts), group, 1]
    unknown: list[str] = []
    short_unknown: list[str] = []
    for facts, group, times in merged_groups.values():
        decider = _questions_text(facts, asks) or "facts the case file does not give"
        labels = [i["label"] for i in group]
        fns = [amounts.unknown_function(i.get("arithmetic")) for i in group]
        if len({re.sub(r"\[\d+\]", "[]", f) for f in facts}) == 1 and all(fns):
            per = sum(fn(1000.0) for fn in fns if fn)
            bounded = [amounts.bounds(fn) for fn in fns if fn]
            if all(bounded):
                lo = sum(b[0] for b in bounded if b)
                hi = sum(b[1] for b in bounded if b)
                unknown.append(f"{join_and(labels)}: between {money(lo)} and {money(hi)}, depending on the answer to: {decider}")
                short_unknown.append(f"{money(lo)}–{money(hi)} more")
            else:
                n = len(group)
                extra = f" and {n - 1} item{'s' if n > 2 else ''} computed from it" if n > 1 else ""
                each = " on each count" if times > 1 else ""
                unknown.append(f"Not yet set{each}: {labels[0]}{extra}. Decided by: {decider}"
                               + (f" Each $1,000 of it costs {money(per)} in all." if abs(per - 1000) > 0.005 else ""))
                short_unknown.append(f"+ {labels[0][0].lower() + labels[0][1:]} (not set" +
                                     (f"; × {per / 1000:.1f} with add-ons)" if n > 1 else ")"))
        else:
            unknown.append(f"{join_and(labels)}: decided by {decider}")
            short_unknown.append("more not yet set")
    total = fin.get("total") or 0.0
    atp = fin.get("ability_to_pay") or {}
    ability = ""
    share = ""
    if atp.get("income") is not None:
        about = [f"household of {atp['household_size']}"] if atp.get("household_size") else []
        if atp.get("poverty_line"):
            about.append(f"{atp['income_to_poverty'] * 100:.0f}% of the poverty guideline {money(atp['poverty_line'])}")
        ability = f"Ability to pay: income {money(atp['income'])}" + (f" ({'; '.join(about)})" if about else "")
        if atp.get("total_to_income") is not None:
            share = f"{atp['total_to_income'] * 100:.0f}% of income"
            ability += f"; the known total is {atp['total_to_income'] * 100:.0f}% of it"
        ability += "."
    short = money(total) + (f" ({share})" if share else "")
    if len(short_unknown) == 1:
        short += "; " + short_unknown[0]
    elif short_unknown:
        short += f"; + {len(short_unknown)} amounts not set"
    if fin.get("possible_additional"):
        short += f"; possibly {money(fin['possible_additional'])} more"
    return MoneyView(rows=rows, total=money(total), unknown=unknown, ability=ability, short=short)


# --------------------------------------------------------------------------------------------- timeline

_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
        "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
        "ninth": 9, "tenth": 10}
_WHEN = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(years?|months?)\s+(?:after|from)\s+(?:the\s+)?"
    r"(conviction|judgment|sentencing or release|sentencing|imposition|commission of the offense|offense|release|the sentence is complete|"
    r"sentence is complete|later of the judgment or the end of custody or supervision|completion|discharge|admission)"
    r"|\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)\s+anniversary\s+of\s+(discharge)", re.I)


def _timeline(option: dict[str, Any], findings: list[Finding], as_of: dt.date | None) -> list[tuple[str, str]]:
    facts: dict[str, Any] = {}
    for f in findings:
        facts.update({k: v for k, v in (f.get("facts") or {}).items() if v is not None})
    convicted = [d for k, v in facts.items() if k.startswith("counts[") and k.endswith(".convicted_on") and (d := parse_date(v))]
    committed = [d for k, v in facts.items() if k.startswith("counts[") and k.endswith(".committed_on") and (d := parse_date(v))]
    conv = min(convicted) if convicted else as_of
    confined = max((c.get("custody_days") or 0) - (c.get("suspended_days") or 0) for c in option["counts"]) if option["counts"] else 0
    probation = max((int(v) for k, v in facts.items() if k.endswith("sentence.probation_months") and k.startswith("counts[")), default=0)
    rows: list[tuple[dt.date, str]] = []
    admitted = parse_date(facts.get("client.immigration.admission_date"))
    if admitted:
        rows.append((admitted, "Admitted to the United States"))
    for d in sorted(set(committed)):
        rows.append((d, "Offense committed"))
    if conv is None:
        return []
    rows.append((conv, "Plea and conviction" + ("" if convicted else " (assumed on the date the law is applied)")
                 + ": the consequences start unless dated below"))
    release = conv + dt.timedelta(days=confined) if confined > 0 else None
    if release:
        rows.append((release, f"Release from custody at the latest ({days_text(confined)}; credits can make it earlier)"))
    end_supervision = add_months(conv, probation) if probation else None
    if end_supervision:
        rows.append((end_supervision, f"Probation or supervision ends ({probation} months)"))
    anchors = {"conviction": conv, "judgment": conv, "sentencing": conv, "imposition": conv,
               "offense": min(committed) if committed else None, "commission of the offense": min(committed) if committed else None,
               "release": release or conv,
               "sentencing or release": release or conv, "the sentence is complete": max(d for d in (release or conv, end_supervision or conv)),
               "sentence is complete": max(d for d in (release or conv, end_supervision or conv)),
               "later of the judgment or the end of custody or supervision": max(d for d in (release or conv, end_supervision or conv)),
               "completion": end_supervision, "discharge": end_supervision, "admission": admitted}
    classes = {str(v) for k, v in facts.items() if k.startswith("counts[") and k.endswith(".offense.class")}
    felony = bool(classes & {"felony", "wobbler"}) or not classes
    misdemeanor = bool(classes & {"misdemeanor", "wobbler"}) or not classes
    done: set[tuple[dt.date, str]] = set()
    for f in findings:
        if f["status"] != "applies" or f["kind"] == "classification" or (
                f.get("audience") == "general" and rank(f["severity"]) < rank("medium")):
            continue
        for text in (f.get("duration") or "", f.get("timeline") or ""):
            for m in _WHEN.finditer(text):
                if m.group(1):
                    n_word, unit, anchor_word = m.group(1).lower(), m.group(2).lower(), m.group(3).lower()
                else:
                    n_word, unit, anchor_word = m.group(4).lower(), "years", m.group(5).lower()
                n = int(n_word) if n_word.isdigit() else _NUM.get(n_word, 0)
                anchor = anchors.get(anchor_word)
                if not n or anchor is None:
                    continue
                when = add_years(anchor, n) if unit.startswith("year") else add_months(anchor, n)
                if (when, f["title"]) in done:
                    continue
                done.add((when, f["title"]))
                before = re.findall(r"(\b(?:misdemeanors?|felon(?:y|ies))\b)[^;.]{0,12}$", text[:m.start()], re.I)
                if before and not (felony if before[0].lower().startswith("felon") else misdemeanor):
                    continue
                after = re.match(r"[^;.()]*", text[m.end():])
                condition = after.group(0).strip() if after and after.group(0).strip().startswith(("for ", "if ", "unless ")) else ""
                if re.search(r"\b(or younger|or older|under \d+|over \d+)\b", condition):
                    continue   # turns on the client's age, which the result does not give: the finding says it
                phrase = " ".join(x for x in ((before[0] + ":") if before else "", m.group(0), condition) if x)
                rows.append((when, f"{f['title']} — {phrase}"))
    merged: dict[tuple[dt.date, str], list[str]] = {}
    for d, text in sorted(rows, key=lambda r: (r[0], r[1])):
        title, _, phrase = text.rpartition(" — ") if " — " in text else ("", "", text)
        merged.setdefault((d, phrase), [])
        if title and title not in merged[(d, phrase)]:
            merged[(d, phrase)].append(title)
    return [(d.isoformat(), (f"{'; '.join(titles)} — {phrase}" if titles else phrase)) for (d, phrase), titles in merged.items()]


# --------------------------------------------------------------------------------------------- record

_BEARS = [
    (re.compile(r"marijuana|controlled substance|drug", re.I), re.compile(r"controlled_substance|drug|marijuana")),
    (re.compile(r"aggravated.felony", re.I), re.compile(r"aggravated_felony(?!_)|\.aggravated_felony\.|relief_bar|bar\.reentry")),
    (re.compile(r"CIMT|turpitud|petty-offense", re.I), re.compile(r"cimt|petty_offense|travel_risk|naturalization|stop_time")),
    (re.compile(r"firearm", re.I), re.compile(r"firearm")),
    (re.compile(r"prior conviction", re.I), re.compile(r"^history$")),
    (re.compile(r"non-conviction disposition|diversion agreement", re.I), re.compile(r"^$")),
]
_HELPFUL = ("imm.not_", "imm.no_", "imm.petty_offense_exception", "imm.lpr_cancellation_available")


def _bears(clause: str, codes: set[str], option: dict[str, Any]) -> bool:
    for text_pattern, code_pattern in _BEARS:
        if text_pattern.search(clause):
            if code_pattern.pattern == "^history$":   # only where there is a prior record
                return bool(option.get("_history"))
            if code_pattern.pattern == "^$":   # only where a non-conviction disposition is in play
                return any("diversion" in str(a.get("patch")) for a in option.get("alternatives") or []) or any(
                    c["disposition"] != "conviction" for c in option["counts"])
            return any(code_pattern.search(c) for c in codes)
    return True


def _checklist(option: dict[str, Any], findings: list[Finding], priorities: list[str]) -> list[str]:
    live = [f for f in findings if f["status"] in ("applies", "possible")]
    adverse_codes = {f["code"] for f in live if not f["code"].startswith(_HELPFUL) and f["severity"] not in ("info",)}
    adverse_codes |= {f["code"] for f in live if f["kind"] == "classification" and f["code"].startswith("imm.")
                      and not f["code"].startswith(_HELPFUL)}
    order = _domain_order(priorities)
    ordered = sorted(live, key=lambda f: (order.index(f["domain"]) if f["domain"] in order else len(order),
                                          f["code"].startswith(_HELPFUL), -rank(f["severity"]), f["code"]))
    out: list[str] = []
    for f in ordered:
        if f["severity"] == "info" and not f["code"].startswith(_HELPFUL) and not f["code"].startswith("imm.conviction"):
            continue
        for item in f.get("record_checklist") or []:
            kept = [c for c in re.split(r";\s+", item.rstrip(".")) if _bears(c, adverse_codes | {f["code"]}, option)]
            if kept:
                text = "; ".join(kept)
                out.append(text[0].upper() + text[1:] + ".")
    return unique(out)[:6]


def _record(option: dict[str, Any], checklist: list[str]) -> list[RecordLine]:
    lines: list[RecordLine] = []
    if option["id"] == TRIAL:   # after a trial the record is the charge: nothing to negotiate
        return lines
    for i in option.get("record_instructions") or []:
        titles = join_and(i.get("titles") or [])
        if i["kind"] == "keep_silent":
            lines.append(RecordLine("Avoid", f"any statement of {i['label']} ({i['count']}) in the colloquy, written plea, "
                                             f"factual basis or judgment: it would let the government establish {titles} "
                                             f"({i['authority']}); no stipulation to the police report or complaint."))
        else:
            lines.append(RecordLine("Request", f"a record that establishes {i['label']} ({i['count']}); on a silent record "
                                               f"{titles} stays barred, the client bearing the burden ({i['authority']})."))
    for pr in option.get("prong_risks") or []:
        where = f"count {pr['count'] + 1}, {pr['statute']}"
        if pr.get("safe_prongs"):
            lines.append(RecordLine("Request", f"plea and judgment naming prong {' or '.join(pr['safe_prongs'])} ({where}): the plea "
                                               f"does not name the alternative, and relief is judged on the record (Pereida)."))
        for a in pr.get("alternatives") or []:
            if a.get("adds"):
                lines.append(RecordLine("Avoid", f"any reference to prong {a['prong']} ({a['title']}; {where}): it adds "
                                                 f"{join_and(a.get('titles') or [])}."))
    for item in checklist:
        if len(lines) >= 2:
            break
        if not _RECORD_WORDS.search(item) or item.lower().startswith(("if ", "confirm", "obtain", "keep proof", "report")):
            continue
        request: list[str] = []
        avoid: list[str] = []
        for clause in re.split(r";\s+", item.rstrip(".")):
            (avoid if clause.lower().startswith("no ") else request).append(clause)
        if request:
            lines.append(RecordLine("Request", "; ".join(request)[0].lower() + "; ".join(request)[1:] + "."))
        if avoid:
            lines.append(RecordLine("Avoid", "; ".join(a[3:] for a in avoid) + "."))
    return lines


_RECORD_WORDS = re.compile(r"judgment|plea|record|colloquy|minute order|factual basis|sentence", re.I)


# --------------------------------------------------------------------------------------------- alternatives

def _alternatives(option: dict[str, Any], findings: list[Finding], priorities: list[str]) -> list[Alternative]:
    sev: dict[str, str] = {}
    dom: dict[str, int] = {}
    order = _domain_order(priorities)
    for f in findings:
        sev[f["code"]] = worst([sev.get(f["code"], "none"), f["severity"]])
        dom[f["code"]] = order.index(f["domain"]) if f["domain"] in order else len(order)
    out: list[Alternative] = []
    title_of = {f["code"]: f["title"] for f in findings}
    for a in option.get("alternatives") or []:
        avoided = sorted(a.get("avoids") or [], key=lambda c: (-rank(sev.get(c, "none")), dom.get(c, 99),
                                                               0 if ".deportable." in c else 1 if ".inadmissible." in c else 2, c))
        listed = list(a.get("avoids_titles") or [])
        avoids = unique([title_of[c] for c in avoided if title_of.get(c) in listed] + listed)
        w = worst(sev.get(c, "none") for c in avoided)
        diversion = "diversion" in str(a.get("patch") or {})
        triggers = list(a.get("triggers_titles") or [])
        out.append(Alternative(change=a["change"], avoids=avoids,
                               avoids_other=int(a.get("avoids_other") or 0), triggers=triggers, worst=w, diversion=diversion,
                               score=(rank(w) - (2 if triggers else 0), len(avoided), 0 if diversion else 1)))
    return sorted(out, key=lambda x: (-x.score[0], -x.score[2], -x.score[1], x.change))


def _best(alts: list[Alternative]) -> list[Alternative]:
    useful = [a for a in alts if a.worst not in ("none", "info") and not a.triggers]
    picks = [a for a in useful if not a.diversion][:1] + [a for a in useful if a.diversion][:1]
    return sorted(picks, key=lambda a: a.diversion)


# --------------------------------------------------------------------------------------------- bottom line

def _code_tail(code: str, prefix: str) -> str:
    return code[len(prefix):] if code.startswith(prefix) else ""


TRIAL = "trial"   # the option a case file's `charges` add: convicted as charged (docs/case-file.md)


def _custody(option: dict[str, Any]) -> str:
    exp = option.get("sentence_exposure") or {}
    if not exp:
        return ""
    parts = []
    confined, expected, most = exp.get("confined_days"), exp.get("expected_days"), exp.get("max_days")
    if confined:
        parts.append(f"{days_text(int(confined))}" + (f", about {days_text(int(expected))} with credits"
                                                       if expected is not None and expected != confined else ""))
    elif confined == 0:
        parts.append("no custody")
    elif most:
        least = exp.get("min_days")
        parts.append("open, " + (f"at least {days_text(int(least))} (mandatory minimum) and " if least else "")
                     + f"up to {days_text(int(most))}" + (" (terms added)" if exp.get("consecutive") is None
                                                          and len(exp.get("counts") or []) > 1 else ""))
    if exp.get("probation_months"):
        parts.append(f"{exp['probation_months']} months' probation")
    return "; ".join(parts)


def _bottom(option: dict[str, Any], findings: list[Finding], client: dict[str, Any], money_view: MoneyView,
            possible: list[PossibleGroup]) -> tuple[dict[str, str], list[str]]:
    status = client.get("immigration_status") or "unknown"
    imm = [f for f in findings if f["domain"] == "immigration" and f["status"] in ("applies", "possible")]
    applies = {f["code"] for f in imm if _applies(f)}
    maybe = {f["code"] for f in imm if f["status"] == "possible"}

    def grounds(prefix: str, names: dict[str, str], codes: set[str]) -> list[str]:
        return unique(names.get(_code_tail(c, prefix), _code_tail(c, prefix).replace("_", " ")) for c in sorted(codes)
                      if _code_tail(c, prefix) and "." not in _code_tail(c, prefix))

    row: dict[str, str] = {}
    sent: list[str] = []
    if status in CITIZEN:
        row["immigration"] = row["af"] = row["detention"] = row["relief"] = "n/a (citizen)"
        sent.append("No immigration consequence: the client is a U.S. citizen.")
    else:
        dep, dep_maybe = grounds("imm.deportable.", GROUND, applies), grounds("imm.deportable.", GROUND, maybe)
        inad, inad_maybe = grounds("imm.inadmissible.", INADMISSIBLE, applies), grounds("imm.inadmissible.", INADMISSIBLE, maybe)
        cells = []
        if dep:
            cells.append("Deportable: " + join_and(dep))
        elif dep_maybe:
            cells.append("Possibly deportable: " + join_and(dep_maybe))
        elif "imm.not_deportable" in applies:
            cells.append("Not deportable")
        if inad:
            cells.append("inadmissible: " + join_and(inad))
        elif inad_maybe:
            cells.append("possibly inadmissible: " + join_and(inad_maybe))
        if "imm.travel_risk" in applies:
            cells.append("travel unsafe")
        row["immigration"] = "; ".join(cells) or "No criminal ground found"
        af = "imm.aggravated_felony" in applies or "imm.deportable.aggravated_felony" in applies
        af_maybe = "imm.aggravated_felony" in maybe or "imm.deportable.aggravated_felony" in maybe
        subs = unique(f"({_code_tail(c, 'imm.aggravated_felony.')})" for c in sorted(applies | maybe)
                      if _code_tail(c, "imm.aggravated_felony."))
        row["af"] = ("Yes " + " ".join(subs)).strip() if af else ("Possibly " + " ".join(subs)).strip() if af_maybe else \
            "No" if "imm.not_aggravated_felony" in applies else "—"
        row["detention"] = "Yes" if "imm.detention.mandatory" in applies else "Possibly" if "imm.detention.mandatory" in maybe \
            else "No" if "imm.no_mandatory_detention" in applies else "—"
        lost = grounds("imm.relief_bar.", RELIEF_LOST, applies) + grounds("imm.bar.", RELIEF_LOST, applies)
        lost_maybe = [x for x in grounds("imm.relief_bar.", RELIEF_LOST, maybe) + grounds("imm.bar.", RELIEF_LOST, maybe)
                      if x not in lost]
        kept = unique(RELIEF_KEPT[c] for c in sorted(applies) if c in RELIEF_KEPT)
        relief = []
        if lost:
            relief.append("Lost: " + join_and(lost))
        if lost_maybe:
            relief.append("possibly lost: " + join_and(lost_maybe))
        if kept:
            relief.append("kept: " + join_and(kept))
        row["relief"] = ("; ".join(relief) or "No bar found")
        row["relief"] = row["relief"][0].upper() + row["relief"][1:]
        # sentence 1: removal
        s1 = []
        if dep:
            s1.append(f"makes the client deportable ({join_and(dep)})")
        elif dep_maybe:
            s1.append(f"may make the client deportable ({join_and(dep_maybe)}), depending on facts not yet known")
        elif "imm.not_deportable" in applies:
            s1.append("does not make the client deportable")
        if af:
            s1.append("is an aggravated felony")
        elif "imm.not_aggravated_felony" in applies:
            s1.append("is not an aggravated felony")
        if row["detention"] == "Yes":
            s1.append("brings mandatory detention")
        elif row["detention"] == "No" and dep:
            s1.append("without mandatory detention")
        if inad:
            s1.append(f"makes the client inadmissible ({join_and(inad)})")
        if s1:
            sent.append("It " + join_and(s1) + ".")
        s2 = []
        if lost:
            s2.append("the client loses " + join_and(lost))
        if kept:
            s2.append(("and " if lost else "the client ") + "keeps " + join_and(kept))
        if "imm.travel_risk" in applies:
            s2.append("a trip abroad would be treated as seeking admission on return")
        if s2:
            text = "; ".join(s2).replace("; and keeps", " and keeps")
            sent.append(text[0].upper() + text[1:] + ".")
    # work and licenses, then the rest, by the client's priorities
    work = [f for f in findings if f["domain"] in ("employment", "licensing") and _applies(f) and f["kind"] == "consequence"
            and f.get("audience") == "client" and rank(f["severity"]) >= rank("medium")]
    work.sort(key=lambda f: (-rank(f["severity"]), f["title"]))
    work_possible = [g for g in possible if g.stakes in ("critical", "high") and any(
        w in g.summary.lower() for w in ("licens", "board", "employ", "job", "work"))]
    cell = "; ".join(f["title"] for f in work[:2])
    if work_possible:
        n = sum(g.count for g in work_possible)
        cell += ("; " if cell else "") + f"+{n} possible (licenses not given)"
    row["work"] = cell or "None found for this client"
    row["money"] = money_view.short
    row["custody"] = _custody(option) or "—"
    other = [f for f in findings if f["domain"] not in ("immigration", "employment", "licensing", "fines", "relief")
             and _applies(f) and f["kind"] == "consequence" and rank(f["severity"]) >= rank("high")]
    other.sort(key=lambda f: (-rank(f["severity"]), f["title"]))
    s3 = [f["title"] for f in other[:2]]
    if s3:
        sent.append("Also: " + "; ".join(s3) + ".")
    return row, sent[:3]


# --------------------------------------------------------------------------------------------- build

def build(result: dict[str, Any], appendix: bool = False) -> Memo:
    client = result.get("client") or {}
    priorities: list[str] = list(client.get("priorities") or [])
    as_of = parse_date(result.get("as_of"))
    options: list[OptionView] = []
    client_q: dict[str, Question] = {}
    counsel_q: dict[str, Question] = {}
    for o in result["options"]:
        n_counts = len(o["counts"])
        raw = o["findings"]
        merged = _merge(raw)
        fin_codes = {i["code"] for i in (o.get("financial") or {}).get("items") or []}
        asks = _ask_map(o)
        key = _domain_key(priorities)
        consequences = [f for f in merged if f["kind"] == "consequence" and f["code"] not in fin_codes]
        applying = sorted([f for f in consequences if _applies(f)], key=key)
        major_f = [f for f in applying if f.get("audience") != "general" and (
            rank(f["severity"]) >= rank("high") or (f["domain"] == "immigration" and rank(f["severity"]) >= rank("medium")))]
        minor_f = sorted((f for f in applying if f not in major_f), key=lambda f: (-rank(f["severity"]), key(f)))
        groups: dict[tuple[str, ...], list[Finding]] = defaultdict(list)
        for f in consequences + [f for f in merged if f["kind"] == "relief"]:
            if f["status"] == "possible":
                groups[tuple(f.get("missing_facts") or [])].append(f)
        sentence_facts = [k for k in groups if k and all(_SENTENCE.search(x) for x in k)]
        if len(sentence_facts) > 1:   # findings that wait on the sentence: one line, the question is the sentence
            facts_all = tuple(unique(x for k in sentence_facts for x in k))
            groups[facts_all] = [f for k in sentence_facts for f in groups.pop(k)]
        possible: list[PossibleGroup] = []
        for facts, fs in groups.items():
            question = _questions_text(facts, asks) or "facts the case file does not give"
            if len(fs) > 1 and facts and all(_SENTENCE.search(x) for x in facts) and len(facts) > 2:
                question = "the sentence: " + join_and(unique(_COUNT_SUFFIX.sub("", asks.get(x, (_fact_question(x), ""))[0])
                                                             .rstrip("?").split(" will ")[0].lower() for x in facts))
            who = unique(asks.get(x, ("", "counsel"))[1] for x in facts)
            possible.append(PossibleGroup(same_as="", question=question, who=join_and(who) or "counsel",
                                          stakes=worst(f["severity"] for f in fs),
                                          summary=(_summarize_titles([f["title"] for f in sorted(fs, key=lambda f: f["title"])])
                                                   if not all(_SENTENCE.search(x) for x in facts) or len(fs) == 1 else
                                                   "; ".join(f"{f['title']} ({SEVERITY_LABEL[f['severity']]})"
                                                             for f in sorted(fs, key=lambda f: (-rank(f["severity"]), f["title"])))),
                                          count=len(fs), authority="; ".join(unique(c["cite"] for f in fs for c in f.get("citations") or [])[:1])))
        possible.sort(key=lambda g: (-rank(g.stakes), g.question))
        relief = []
        money_relief = [f"{f['title']} ({_cites(f, 1)})" for f in sorted(merged, key=key)
                        if f["kind"] == "relief" and _applies(f) and f["domain"] == "fines"]
        for f in sorted((f for f in merged if f["kind"] == "relief" and _applies(f) and f["domain"] != "fines"), key=key):
            when = first_sentence(f.get("timeline") or "").split("; ")[0].rstrip(".")
            relief.append(f"{f['title']}" + (f" — {when}" if when else "") + (f" ({_cites(f, 1)})" if _cites(f) else ""))
        classifications = []
        plain_conviction = all(c["disposition"] == "conviction" for c in o["counts"])
        for f in sorted((f for f in merged if f["kind"] == "classification" and f["status"] in ("applies", "possible")
                         and f["domain"] == "immigration" and f["code"] != "imm.deportable_ground"
                         and not (f["code"] == "imm.conviction" and plain_conviction)), key=key):
            where = _where(f, n_counts)
            classifications.append(f"{f['title']}" + (" (possible)" if f["status"] == "possible" else "")
                                   + f" — {CERTAINTY.get(f['certainty'], f['certainty'])}" + (f"; {where}" if where else "")
                                   + (f" ({_cites(f, 1)})" if _cites(f) else ""))
        money_view = _money(o, raw, asks)
        money_view.relief = money_relief
        row, sent = _bottom(o, merged, client, money_view, possible)
        exposure = o.get("sentence_exposure") or {}
        sent.extend(n for n in exposure.get("notes") or [] if "mandatory minimum" in n)
        alts = _alternatives(o, raw, priorities)
        checklist = [] if o["id"] == TRIAL else _checklist({**o, "_history": bool(result.get("history"))}, merged, priorities)
        counts = []
        for i, c in enumerate(o["counts"]):
            term = ""
            if c.get("custody_days"):
                term = f"; {days_text(c['custody_days'])}" + (f" ({days_text(c['suspended_days'])} suspended)" if c.get("suspended_days") else "")
            exp_count = (exposure.get("counts") or [])[i] if i < len(exposure.get("counts") or []) else {}
            if exp_count.get("min_days"):
                term += (f"; mandatory minimum {days_text(exp_count['min_days'])}"
                         + (", consecutive to any other term" if exp_count.get("min_consecutive") else ""))
            counts.append(f"Count {i + 1}: {c['statute']} — {c['title']} ({c['citation']})"
                          + ("" if c.get("in_catalog", True) else " [not in the offense catalog]")
                          + f"; {str(c['disposition']).replace('_', ' ')}{term}")
        trace = [{"id": f["id"], "status": f["status"], "rule": ", ".join(f.get("rules") or [f["rule"]]), "pack": f["pack"],
                  "because": ", ".join(f.get("because") or []) or "—",
                  "facts": "; ".join(f"{k} = {v}" for k, v in sorted((f.get("facts") or {}).items())) or "—",
                  "missing": ", ".join(f.get("missing_facts") or []) or "—",
                  "silent": ", ".join(f.get("silent_record") or []) or "—", "burden": str(f.get("burden") or "—"),
                  "arithmetic": str(f.get("arithmetic") or ""),
                  "notes": "; ".join(f"{c['cite']}: {c['note']}" for c in f.get("citations") or [] if c.get("note"))}
                 for f in raw]
        options.append(OptionView(
            id=o["id"], label=o.get("label") or o["id"], counts=counts, row=row, sentences=sent,
            major=[_unverified(_view(f, n_counts), f, o) for f in major_f], minor=[_view(f, n_counts, True) for f in minor_f], possible=possible,
            classifications=classifications, relief=relief, money=money_view, timeline=_timeline(o, raw, as_of),
            alternatives=alts, best_alternatives=_best(alts), record=_record(o, checklist), checklist=checklist,
            trace=trace, applicant_view=[f"{f['title']} — {f['status']} ({f['id']})" for f in o.get("applicant_view") or []]))
        for q in o.get("questions") or []:
            _add_question(client_q, q, o["id"], o["findings"], "")
        for q in o.get("counsel_questions") or []:
            _add_question(counsel_q, q, o["id"], o["findings"], COUNSEL_KIND.get(q.get("kind", ""), q.get("kind", "")))
    _mark_repeats(options)
    trial_only = [k for k, q in counsel_q.items() if q.options == [TRIAL] and q.kind == COUNSEL_KIND["negotiation"]]
    if trial_only:
        qs = [counsel_q.pop(k) for k in trial_only]
        counsel_q["|trial"] = Question(
            ask="the sentence the court would impose after a conviction at trial ("
                + join_and(unique(_COUNT_SUFFIX.sub("", q.ask).rstrip("?").split(" will ")[0].lower() for q in qs)) + ")",
            stakes=worst(q.stakes for q in qs), options=[TRIAL], decides="", kind="Open at trial")
    comparison = result.get("comparison") or {}
    ranked = comparison.get("ranked") or []
    label_of = {o.id: o.label for o in options}
    safer = ranked[0] if len(ranked) > 1 else ""
    domains = []
    for d, row_ in (comparison.get("by_domain") or {}).items():
        possible_row = (comparison.get("by_domain_possible") or {}).get(d, {})
        cells = []
        for o in options:
            cell = SEVERITY_LABEL.get(row_.get(o.id, "none"), "—")
            if possible_row.get(o.id, "none") != "none":
                cell += f" (possible: {SEVERITY_LABEL.get(possible_row[o.id], possible_row[o.id])})"
            cells.append(cell)
        domains.append((d, cells))
    clines = [("Immigration status", STATUS_LABEL.get(client.get("immigration_status") or "unknown", str(client.get("immigration_status"))))]
    if client.get("goals"):
        clines.append(("Immigration goals", ", ".join(client["goals"])))
    for label, k in (("Occupation", "occupation"),):
        if client.get(k):
            clines.append((label, str(client[k])))
    if client.get("licenses"):
        clines.append(("Licenses", ", ".join(str(x).replace("_", " ") for x in client["licenses"])))
    if client.get("benefits"):
        clines.append(("Benefits", ", ".join(str(x).replace("_", " ") for x in client["benefits"])))
    for i, h in enumerate(result.get("history") or []):
        clines.append((f"Prior conviction {i + 1}", f"{h['statute']} ({h['title']}), {str(h['disposition']).replace('_', ' ')}"))
    engine = result.get("engine") or {}
    return Memo(
        case_id=str(result.get("case_id") or ""), client_name=str(client.get("name") or ""),
        jurisdiction=str(result.get("jurisdiction") or ""),
        circuit=f"{result['circuit']}" if result.get("circuit") else "", as_of=str(result.get("as_of") or ""),
        engine=f"collateral {engine.get('version', '')} ({engine.get('evaluator', '')})",
        warnings=list(result.get("warnings") or []), client=clines,
        priorities=", ".join(priorities) if priorities else "not stated", options=options, safer=safer,
        safer_label=label_of.get(safer, ""), reasons=[x.rstrip(".") + "." for x in comparison.get("reasons") or []],
        conflicts=list(comparison.get("conflicts") or []), domains=domains,
        client_questions=sorted(client_q.values(), key=lambda q: (-rank(q.stakes), q.ask)),
        counsel_questions=sorted(counsel_q.values(), key=lambda q: (-rank(q.stakes), q.ask)),
        packs=[{"id": p["id"], "version": p["version"], "current_through": str(p.get("current_through") or ""),
                "digest": str(p.get("digest") or "")[:19]} for p in result.get("packs") or []],
        review=dict(result.get("review") or {}),
        current=(min((str(p.get("current_through") or "") for p in result.get("packs") or []), default=""),
                 max((str(p.get("current_through") or "") for p in result.get("packs") or []), default="")),
        appendix=appendix, columns=[o.id for o in options])


def _mark_repeats(options: list[OptionView]) -> None:
    """What an earlier option already said in the same words is named, not said again."""
    seen: dict[str, str] = {}
    for o in options:
        for v in o.major + o.minor:
            if v.key in seen:
                v.same_as = seen[v.key]
            else:
                seen[v.key] = o.id
        for g in o.possible:
            key = f"possible|{g.summary}|{g.question}"
            if key in seen:
                g.same_as = seen[key]
            else:
                seen[key] = o.id
        mkey = f"money|{o.money.unknown}"
        if mkey in seen:
            o.money.same_as = seen[mkey]
        else:
            seen[mkey] = o.id
        rkey = f"money-relief|{o.money.relief}"
        if rkey in seen:
            o.money.relief_same_as = seen[rkey]
        else:
            seen[rkey] = o.id
        fresh_rows = [row for row in o.timeline if f"timeline|{row}" not in seen]
        o.timeline_same = len(o.timeline) - len(fresh_rows)
        for row in fresh_rows:
            seen[f"timeline|{row}"] = o.id
        o.timeline = fresh_rows
        for attr in ("relief", "classifications"):
            items: list[str] = getattr(o, attr)
            fresh = [x for x in items if x not in seen]
            repeated = len(items) - len(fresh)
            for x in fresh:
                seen[x] = o.id
            setattr(o, attr, fresh)
            setattr(o, attr + "_same", repeated)


def _add_question(into: dict[str, Question], q: dict[str, Any], option: str, findings: list[Finding], kind: str) -> None:
    by_id = {f["id"]: f for f in findings}
    decided = [by_id[w] for w in q.get("why") or [] if w in by_id]
    codes = [w for w in q.get("why") or [] if w not in by_id]
    domains = unique(f["domain"] for f in decided)
    n = len(decided) + len(codes)
    what = (f"{n} possible {join_and(domains) or 'consequence'} finding{'s' if n != 1 else ''}"
            if decided else join_and(codes))
    key = re.sub(r"\s*\((count|prior conviction) \d+\)$", "", q["ask"]) + "|" + kind
    if key in into:
        existing = into[key]
        existing.stakes = worst([existing.stakes, q["stakes"]])
        if option not in existing.options:
            existing.options.append(option)
    else:
        into[key] = Question(ask=q["ask"], stakes=q["stakes"], options=[option], decides=what, kind=kind)
