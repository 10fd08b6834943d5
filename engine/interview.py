"""Build a case file by asking only the questions whose answers would change a finding.

The loop: evaluate the case, take the most serious open question, ask it (with the valid choices), write the
answer into the case file, evaluate again (an answer can make other questions moot), until nothing decisive
is left or every remaining question was skipped. Answers come from the terminal or from an answers file.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from .casefile import CaseFile
from .evaluate import generic_fact
from .facts import FACTS

# derived facts are answered through the case-file field they are computed from
SOURCE_OF = {
    "client.immigration.admitted": "client.immigration.admission_date",
    "client.age": "client.birth_date",
    "client.immigration.age_at_lpr": "client.birth_date",
    "count.age_at_offense": "client.birth_date",
    "count.sentence.confined_days": "count.sentence.suspended_days",
    "count.offense.elements_unresolved": "count.offense.prong",
    "count.offense.cimt_unresolved": "count.offense.prong",
    "client.licenses.held": "client.licenses",
    "client.licenses.applying": "client.licenses",
}


@dataclass
class Question:
    key: str              # "<option id>|<fact>" — unique per option for count facts
    option: str
    fact: str             # as reported: counts[0].record.loss_amount or client.immigration.status
    field: str            # the case-file field that answers it, generic form
    ask: str
    stakes: str
    why: list[str]
    choices: tuple[str, ...]
    type: str
    generic: str = ""


class BadAnswer(ValueError):
    pass


def open_questions(result: dict[str, Any], license_codes: list[str]) -> list[Question]:
    sev = ("info", "low", "medium", "high", "critical")
    out: dict[str, Question] = {}
    for o in result["options"]:
        for q in o["questions"]:
            generic = generic_fact(q["fact"])
            field = SOURCE_OF.get(generic, generic)
            fact = q["fact"] if field == generic else (q["fact"].split("]")[0] + "]." + field[len("count."):] if field.startswith("count.") else field)
            key = f"{o['id']}|{fact}" if fact.startswith(("counts[", "history[")) else (fact if field != "client.licenses" else generic)
            spec = FACTS.get(field)
            choices: tuple[str, ...] = spec.choices if spec else ()
            ftype = spec.type if spec else "str"
            if field == "client.licenses":
                choices, ftype = tuple(license_codes), "tags"
            cur = out.get(key)
            if cur is None:
                out[key] = Question(key, o["id"], fact, field, q["ask"], q["stakes"], list(q["why"]), choices, ftype, generic)
            else:
                cur.why.extend(w for w in q["why"] if w not in cur.why)
                if sev.index(q["stakes"]) > sev.index(cur.stakes):
                    cur.stakes = q["stakes"]
    return sorted(out.values(), key=lambda q: (-sev.index(q.stakes), -len(q.why), q.key))


def parse_answer(q: Question, text: str) -> Any:
    """The typed value of an answer; None for 'unknown' or an empty answer."""
    t = text.strip()
    if t.lower() in ("", "unknown", "?", "skip"):
        return None
    try:
        if q.type == "date":
            return dt.date.fromisoformat(t).isoformat()
        if q.type == "int":
            return int(t)
        if q.type == "number":
            return float(t.replace(",", "").lstrip("$"))
        if q.type == "bool":
            if t.lower() in ("y", "yes", "true"):
                return True
            if t.lower() in ("n", "no", "false"):
                return False
            raise BadAnswer("answer yes or no")
        if q.type == "tags":
            items = [x.strip() for x in t.replace(";", ",").split(",") if x.strip() and x.strip().lower() != "none"]
            bad = [x for x in items if q.choices and x not in q.choices]
            if bad:
                raise BadAnswer(f"not valid: {', '.join(bad)}; choose from {', '.join(q.choices)}")
            return items
        if q.choices and t not in q.choices:
            raise BadAnswer(f"'{t}' is not valid; choose one of {', '.join(q.choices)}")
        return t
    except ValueError as exc:
        if isinstance(exc, BadAnswer):
            raise
        raise BadAnswer(f"expected a {q.type}") from None


def apply_answer(data: dict[str, Any], q: Question, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    if q.field == "client.licenses":
        status = "applying" if q.generic.endswith("applying") else "held"
        kept = [x for x in (out.setdefault("client", {}).get("licenses") or []) if x.get("status", "held") != status]
        out["client"]["licenses"] = kept + [{"type": t, "status": status} for t in value]
        return out
    if q.fact.startswith(("counts[", "history[")):
        head, rest = q.fact.split("].", 1)
        idx = int(head.split("[")[1])
        if head.startswith("history"):
            node = out["history"][idx]
        else:
            node = next(o for o in out["options"] if o["id"] == q.option)["counts"][idx]
        parts = rest.split(".")
    else:
        node = out
        parts = q.field.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def run_interview(data: dict[str, Any], evaluate: Callable[[CaseFile], dict[str, Any]], answer: Callable[[Question], Optional[str]],
                  license_codes: list[str], tell: Callable[[str], None] = lambda s: None, limit: int = 50) -> dict[str, Any]:
    """Ask until no decisive question is open. answer() returns the text typed (None ends the interview)."""
    skipped: set[str] = set()
    for _ in range(limit):
        result = evaluate(CaseFile.model_validate(data))
        pending = [q for q in open_questions(result, license_codes) if q.key not in skipped]
        if not pending:
            break
        q = pending[0]
        while True:
            text = answer(q)
            if text is None:
                return data
            try:
                value = parse_answer(q, text)
                break
            except BadAnswer as exc:
                tell(f"  {exc}")
        if value is None:
            skipped.add(q.key)
            continue
        data = apply_answer(data, q, value)
    return data

