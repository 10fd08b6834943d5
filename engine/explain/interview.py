"""Build a case file by asking only the questions whose answers would change a finding.

The loop: evaluate the case, take the most serious open question, ask it (with the valid choices), write the
answer into the case file, evaluate again (an answer can make other questions moot), until nothing decisive
is left or every remaining question was skipped. Answers come from the terminal or from an answers file.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from engine.compile.facts import FACTS
from engine.explain.evaluate import generic_fact
from engine.model.casefile import CaseFile

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
    "count.record.substance_federal": "count.record.substance",
}
# facts the case file does not hold (set by the case file's structure or computed from it): never asked
NOT_ANSWERABLE = {"count.source", "count.offense.in_catalog", "count.offense.statute", "count.offense.jurisdiction"}
LICENSE_KEYS = ("client.licenses.held", "client.licenses.applying")


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


class AnswerError(Exception):
    """A scripted answer that is not valid (run_interview with strict=True): the question, the text, the reason."""

    def __init__(self, question: Question, text: str, message: str) -> None:
        super().__init__(message)
        self.question, self.text, self.message = question, text, message


def schema_problem(data: dict[str, Any]) -> Optional[str]:
    """Why the case file with an answer written into it is not valid (None when it is)."""
    from pydantic import ValidationError

    from engine.model.casefile import problems_from_validation
    from engine.model.yamlsrc import Located
    try:
        CaseFile.model_validate(data)
    except ValidationError as exc:
        return "; ".join(f"{p.field}: {p.message}" + (f" (did you mean '{p.suggestion}'?)" if p.suggestion else "")
                         for p in problems_from_validation(exc, Located(data, {}, "")))
    return None


_END = object()   # the interview was ended (no answer at all)


def _ask(q: Question, answer: Callable[[Question], Optional[str]], tell: Callable[[str], None], strict: bool,
         make: Callable[[Any], Any], check: Callable[[Any], Optional[str]]) -> Any:
    """Ask until the answer is valid: _END when there is no answer, None when skipped, else make(value). An
    answer that does not parse, or that makes the case file invalid, is refused (asked again, or AnswerError)."""
    while True:
        text = answer(q)
        if text is None:
            return _END
        try:
            value = parse_answer(q, text)
            if value is None:
                return None
            made = make(value)
            problem = check(made)
            if problem:
                raise BadAnswer(f"not accepted: {problem}")
            return made
        except BadAnswer as exc:
            if strict:
                raise AnswerError(q, text, str(exc)) from None
            tell(f"  {exc}")


def _license_pair(q: Question, pending: list[Question], texts: dict[str, str]) -> Question:
    """The other half of a license question (held <-> applying)."""
    other = LICENSE_KEYS[1] if q.generic == LICENSE_KEYS[0] else LICENSE_KEYS[0]
    found = next((p for p in pending if p.generic == other), None)
    if found is not None:
        return found
    ask = texts.get(other) or ("Which licenses does the client hold?" if other.endswith("held") else
                               "Which licenses is the client applying for?")
    return Question(other, q.option, other, q.field, ask, q.stakes, [], q.choices, "tags", other)


def run_interview(data: dict[str, Any], evaluate: Callable[[CaseFile], dict[str, Any]], answer: Callable[[Question], Optional[str]],
                  license_codes: list[str], tell: Callable[[str], None] = lambda s: None, limit: int = 50, *,
                  strict: bool = False, check: Optional[Callable[[dict[str, Any]], Optional[str]]] = None,
                  texts: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """Ask until no decisive question is open. answer() returns the text typed (None ends the interview, keeping
    what was answered). An answer is written only if the case file stays valid (check(): schema by default):
    otherwise it is asked again, or with strict (scripted answers) AnswerError is raised.

    Held and applied-for licenses live in one list (client.licenses): while it is unknown, a license question is
    asked with its other half, and both are written together, so "none applied for" never records "none held"."""
    check = check or schema_problem
    skipped: set[str] = set()
    for _ in range(limit):
        result = evaluate(CaseFile.model_validate(data))
        pending = [q for q in open_questions(result, license_codes) if q.key not in skipped]
        if not pending:
            break
        q = pending[0]
        if q.field == "client.licenses" and (data.get("client") or {}).get("licenses") is None:
            pair = _license_pair(q, pending, texts or {})
            first = _ask(q, answer, tell, strict, functools.partial(apply_answer, data, q), lambda _d: None)
            if first is _END:
                return data
            second = None if first is None else _ask(pair, answer, tell, strict, functools.partial(apply_answer, first, pair), check)
            if second is _END:
                return data
            if second is None:
                skipped.update((q.key, pair.key))
                tell("  held and applied-for licenses are recorded together (client.licenses): with one of them "
                     "unknown, neither is recorded")
                continue
            data = second
            continue
        got = _ask(q, answer, tell, strict, functools.partial(apply_answer, data, q), check)
        if got is _END:
            return data
        if got is None:
            skipped.add(q.key)
            continue
        data = got
    return data


def answer_key_problem(key: str, data: dict[str, Any]) -> Optional[tuple[str, str]]:
    """Why a scripted answer's key names no question the interview can ask for this case (with the nearest valid
    key), or None. Keys: a client fact (client.immigration.admission_date), a count fact for the first count
    asked (count.record.loss_amount), or one count: counts[0].record.loss_amount, history[1].convicted_on,
    optionally after an option id ('offer|counts[0].record.loss_amount')."""
    import re

    from engine.model.errors import nearest
    client_keys = {p for p in FACTS if p.startswith("client.") and p not in SOURCE_OF} | set(LICENSE_KEYS) \
        | {v for v in SOURCE_OF.values() if v.startswith("client.") and v != "client.licenses"}
    count_fields = {p[len("count."):] for p, s in FACTS.items() if s.scope == "cnt" and p not in SOURCE_OF and p not in NOT_ANSWERABLE}
    if key in client_keys or (key.startswith("count.") and key[len("count."):] in count_fields):
        return None
    options = {str(o.get("id")): o for o in data.get("options") or [] if isinstance(o, dict)}
    opt, bar, rest = key.rpartition("|")
    m = re.fullmatch(r"(counts|history)\[(\d+)\]\.(.+)", rest)
    if bar and opt not in options:
        near = nearest(opt, options)
        return f"no option '{opt}' in the case (options: {', '.join(options)})", (f"{near}|{rest}" if near else "")
    if m is None:
        generic = sorted(client_keys | {"count." + f for f in count_fields})
        return "not a question the interview asks", nearest(rest if not bar else key, generic)
    kind, index, field = m.group(1), int(m.group(2)), m.group(3)
    if field not in count_fields:
        near = nearest(field, count_fields)
        return f"'{field}' is not a count fact the interview asks", (f"{key[: len(key) - len(field)]}{near}" if near else "")
    if kind == "history":
        n = len(data.get("history") or [])
    else:
        counts = [len(o.get("counts") or []) for o in ([options[opt]] if bar else options.values())]
        n = max(counts, default=0)
    if index >= n:
        return f"there is no {kind}[{index}] ({n} {'prior convictions' if kind == 'history' else 'counts'})", ""
    return None
