"""What the web app does with a case, in the same steps as the command line: the checks `collateral advise`
makes before it evaluates (schema, statutes no catalog resolves, closed vocabularies, implausible facts), the
evaluation with the coverage warnings, flag ids and seal of `advise --format json`, the interview's decisive
questions (engine/explain/interview.py), and a counter-offer added as a new option.

The rule engine runs in one worker thread, one request at a time: the web app is for one attorney, and
durable_rules keeps its state per process."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypeVar

from pydantic import ValidationError

from engine.compile.compiler import CompileError
from engine.explain.evaluate import Engine
from engine.explain.interview import LICENSE_KEYS, BadAnswer, Question, apply_answer, open_questions, parse_answer
from engine.law.catalog import CatalogEntry, describe_entry, max_days_on
from engine.law.packs import RULES_DIR, coverage_warnings, load_all
from engine.model import casefile as cf
from engine.model.errors import InputError
from engine.model.yamlsrc import Located, dotted
from engine.serve import form as fm
from engine.serve.workspace import CaseFileOnDisk, Workspace

T = TypeVar("T")
SEAL_INPUTS = {"redact": False, "review": None, "since": None}


@dataclass
class Checked:
    """A case file after the checks `collateral advise` makes: the model, or the problems by case-file path."""
    case: Optional[cf.CaseFile]
    problems: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Evaluated:
    disk: CaseFileOnDisk
    checked: Checked
    result: Optional[dict[str, Any]] = None
    day: dt.date = field(default_factory=dt.date.today)


def _message(msg: str, suggestion: str = "") -> str:
    """A problem as the form shows it: pydantic's wording made plain where it names a pattern or a validator."""
    msg = re.sub(r"^Value error, ", "", msg)
    if "pattern '^US(-[A-Z]{2})?$'" in msg:
        msg = "write US (federal) or US- and the state's two capital letters, e.g. US-CA" + (
            m.group(0) if (m := re.search(r" \(got .*\)$", msg)) else "")
    elif "pattern '^[A-Za-z0-9][A-Za-z0-9_.-]*$'" in msg:
        msg = "letters, digits, dot, dash and underscore only, starting with a letter or digit" + (
            m.group(0) if (m := re.search(r" \(got .*\)$", msg)) else "")
    return msg + (f" (did you mean '{suggestion}'?)" if suggestion else "")


class Service:
    def __init__(self, workspace: Path, rules_dir: Optional[Path] = None) -> None:
        from engine.law.packs import EARLIEST_CASE_DATE
        packset = load_all(rules_dir or RULES_DIR)
        if packset.problems:
            raise InputError("rule packs", packset.problems)
        self.workspace = Workspace(workspace)
        self.packset = packset
        self.engine = Engine(packset)          # CompileError for a bad pack
        self.earliest = EARLIEST_CASE_DATE
        self.licenses: dict[str, str] = {str(k): str(v) for k, v in (packset.vocabulary.get("licenses") or {}).items()}
        self.questions: dict[str, str] = dict(packset.questions)
        self.jurisdictions = sorted(set(self.engine.catalogs.by_jurisdiction)
                                    | {p.manifest.jurisdiction for p in packset.packs})
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collateral-engine")
        self._cache: OrderedDict[tuple[str, bool], Evaluated] = OrderedDict()
        self._lock = threading.Lock()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run FN in the engine's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------------------------ checks
    def check(self, data: Any, label: str = "case file") -> Checked:
        if not isinstance(data, dict):
            return Checked(None, [("", "expected a mapping with format, jurisdiction and options")])
        src = Located(data, {}, label)
        try:
            case = cf.CaseFile.model_validate(data)
        except ValidationError as exc:
            return Checked(None, [(p.field, _message(p.message, p.suggestion)) for p in cf.problems_from_validation(exc, src)])
        problems = [(dotted(loc), _message(msg, near)) for loc, msg, near in self.engine.unresolved_statutes(case)]
        on = case.as_of or dt.date.today()
        if on < self.earliest:
            problems.append(("as_of", f"the law cannot be applied as of {on.isoformat()}: the rule packs are checked from "
                                      f"{self.earliest.isoformat()}"))
            return Checked(None, problems)

        warnings: list[str] = []
        try:
            warnings = self.engine.check_case(case, src, on)   # vocabularies and implausible facts
        except InputError as exc:
            problems += [(p.field, _message(p.message, p.suggestion)) for p in exc.problems]
        return Checked(None if problems else case, problems, warnings)

    # ------------------------------------------------------------------------------------ evaluation
    def advise(self, case: cf.CaseFile, warnings: list[str], alternatives: bool = True) -> dict[str, Any]:
        """The result document as `collateral advise --format json` writes it (coverage warnings, flag ids, seal)."""
        from engine.review.seal import seal
        from engine.review.workflow import assign_flag_ids

        result: dict[str, Any] = self.engine.advise(case, None, alternatives=alternatives)
        on = dt.date.fromisoformat(result["as_of"])
        used = {p["id"] for p in result["packs"]}
        first = coverage_warnings([p for p in self.packset.packs if p.id in used], on) + warnings
        result["warnings"] = first + [w for w in result["warnings"] if w not in first]
        assign_flag_ids(result, case, self.engine.catalogs)
        seal(result, case, {"alternatives": alternatives, **SEAL_INPUTS})
        return result

    def evaluate(self, name: str, alternatives: bool = True) -> Evaluated:
        """The case file NAME checked and evaluated; cached by the file's content."""
        disk = self.workspace.read(name)
        key = (name, alternatives)
        with self._lock:
            hit = self._cache.get(key)
            # the same file on the same day (a case without as_of applies today's law)
            if hit is not None and hit.disk.digest == disk.digest and hit.day == dt.date.today():
                self._cache.move_to_end(key)
                return hit
        if disk.src is None:
            assert disk.error is not None
            ev = Evaluated(disk, Checked(None, [(p.field, _message(p.message, p.suggestion)) for p in disk.error.problems]))
        else:
            checked = self.check(disk.src.data, str(disk.path.name))
            ev = Evaluated(disk, checked)
            if checked.case is not None:
                try:
                    ev.result = self.advise(checked.case, checked.warnings, alternatives)
                except CompileError as exc:
                    checked.problems = [("", f"rule packs: {p.message}") for p in exc.problems]
        with self._lock:
            self._cache[key] = ev
            while len(self._cache) > 64:
                self._cache.popitem(last=False)
        return ev

    # ------------------------------------------------------------------------------------ statutes
    def statute_search(self, jurisdiction: str, text: str, on: Optional[dt.date] = None, limit: int = 12) -> dict[str, Any]:
        """Catalog entries for what the attorney typed: a citation in any usual form, or words of the title."""
        juris = (jurisdiction or "").strip().upper()
        cats = self.engine.catalogs
        if juris not in cats.by_jurisdiction:
            return {"jurisdiction": juris, "results": [], "nearest": [],
                    "message": f"no offense catalog for {juris or 'this jurisdiction'}" + (
                        f"; catalogs: {', '.join(sorted(cats.by_jurisdiction))}" if juris else "")}
        text = text.strip()[:200]
        on = on or dt.date.today()
        found = cats.find(juris, text) if text else None
        entries = cats.search(juris, text) if text else []
        results = [self.entry_summary(e, on, found[1] if found and found[0] is e else None, exact=bool(found and found[0] is e))
                   for e in entries[:limit]]
        nearest = cats.suggest(juris, text) if text and not entries else []
        return {"jurisdiction": juris, "results": results, "more": max(0, len(entries) - limit), "nearest": nearest}

    def entry_summary(self, e: CatalogEntry, on: dt.date, prong: Optional[str] = None, exact: bool = False) -> dict[str, Any]:
        mx = max_days_on(e.max_days, on)
        return {"statute": e.statute, "title": e.title or "", "citation": e.citation, "class": e.class_ or "",
                "max_days": mx, "maximum": _days(mx), "cimt": e.cimt, "divisible": e.divisible, "prong": prong,
                "certainty": e.certainty or "clear", "exact": exact, "detail": describe_entry(e, on, prong)}

    def statute_info(self, jurisdiction: str, statute: str, on: dt.date) -> Optional[dict[str, Any]]:
        """How the catalog reads a count's statute, for the intake form (None when nothing is typed)."""
        if not statute.strip():
            return None
        juris = (jurisdiction or "").strip().upper()
        cats = self.engine.catalogs
        if juris not in cats.by_jurisdiction:
            return {"found": False, "jurisdiction": juris, "nearest": [],
                    "message": f"No offense catalog for {juris or 'the jurisdiction (not given yet)'}: give the statute's "
                               "elements below."}
        found = cats.find(juris, statute)
        if found is None:
            return {"found": False, "jurisdiction": juris, "nearest": cats.suggest(juris, statute),
                    "message": f"Not in the {juris} offense catalog: give its elements below, or name a catalog statute."}
        return {"found": True, **self.entry_summary(found[0], on, found[1], exact=True)}

    # ------------------------------------------------------------------------------------ the interview
    def open_questions(self, data: dict[str, Any], skipped: set[str]) -> list[Question]:
        """The decisive questions still open for the case (most serious first), as `collateral interview` asks
        them; with the licenses unknown, a license question comes with its other half."""
        case = cf.CaseFile.model_validate(data)
        result = self.engine.advise(case)
        codes = sorted(self.licenses)
        pending = [q for q in open_questions(result, codes) if q.key not in skipped]
        if (data.get("client") or {}).get("licenses") is None:
            keys = {q.generic for q in pending if q.field == "client.licenses"}
            for q in [q for q in pending if q.field == "client.licenses"]:
                other = LICENSE_KEYS[1] if q.generic == LICENSE_KEYS[0] else LICENSE_KEYS[0]
                if other not in keys:
                    keys.add(other)
                    ask = self.questions.get(other, other)
                    pending.insert(pending.index(q) + 1, Question(other, q.option, other, q.field, ask, q.stakes, [],
                                                                  q.choices, "tags", other))
        return pending

    def answer_problem(self, data: dict[str, Any]) -> Optional[str]:
        """Why the case file with an answer written into it is not valid (the interview's check)."""
        checked = self.check(data, "answer")
        if checked.case is not None:
            return None
        return "; ".join(f"{p}: {m}" if p else m for p, m in checked.problems)

    def apply_answers(self, data: dict[str, Any], pending: list[Question], answers: dict[str, str]
                      ) -> tuple[dict[str, Any], dict[str, str], list[str]]:
        """(the case file with the valid answers written, errors by question key, keys left unanswered). An empty
        answer leaves the fact unknown."""
        errors: dict[str, str] = {}
        skipped: list[str] = []
        out = copy.deepcopy(data)
        lic_unknown = (out.get("client") or {}).get("licenses") is None
        pair = [q for q in pending if q.field == "client.licenses"] if lic_unknown else []
        for q in pending:
            if q in pair:
                continue
            out = self._answer(out, q, answers.get(q.key, ""), errors, skipped)
        if pair:
            given = [q for q in pair if answers.get(q.key, "").strip()]
            if not given:
                skipped += [q.key for q in pair]
            elif len(given) < len(pair):
                for q in pair:
                    if q not in given:
                        errors[q.key] = ("held and applied-for licenses are recorded together: answer this too (“None” if "
                                         "none), or leave both unknown")
            else:
                staged = out
                for q in pair:
                    staged = self._answer(staged, q, answers[q.key], errors, skipped, check=q is pair[-1])
                if not any(q.key in errors for q in pair):
                    out = staged
        return out, errors, skipped

    def _answer(self, data: dict[str, Any], q: Question, text: str, errors: dict[str, str], skipped: list[str],
                check: bool = True) -> dict[str, Any]:
        try:
            value = parse_answer(q, text)
        except BadAnswer as exc:
            errors[q.key] = str(exc)
            return data
        if value is None:
            skipped.append(q.key)
            return data
        new = apply_answer(data, q, value)
        problem = self.answer_problem(new) if check else None
        if problem:
            errors[q.key] = f"not accepted: {problem}"
            return data
        return new

    # ------------------------------------------------------------------------------------ counter-offers
    def counter_option(self, data: dict[str, Any], result: dict[str, Any], option_id: str, index: int) -> dict[str, Any]:
        """The case file with the counter-offer INDEX of OPTION_ID added as a new option: the option's counts with
        the change the counter-offer search verified (engine/explain/strategy.py), a new statute taking its own catalog
        attributes and its maximum capping the term."""
        opt = next((o for o in result["options"] if o["id"] == option_id), None)
        if opt is None or not 0 <= index < len(opt.get("alternatives") or []):
            raise LookupError("no such counter-offer")
        alt = opt["alternatives"][index]
        out = copy.deepcopy(data)
        source = next((o for o in out.get("options") or [] if isinstance(o, dict) and str(o.get("id")) == option_id), None)
        if source is None:
            raise LookupError("no such option")
        new = copy.deepcopy(source)
        on = dt.date.fromisoformat(result["as_of"])
        for key, value in (alt.get("patch") or {}).items():
            m = re.fullmatch(r"counts\[(\d+)\]\.(.+)", key)
            if m is None or int(m.group(1)) >= len(new.get("counts") or []):
                raise LookupError(f"cannot apply {key}")
            count = new["counts"][int(m.group(1))]
            where = m.group(2)
            sentence = count.get("sentence") if isinstance(count.get("sentence"), dict) else None
            if where == "offense.statute":
                juris = (count.get("offense") or {}).get("jurisdiction")
                count["offense"] = {"statute": value, **({"jurisdiction": juris} if juris else {})}
                entry = self.engine.catalogs.lookup(juris or str(out.get("jurisdiction")), str(value))
                cap = max_days_on(entry.max_days, on) if entry is not None else None
                if cap is not None and sentence is not None and isinstance(sentence.get("custody_days"), int) \
                        and sentence["custody_days"] > cap:
                    sentence["custody_days"] = cap
            else:
                fm._set(count, where, value)
                sentence = count.get("sentence") if isinstance(count.get("sentence"), dict) else None
            if sentence is not None and isinstance(sentence.get("custody_days"), int) \
                    and isinstance(sentence.get("suspended_days"), int) and sentence["suspended_days"] > sentence["custody_days"]:
                sentence["suspended_days"] = sentence["custody_days"]
        ids = {str(o.get("id")) for o in out["options"] if isinstance(o, dict)}
        n = 1
        while f"{option_id}-counter{n}" in ids:
            n += 1
        new["id"] = f"{option_id}-counter{n}"
        new["label"] = f"Counter-offer to {option_id}: {alt['change']}"[:300]
        out["options"].append(new)
        return out


def _days(n: Optional[int]) -> str:
    if n is None:
        return "not given"
    if n >= 365 and n % 365 == 0:
        return f"{n // 365} year{'s' if n // 365 > 1 else ''}"
    return f"{n} days"
