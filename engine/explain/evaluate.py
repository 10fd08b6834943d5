"""Evaluate a case: for every plea option, build the facts, run the compiled rules, and assemble cited
findings with their chains, the questions that would decide the `possible` ones, and the comparison."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Optional, Protocol

from engine import __version__
from engine.compile.compiler import APPLICANT, CompileError, CRule, Program, applicable_packs, certainty_max, compile_program
from engine.compile.expr import evaluate as eval_expr
from engine.compile.expr import facts_of
from engine.compile.expr import show as show_expr
from engine.compile.facts import FACTS, CountFacts, build, count_path
from engine.law.catalog import CERTAINTY_ORDER, Catalogs, described_entry
from engine.law.packs import EARLIEST_CASE_DATE, SEVERITY_ORDER, PackSet
from engine.model import casefile as cf
from engine.model.errors import EngineError, InputError, Problem
from engine.model.yamlsrc import Located
from engine.run.runtime import (
    APPLIES,
    POSSIBLE,
    Activation,
    Fact,
    Firing,
    Trace,
    activations,
    disjunct_paths,
    encode,
    firing_key,
    tri,
)

DOMAIN_ORDER = ("immigration", "employment", "licensing", "fines", "firearms", "voting", "jury", "housing", "benefits",
                "driving", "registration", "education", "family", "relief")


class Runner(Protocol):
    name: str

    def run(self, opt: Fact, cnts: list[Fact], acts: Optional[list[Activation]] = None) -> set[Firing]: ...


FIRINGS_KEPT = 128   # evaluations whose firings an Engine keeps in memory (never on disk) for reuse


@dataclass
class OptionRun:
    program: Program
    opt_values: dict[str, Any]
    counts: list[CountFacts]
    opt_fact: Fact
    cnt_facts: list[Fact]
    firings: set[Firing]


class Engine:
    def __init__(self, packset: PackSet, evaluator: str = "durable") -> None:
        if packset.problems:
            raise CompileError(packset.problems)
        self.packset = packset
        self.evaluator = evaluator
        self.catalogs = Catalogs()
        for p in packset.packs:
            if p.manifest.domain == "offenses":
                self.catalogs.add(p.manifest.jurisdiction, p.id, p.catalog, p.catalog_codes)
        self.vocab_tags = set((packset.vocabulary.get("elements") or {}).keys())
        self.catalogs.force_elements = frozenset(packset.vocabulary.get("force_elements") or [])
        self.license_tags = set((packset.vocabulary.get("licenses") or {}).keys())
        self._programs: dict[tuple[str, Optional[int], dt.date], Program] = {}
        self._runners: dict[str, Runner] = {}
        # firings by what they depend on (runtime.firing_key): a prong alternative or a counter-offer that
        # activates the same rules as an evaluation already run is not run again (most prong alternatives of a
        # divisible statute differ from the statute as a whole only in facts no rule of the program reads)
        self._firings: OrderedDict[tuple[Any, ...], frozenset[Firing]] = OrderedDict()
        self._firings_lock = threading.Lock()

    def program(self, jurisdiction: str, circuit: Optional[int], on: dt.date) -> Program:
        key = (jurisdiction, circuit, on)
        prog = self._programs.get(key)
        if prog is None:
            prog = compile_program(applicable_packs(self.packset.packs, jurisdiction), on, circuit, self.vocab_tags,
                                   license_tags=self.license_tags)
            self._programs[key] = prog
        return prog

    def runner(self, program: Program) -> Runner:
        r = self._runners.get(program.digest)
        if r is None or getattr(r, "handle", True) is None:   # a durable session discarded after a failure
            if self.evaluator == "plain":
                from engine.run.plain import PlainRunner
                r = PlainRunner(program)
            else:
                from engine.run.durable_engine import DurableRunner
                r = DurableRunner(program)
            self._runners[program.digest] = r
        return r

    def run_option(self, case: cf.CaseFile, option: cf.Option, as_of: dt.date, circuit: Optional[int]) -> OptionRun:
        program = self.program(case.jurisdiction, circuit, as_of)
        opt_values, counts = build(case, option, as_of, circuit, self.catalogs)
        for d in program.derived:   # pack-defined facts, computed in declaration order
            if d.spec.scope == "opt":
                v = eval_expr(d.expr, opt_values, [c.values for c in counts])
                if v is not None:
                    opt_values[d.spec.path] = float(v) if d.spec.type == "number" else int(v)
            else:
                for c in counts:
                    v = eval_expr(d.expr, {**opt_values, **c.values})
                    if v is not None:
                        c.values[d.spec.path] = float(v) if d.spec.type == "number" else int(v)
        opt_fact = encode(program, "opt", opt_values)
        cnt_facts = []
        for c in counts:
            f = encode(program, "cnt", c.values, opt_values)
            f["cid"] = c.cid
            cnt_facts.append(f)
        return OptionRun(program, opt_values, counts, opt_fact, cnt_facts, self._fire(program, opt_fact, cnt_facts))

    def _fire(self, program: Program, opt_fact: Fact, cnt_facts: list[Fact]) -> set[Firing]:
        acts = activations(program, opt_fact, cnt_facts)
        key = firing_key(program, acts, cnt_facts)
        with self._firings_lock:
            kept = self._firings.get(key)
            if kept is not None:
                self._firings.move_to_end(key)
                return set(kept)
        firings = self.runner(program).run(opt_fact, cnt_facts, acts)
        with self._firings_lock:
            self._firings[key] = frozenset(firings)
            while len(self._firings) > FIRINGS_KEPT:
                self._firings.popitem(last=False)
        return firings

    # ---------------------------------------------------------------- the whole case
    def _option(self, case: cf.CaseFile, option: cf.Option, on: dt.date, circuit: Optional[int]) -> tuple[dict[str, Any], OptionRun]:
        run = self.run_option(case, option, on, circuit)
        findings, applicant_view = split_views(assemble(run, option.id))
        return {
            "id": option.id,
            "label": option.label or option.id,
            "counts": [count_summary(c) for c in run.counts if not c.cid.startswith("h")],
            "findings": findings,
            "questions": questions(findings, self.packset.questions),
            "counsel_questions": questions(findings, self.packset.questions, "counsel"),
            "record_instructions": record_instructions(run, option.id, findings, self.packset.record_labels),
            "financial": financial(findings, run.opt_values),
            "alternatives": [],
            "applicant_view": applicant_view,
        }, run

    def check_case(self, case: cf.CaseFile, src: Located, on: dt.date) -> list[str]:
        """What a case file must pass before it is evaluated on `on`: a date the packs are checked from, the closed
        vocabularies (element tags, license types, prongs) with the nearest valid name, and implausible facts.
        Raises InputError (file, line, field) for errors; returns the warnings for the memo's first lines."""
        if on < EARLIEST_CASE_DATE:
            raise InputError("case file", [Problem(src.file, src.line(("as_of",)), "as_of", f"the law cannot be applied as of "
                                                   f"{on.isoformat()} (as_of or --as-of): the rule packs are checked from "
                                                   f"{EARLIEST_CASE_DATE.isoformat()}")])

        def prongs_of(juris: str, statute: str) -> Optional[list[str]]:
            entry = self.catalogs.lookup(juris, statute)
            return [p.id for p in entry.prongs] if entry is not None and entry.divisible and entry.prongs else None

        problems = cf.check_vocabulary(case, src, self.vocab_tags, self.license_tags, prongs_of)
        errors, warnings = cf.plausibility(case, src, on)
        if problems or errors:
            raise InputError("case file", problems + errors)
        return warnings

    def unresolved_statutes(self, case: cf.CaseFile) -> list[tuple[tuple[Any, ...], str, str]]:
        """Counts whose statute no catalog resolves and whose offense gives no elements to analyse it from:
        (location in the case file, message, nearest catalog keys). Such a count cannot be classified at all,
        so it is an input error (docs/case-file.md), not a memo of `possible` findings."""
        out: list[tuple[tuple[Any, ...], str, str]] = []
        places: list[tuple[tuple[Any, ...], cf.Count]] = [
            (("options", i, "counts", j, "offense", "statute"), c) for i, o in enumerate(case.options) for j, c in enumerate(o.counts)]
        places += [(("history", i, "offense", "statute"), c) for i, c in enumerate(case.history)]
        for loc, count in places:
            off = count.offense
            juris = off.jurisdiction or case.jurisdiction
            if off.elements is not None or self.catalogs.find(juris, off.statute) is not None:
                continue
            near = self.catalogs.suggest(juris, off.statute)
            if juris in self.catalogs.by_jurisdiction:
                msg = (f"'{off.statute}' is not in the {juris} offense catalog"
                       + (f" (nearest: {', '.join(near)})" if near else "")
                       + "; name a catalog statute (`collateral statutes " + juris + "`) or give the offense's elements")
            else:
                msg = (f"there is no offense catalog for {juris}: give the elements of '{off.statute}' "
                       "(offense.elements, mens_rea, force, class, max_days; docs/case-file.md)")
            out.append((loc, msg, near[0] if near else ""))
        return out

    def sentence_exposure(self, case: cf.CaseFile, option: cf.Option, run: OptionRun, on: dt.date) -> dict[str, Any]:
        """What the option means in custody: each count's statutory maximum, the term imposed and suspended, the
        time expected to be served after the credits the jurisdiction's sentencing pack gives (dated, cited
        parameters: `served_share_misdemeanor`, `served_share_felony`, `credit_min_term_days`), probation, and
        the totals, consecutive or concurrent as the option says (unknown: added up, the worst case)."""
        juris = case.jurisdiction
        pack = next((p for p in self.packset.packs if p.manifest.domain == "sentencing" and p.manifest.jurisdiction == juris), None)

        def param(name: str) -> tuple[Optional[float], str]:
            if pack is None or name not in pack.parameters:
                return None, ""
            try:
                value = pack.param_on(name, on)
            except KeyError:
                return None, ""
            cite = next((v.cite for v in pack.parameters[name].values
                         if v.from_ <= on and (v.to is None or on < v.to)), "")
            return float(value), cite

        counts: list[dict[str, Any]] = []
        missing: list[str] = []
        notes: list[str] = []
        for c in run.counts:
            if c.cid.startswith("h"):
                continue
            v = c.values
            path = count_path(c.cid, "count.")[:-1]
            imposed, suspended = v.get("count.sentence.custody_days"), v.get("count.sentence.suspended_days")
            confined = v.get("count.sentence.confined_days")
            cls = v.get("count.offense.class")
            if cls in ("felony", "misdemeanor"):
                share, cite = param(f"served_share_{cls}")
            else:   # a wobbler or an unknown class: determinate only where both classes earn the same credit
                (fs, fc), (ms, _) = param("served_share_felony"), param("served_share_misdemeanor")
                share, cite = (fs, fc) if fs is not None and fs == ms else (None, "")
            floor, _ = param("credit_min_term_days")
            expected = None
            if confined is not None and share is not None:
                credited = share if floor is None or (imposed or 0) >= floor else 1.0
                expected = int(Decimal(str(confined * credited)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
            if confined is None:
                missing.append(f"{path}.sentence.custody_days")
            elif share is None:
                missing.append(f"{path}.offense.class" if cls not in ("felony", "misdemeanor") else "")
            least = v.get("count.offense.min_days")
            if least and imposed is not None and imposed < least:
                notes.append(f"Count {len(counts) + 1} ({c.offense.statute}): the term in the offer ({imposed} days) is below the "
                             f"mandatory minimum of {least} days: a court cannot impose it unless a statutory exception "
                             "applies; check the offer.")
            counts.append({"ref": path, "statute": c.offense.statute, "max_days": v.get("count.offense.max_days"),
                           "min_days": least or 0, "min_consecutive": bool(v.get("count.offense.min_consecutive")),
                           "imposed_days": imposed, "suspended_days": suspended, "confined_days": confined,
                           "expected_days": expected, "credit_cite": cite if expected is not None else "",
                           "probation_months": v.get("count.sentence.probation_months")})
        if pack is None:
            notes.append(f"No {juris} sentencing pack: the time expected to be served after credits is not computed.")

        def total(key: str) -> Optional[int]:
            vals: list[Optional[int]] = [c[key] for c in counts]
            known = [x for x in vals if x is not None]
            if len(known) != len(vals):
                return None
            return (max(known) if option.consecutive is False else sum(known)) if known else 0
        if option.consecutive is None and len(counts) > 1:
            notes.append("Whether the terms run consecutively is not stated: the totals add them up (the worst case).")
        # the least term the law allows: minimums the law makes consecutive always add up; the others run together
        # when the option says the terms are concurrent
        apart = [c["min_days"] for c in counts if c["min_consecutive"]]
        together = [c["min_days"] for c in counts if not c["min_consecutive"]]
        least_total = sum(apart) + (max(together, default=0) if option.consecutive is False else sum(together))
        return {"counts": counts, "max_days": total("max_days"), "min_days": least_total, "imposed_days": total("imposed_days"),
                "confined_days": total("confined_days"), "expected_days": total("expected_days"),
                "probation_months": max((c["probation_months"] or 0 for c in counts), default=0),
                "consecutive": option.consecutive, "missing": sorted(m for m in set(missing) if m), "notes": notes}

    def prong_risks(self, case: cf.CaseFile, option: cf.Option, on: dt.date, circuit: Optional[int],
                    result: dict[str, Any]) -> list[dict[str, Any]]:
        """For each count under a divisible statute whose prong the plea does not name: what each alternative
        would add if the record of conviction named it. Removability is judged on the least culpable prong (the
        government's burden), but relief is not (the applicant's: Pereida v. Wilkinson, 592 U.S. 224 (2021)),
        and the plea record can still name a worse prong. So which prong the plea names is counsel's record
        instruction, with what is at stake."""
        out: list[dict[str, Any]] = []
        base = {f["code"]: f for f in result["findings"] if f["status"] == "applies"}
        pereida: dict[str, dict[str, Any]] = {}
        for i, count in enumerate(option.counts):
            if self.catalogs.named_prong(count.offense, case.jurisdiction, count.record.substance) is not None:
                continue   # the plea names the alternative: in the case file, the citation or the record's substance
            entry = (self.catalogs.lookup(count.offense.jurisdiction or case.jurisdiction, count.offense.statute)
                     or described_entry(count.offense))
            if entry is None or not entry.divisible or len(entry.prongs) < 2:
                continue
            alternatives = []
            for prong in entry.prongs:
                counts = list(option.counts)
                counts[i] = count.model_copy(update={"offense": count.offense.model_copy(update={"prong": prong.id})})
                alt = option.model_copy(update={"counts": counts})
                run = self.run_option(case, alt, on, circuit)
                # what this prong adds, from the firings alone; the findings are assembled only when a bar the
                # applicant cannot disprove has to be reported in full
                rules = {r.produces: r for r in run.program.rules if not r.produces.endswith(APPLICANT)}
                added = {run.program.rules[f.rule].produces for f in run.firings if f.mode == APPLIES} - set(base)
                added = {c for c in added if c in rules and rules[c].then.kind != "relief"}
                if not added:
                    alternatives.append({"prong": prong.id, "title": prong.title or prong.id, "adds": [], "titles": [],
                                         "worst": "none"})
                    continue
                found, _view = split_views(assemble(run, option.id))
                adds = [f for f in found if f["status"] == "applies" and f["code"] in added]
                for f in adds:
                    if f["burden"] == "applicant" and f["id"] not in pereida:
                        pereida[f["id"]] = _pereida(f, i, entry.statute, prong.id)
                alternatives.append({"prong": prong.id, "title": prong.title or prong.id,
                                     "adds": [f["code"] for f in adds], "titles": [f["title"] for f in adds],
                                     "worst": max((f["severity"] for f in adds), key=SEVERITY_ORDER.index, default="none")})
            if any(a["adds"] for a in alternatives):
                safe = [a["prong"] for a in alternatives if not a["adds"]]
                out.append({"count": i, "statute": entry.statute, "fact": f"counts[{i}].offense.prong",
                            "safe_prongs": safe, "alternatives": alternatives})
        if pereida:   # bars the applicant cannot disprove while the record leaves the prong open
            known = {f["id"] for f in result["findings"]}
            result["findings"].extend(f for fid, f in sorted(pereida.items()) if fid not in known)
            result["findings"].sort(key=_finding_order)
        return out

    def evaluate_option(self, case: cf.CaseFile, option: cf.Option, on: dt.date, circuit: Optional[int]) -> dict[str, Any]:
        """One option's findings, questions and money, as in the result document."""
        return self._option(case, option, on, circuit)[0]

    def applying(self, case: cf.CaseFile, option: cf.Option, on: dt.date, circuit: Optional[int]) -> dict[str, dict[str, Any]]:
        """The codes that apply to an option, each with the kind, severity and title its finding would show:
        `{f["code"]: f for f in evaluate_option(...)["findings"] if f["status"] == "applies"}` read from the firings
        alone, without assembling chains, questions or money (the counter-offer search needs nothing else).

        A finding applies when one of its firings does; it is presented by the first of those rules by id
        (_propagate), and of the findings of one code the last in the result's order wins (as in that dict)."""
        run = self.run_option(case, option, on, circuit)
        rules = run.program.rules
        first: dict[tuple[str, str], CRule] = {}
        for f in run.firings:
            rule = rules[f.rule]
            if f.mode != APPLIES or rule.produces.endswith(APPLICANT):
                continue
            key = (rule.produces, f.cid)
            if key not in first or rule.id < first[key].id:
                first[key] = rule
        shown = sorted(({"id": _finding_id(option.id, code, cid), "code": code, "domain": r.then.domain, "status": "applies",
                         "severity": r.then.severity, "kind": r.then.kind, "title": r.then.title}
                        for (code, cid), r in first.items()), key=_finding_order)
        return {f["code"]: f for f in shown}

    def advise(self, case: cf.CaseFile, as_of: Optional[dt.date] = None, alternatives: bool = False) -> dict[str, Any]:
        on = as_of or case.as_of or dt.date.today()
        circuit = case.circuit or cf.default_circuit(case.jurisdiction)
        warnings: list[str] = []
        if case.jurisdiction != "US" and not any(p.manifest.jurisdiction == case.jurisdiction and p.manifest.domain != "offenses"
                                                 for p in self.packset.packs):
            warnings.append(f"No {case.jurisdiction} consequence packs (fines, licensing, civil); only federal rules were applied"
                            " to the state's consequences.")
        if circuit is None:
            warnings.append("No federal circuit given or derivable from the jurisdiction; circuit-specific rules were not applied.")
        options = []
        used_packs: set[str] = set()
        offers = list(case.options)
        if case.charges:   # the trial baseline: convicted as charged, the sentence open up to each maximum
            offers.append(cf.Option(id="trial", label="Trial: convicted as charged (sentence up to each count's maximum)",
                                    counts=[c.model_copy(update={"sentence": cf.Sentence(), "disposition": c.disposition or "conviction",
                                                                 "plea": "trial"}) for c in case.charges]))
        for option in offers:
            result, run = self._option(case, option, on, circuit)
            result["sentence_exposure"] = self.sentence_exposure(case, option, run, on)
            result["prong_risks"] = self.prong_risks(case, option, on, circuit, result)
            for risk in result["prong_risks"]:
                worst = max((a["worst"] for a in risk["alternatives"] if a["adds"]), key=SEVERITY_ORDER.index)
                result["counsel_questions"].insert(0, {
                    "fact": risk["fact"], "kind": "record", "stakes": worst,
                    "ask": f"Which alternative of {risk['statute']} will the plea and the record name? "
                           f"(count {risk['count'] + 1}; safe: {', '.join(risk['safe_prongs']) or 'none'})",
                    "why": sorted({c for a in risk["alternatives"] for c in a["adds"]})})
            for c in run.counts:
                for w in c.offense.warnings:
                    if w not in warnings:
                        warnings.append(w)
                if c.offense.entry is not None:
                    used_packs.add(self.catalogs.packs[c.offense.jurisdiction])
            used_packs.update(r.pack for r in run.program.rules)
            options.append(result)
        if alternatives:
            from engine.explain.strategy import alternatives as find_alternatives
            offered = {o.id for o in case.options}
            for o in options:   # counter-offers are for the offers on the table, not the trial baseline
                if o["id"] in offered:
                    o["alternatives"] = find_alternatives(self, case, o, on, circuit)
        for p in applicable_packs(self.packset.packs, case.jurisdiction):
            used_packs.add(p.id)
        return {
            "format": 1,
            "case_id": case.case_id or "",
            "as_of": on.isoformat(),
            "jurisdiction": case.jurisdiction,
            "circuit": circuit,
            "engine": {"version": __version__, "evaluator": self.evaluator if self.evaluator == "plain" else "durable_rules"},
            "packs": [{"id": p.id, "version": p.manifest.version, "current_through": p.manifest.current_through.isoformat(),
                       "digest": p.digest} for p in sorted(self.packset.packs, key=lambda p: p.id) if p.id in used_packs],
            "client": client_summary(case),
            "history": [count_summary(c) for c in (run.counts if case.options else []) if c.cid.startswith("h")],
            "options": options,
            "comparison": compare(options, case.client.priorities),
            "review": self._review_status(options),
            "warnings": warnings,
        }

    def _review_status(self, options: list[dict[str, Any]]) -> dict[str, int]:
        """How many of the rules behind the findings (applies or possible) a practitioner has reviewed
        (`status: reviewed` with reviewer and date); the memo says how many are still drafts."""
        status = {lr.rule.id: lr.rule.status for p in self.packset.packs for lr in p.rules}
        used = sorted({r for o in options for f in o["findings"] if f["status"] in ("applies", "possible")
                       for r in f.get("rules") or [f["rule"]]})
        reviewed = sum(1 for r in used if status.get(r) == "reviewed")
        return {"rules": len(used), "reviewed": reviewed, "unreviewed": len(used) - reviewed}


def client_summary(case: cf.CaseFile) -> dict[str, Any]:
    c = case.client
    im = c.immigration
    return {
        "name": c.name or "",
        "immigration_status": im.status or "unknown",
        "goals": list(im.goals or []),
        "priorities": list(c.priorities),
        "occupation": c.employment.occupation or "",
        "licenses": [f"{x.type} ({x.status})" for x in (c.licenses or [])],
        "benefits": list(c.benefits or []),
    }


def count_summary(c: CountFacts) -> dict[str, Any]:
    v = c.values
    return {
        "ref": count_path(c.cid, "count.")[:-1],
        "statute": c.offense.statute,
        "jurisdiction": c.offense.jurisdiction,
        "title": c.offense.title,
        "citation": c.offense.citation,
        "in_catalog": c.offense.entry is not None,
        "disposition": v.get("count.disposition", "unknown"),
        "custody_days": v.get("count.sentence.custody_days"),
        "suspended_days": v.get("count.sentence.suspended_days"),
    }


def _display(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return list(v)
    return v


def _finding_id(option_id: str, code: str, cid: str) -> str:
    return f"{option_id}/{code}" if cid == "*" else f"{option_id}/{code}@{cid}"


@dataclass
class Chain:
    """What propagation decides for one finding: its status from its firings, the certainty and unknowns it
    inherits from the findings it rests on, the silent-record facts its burden resolved, and the facts read."""
    status: str                      # applies | possible
    certainty: str
    rules: list[CRule]
    cid: str                         # the count id ("*": option level)
    # ordered sets (dicts with no values): a finding of an option of many counts rests on hundreds of others
    because: dict[str, None] = field(default_factory=dict)
    missing: dict[str, None] = field(default_factory=dict)
    silent: dict[str, None] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)


def _add(xs: dict[str, None], new: Any) -> None:
    xs.update(dict.fromkeys(new))


def _add_list(xs: list[str], new: Any) -> None:
    xs.extend(x for x in new if x not in xs)


def _named(prog: Program, cid: str, path: str) -> str:
    """A fact as explanations name it: counts[0].record.substance for a count fact, the path otherwise."""
    return count_path(cid, path) if prog.facts[path].scope == "cnt" else path


def _groups(run: OptionRun, option_id: str) -> list[tuple[str, list[Firing]]]:
    """Firings by finding id, in dependency order (stratum and level of the rules), so that every finding is
    assembled after the findings it rests on."""
    prog = run.program
    groups: dict[str, list[Firing]] = {}
    for f in run.firings:
        groups.setdefault(_finding_id(option_id, prog.rules[f.rule].produces, f.cid), []).append(f)
    order = sorted(groups, key=lambda fid: (max((prog.rules[f.rule].stratum, prog.rules[f.rule].level) for f in groups[fid]), fid))
    return [(fid, groups[fid]) for fid in order]


def _propagate(run: OptionRun, option_id: str, firings: list[Firing], done: dict[str, dict[str, Any]],
               derived_sources: dict[str, list[str]], by_code: dict[str, list[dict[str, Any]]],
               index: tuple[dict[str, Any], dict[str, Fact]]) -> Chain:
    """Status, certainty, chain and unknowns of one finding from its firings and the findings they read.
    `by_code` indexes `done` by code (in the order the findings were assembled); `index` the option's counts and
    their engine facts by count id."""
    prog = run.program
    mode = APPLIES if any(f.mode == APPLIES for f in firings) else POSSIBLE
    chosen = sorted((f for f in firings if f.mode == mode), key=lambda f: (prog.rules[f.rule].id, f.disjunct, f.refs))
    rules = sorted({prog.rules[f.rule].id: prog.rules[f.rule] for f in chosen}.values(), key=lambda r: r.id)
    chain = Chain("applies" if mode == APPLIES else "possible", "", rules, chosen[0].cid)
    cnt_by_id, fact_by_id = index
    best: Optional[str] = None
    for f in chosen:
        r = prog.rules[f.rule]
        d = r.disjuncts[f.disjunct]
        cnt = cnt_by_id.get(f.cid)
        cert = r.certainty
        # a catalog entry's certainty is about the immigration classification of the statute: it qualifies
        # the immigration findings that read the contested attributes, not a fine or a license rule
        if r.reads_offense and r.then.domain == "immigration" and cnt is not None and cnt.values.get("count.offense.certainty"):
            cert = certainty_max(cert, cnt.values["count.offense.certainty"])
        deps = [_finding_id(option_id, ref.code, ref.cid) for ref in f.refs]
        for ref in d.refs:   # read through a summary (negation, counting): name the findings it counted
            if ref.kind in ("neg", "count"):
                deps += [x["id"] for x in by_code.get(ref.code, ())
                         if not ref.same_count or x["id"].endswith(f"@{f.cid}")]
            if ref.kind == "count" and ref.separate and mode == POSSIBLE:
                # how many separate schemes the counts arose from is open for counts committed on the same day
                # (or on an unknown day) with no scheme in the record
                found_on = {x["id"].rsplit("@", 1)[1] for x in by_code.get(ref.code, ()) if "@" in x["id"]}
                with_code = [c for c in run.counts if "count.record.scheme" not in c.values and c.cid in found_on]
                days = [c.values.get("count.committed_on") for c in with_code]
                on_day = Counter(days)
                _add(chain.missing, [count_path(c.cid, "count.record.scheme") for c, day in zip(with_code, days)
                                     if day is None or on_day[day] > 1])
        read = {_finding_id(option_id, ref.code, ref.cid) for ref in f.refs}
        for rid in deps:
            _add(chain.because, [rid])
            dep = done.get(rid)
            if dep is None:
                continue
            if rid in read:   # a finding read positively lends its certainty and its silent-record facts
                _add(chain.silent, dep["silent_record"])
                cert = certainty_max(cert, dep["certainty"])
            if mode == POSSIBLE and dep["status"] == "possible":
                _add(chain.missing, dep["missing_facts"])
        best = cert if best is None else min(best, cert, key=CERTAINTY_ORDER.index)
        known = {**run.opt_values, **(cnt.values if cnt else {})}
        for path in disjunct_paths(prog, f.rule, f.disjunct):
            if path in known:
                chain.facts[count_path(f.cid, path) if prog.facts[path].scope == "cnt" else path] = _display(known[path])
        trace = Trace()
        tri(d.opt, run.opt_fact, trace)
        if cnt is not None:
            tri(d.cnt, fact_by_id[f.cid], trace)
        _add(chain.silent, [_named(prog, f.cid, p) for p in sorted(trace.resolved)])
        if mode == POSSIBLE:
            # a comparison between two facts names both; only the unknown ones are asked, and a derived fact is
            # asked through the facts it is computed from
            _add(chain.missing, [_named(prog, f.cid, p) for p in sorted(_unknown_sources(trace.missing, known, derived_sources))])
    assert best is not None
    chain.certainty = best
    return chain


def _present(run: OptionRun, fid: str, chain: Chain, done: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The finding as the result document gives it (docs/result-format.md)."""
    rule = chain.rules[0]
    then = rule.then
    counts_seen: dict[int, None] = {}
    history_seen: dict[int, None] = {}
    if chain.cid != "*":
        (history_seen if chain.cid.startswith("h") else counts_seen)[int(chain.cid.lstrip("h"))] = None
    else:
        for b in chain.because:
            dep = done.get(b)
            if dep:
                counts_seen.update(dict.fromkeys(dep["counts"]))
                history_seen.update(dict.fromkeys(dep["history"]))
    counts_idx, history_idx = list(counts_seen), list(history_seen)
    amount = arithmetic = None
    if rule.amount is not None:
        cnt = next((c for c in run.counts if c.cid == chain.cid), None)
        vals = {**run.opt_values, **(cnt.values if cnt else {})}
        counts_vals = [c.values for c in run.counts] if chain.cid == "*" else None
        value = eval_expr(rule.amount, vals, counts_vals)
        amount = float(value.quantize(Decimal("0.01"))) if value is not None else None
        arithmetic = show_expr(rule.amount, vals, counts_vals) + (f" = {value:,.2f}" if value is not None else " (unknown)")
    mitigations: list[str] = []
    checklist: list[str] = []
    citations: list[dict[str, Any]] = []
    for r in chain.rules:
        _add_list(mitigations, r.then.mitigations)
        _add_list(checklist, r.then.record_checklist)
        citations.extend(c for c in r.citations if c not in citations)
    return {
        "id": fid,
        "code": rule.produces,
        "kind": then.kind,
        "domain": then.domain,
        "status": chain.status,
        "certainty": chain.certainty,
        "severity": then.severity,
        "mandatory": then.mandatory,
        "duration": then.duration,
        "padilla": padilla_label(then.domain, then.kind, then.mandatory, chain.status == "applies", chain.certainty),
        "title": then.title,
        "summary": then.summary.strip(),
        "explanation": then.explanation.strip(),
        "citations": citations,
        "rule": rule.id,
        "rules": [r.id for r in chain.rules],
        "pack": rule.pack,
        "counts": sorted(counts_idx),
        "history": sorted(history_idx),
        "because": sorted(chain.because),
        "facts": dict(sorted(chain.facts.items())),
        "missing_facts": sorted(chain.missing),
        "burden": rule.burden,
        "silent_record": sorted(chain.silent),
        "mitigations": mitigations,
        "record_checklist": checklist,
        "amount": amount,
        "arithmetic": arithmetic,
        "timeline": then.timeline,
        "audience": then.audience,
    }


def assemble(run: OptionRun, option_id: str) -> list[dict[str, Any]]:
    """Every finding of one option: propagation (status, certainty, unknowns along the chain), then
    presentation, in dependency order."""
    derived_sources = {d.spec.path: facts_of(d.expr) for d in run.program.derived}
    done: dict[str, dict[str, Any]] = {}
    by_code: dict[str, list[dict[str, Any]]] = {}
    index = ({c.cid: c for c in run.counts}, {x["cid"]: x for x in run.cnt_facts})
    for fid, firings in _groups(run, option_id):
        done[fid] = _present(run, fid, _propagate(run, option_id, firings, done, derived_sources, by_code, index), done)
        by_code.setdefault(done[fid]["code"], []).append(done[fid])
    return sorted(done.values(), key=_finding_order)


def _pereida(f: dict[str, Any], count: int, statute: str, prong: str) -> dict[str, Any]:
    """A bar found under one prong of a divisible statute, reported for a record that names no prong."""
    g = dict(f)
    path = f"counts[{count}].offense.prong"
    g["silent_record"] = sorted(set(f["silent_record"]) | {path})
    g["because"] = []
    g["facts"] = {path: f"not named in the record; {statute} alternative '{prong}' carries this bar"}
    g["explanation"] = (f["explanation"] + f" The record does not name which alternative of {statute} the plea rests on; "
                        "for relief the applicant must show the conviction is not for a disqualifying alternative, and an "
                        "ambiguous record does not (Pereida v. Wilkinson, 592 U.S. 224 (2021)).")
    g["citations"] = f["citations"] + [{"cite": "Pereida v. Wilkinson, 592 U.S. 224 (2021)",
                                        "note": "applicant's burden; an ambiguous record under a divisible statute does not carry it"}]
    return g


def _finding_order(x: dict[str, Any]) -> tuple[Any, ...]:
    sev = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    dom = {d: i for i, d in enumerate(DOMAIN_ORDER)}
    return (dom.get(x["domain"], 99), x["status"] != "applies", -sev[x["severity"]], x["id"])


def split_views(findings: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The findings, and the applicant's view of the classifications that relief rules read (compiler.APPLICANT):
    a finding of the second list is what the applicant would have to disprove on this record."""
    own = [f for f in findings if not f["code"].endswith(APPLICANT)]
    view = [f for f in findings if f["code"].endswith(APPLICANT)]
    for f in view:
        f["code"] = f["code"][: -len(APPLICANT)]
        f["view"] = "applicant"
    return own, view


def padilla_label(domain: str, kind: str, mandatory: bool, applies: bool, certainty: str) -> Optional[str]:
    """How to advise an immigration consequence under Padilla v. Kentucky, 559 U.S. 356, 368-69 (2010): `clear`
    (the consequence is truly clear: advise that it will follow) when it applies, is automatic by law and the
    law is clear for this finding; otherwise `risk` (advise that the plea may carry it). Follows from the
    finding's status, certainty and whether the consequence is mandatory, so the labels never contradict."""
    if domain != "immigration" or kind != "consequence":
        return None
    return "clear" if (applies and mandatory and certainty == "clear") else "risk"


def _unknown_sources(paths: set[str], known: dict[str, Any], derived: dict[str, list[str]]) -> set[str]:
    out: set[str] = set()
    for p in paths:
        if p in known:
            continue
        if p in derived:
            out |= _unknown_sources(set(derived[p]), known, derived) or {p}
        else:
            out.add(p)
    return out


def financial(findings: list[dict[str, Any]], opt_values: dict[str, Any]) -> dict[str, Any]:
    """The money an option would cost, item by item: the findings of the fines domain that carry an amount.
    The total adds the items that apply; possible items are listed and totalled apart."""
    items = [{"label": f["title"], "code": f["code"], "amount": f["amount"], "status": f["status"], "counts": f["counts"],
              "cite": "; ".join(c["cite"] for c in f["citations"]), "arithmetic": f["arithmetic"]}
             for f in findings if f["domain"] == "fines" and f["arithmetic"] is not None and f["kind"] == "consequence"]
    total = sum((Decimal(str(i["amount"])) for i in items if i["status"] == "applies" and i["amount"] is not None), Decimal(0))
    possible = sum((Decimal(str(i["amount"])) for i in items if i["status"] == "possible" and i["amount"] is not None), Decimal(0))
    unknown = [i["label"] for i in items if i["amount"] is None]
    income = opt_values.get("client.finances.annual_income")
    line = opt_values.get("client.finances.poverty_line")
    atp = {"income": income, "household_size": opt_values.get("client.finances.household_size"), "poverty_line": line,
           "income_to_poverty": round(income / line, 2) if income is not None and line else None,
           "total_to_income": float(round(total / Decimal(str(income)), 4)) if income else None}
    return {"total": float(total), "possible_additional": float(possible), "unknown_items": unknown,
            "items": items, "ability_to_pay": atp}


@functools.lru_cache(maxsize=4096)
def generic_fact(path: str) -> str:
    """counts[0].record.loss_amount -> count.record.loss_amount (the fact model's path)."""
    if path.startswith(("counts[", "history[")):
        return "count." + path.split("].", 1)[1]
    return path


def _question_for(path: str, texts: dict[str, str]) -> str:
    generic = generic_fact(path)
    return texts.get(generic, f"What is {generic.replace('.', ' ').replace('_', ' ')}?")


@functools.lru_cache(maxsize=4096)
def _fact_kind(path: str) -> str:
    spec = FACTS.get(generic_fact(path))
    kind = spec.kind if spec is not None else "client"
    if path.startswith("history[") and kind in ("plea", "record"):
        return "prior_record"   # what a past judgment says: obtain the certified record
    return kind


COUNSEL_KINDS = {"plea": "negotiation", "record": "record", "classification": "classification",
                 "prior_record": "prior_record"}


def questions(findings: list[dict[str, Any]], texts: dict[str, str], audience: str = "client") -> list[dict[str, Any]]:
    """The unknown facts that decide the `possible` findings, each once with the findings it decides and the
    worst severity among them, worst first. audience `client`: the facts the client knows (the questions to
    ask the client); `counsel`: the plea terms to negotiate, what the record of conviction will say, the
    classification of a statute and the prior record to obtain, each with its `kind`."""
    sev = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    table: dict[str, dict[str, Any]] = {}
    for f in findings:
        if f["status"] != "possible":
            continue
        for m in f["missing_facts"]:
            kind = _fact_kind(m)
            if (kind in COUNSEL_KINDS) != (audience == "counsel"):
                continue
            q = table.setdefault(m, {"fact": m, "ask": _question_for(m, texts), "why": [], "stakes": "info"})
            if audience == "counsel":
                q["kind"] = COUNSEL_KINDS[kind]
            q["why"].append(f["id"])
            if sev[f["severity"]] > sev[q["stakes"]]:
                q["stakes"] = f["severity"]
    for q in table.values():
        if q["fact"].startswith(("counts[", "history[")):
            kind, index = q["fact"].split("]", 1)[0].split("[")
            q["ask"] += f" ({'count' if kind == 'counts' else 'prior conviction'} {int(index) + 1})"   # as the memo numbers them
    return sorted(table.values(), key=lambda q: (-sev[q["stakes"]], -len(q["why"]), q["fact"]))


MONCRIEFFE = "Moncrieffe v. Holder, 569 U.S. 184, 190-91 (2013)"
PEREIDA = "Pereida v. Wilkinson, 592 U.S. 224 (2021)"


def _count_label(path: str) -> str:
    kind, index = path.split("]", 1)[0].split("[")
    return f"{'count' if kind == 'counts' else 'prior conviction'} {int(index) + 1}"


def record_instructions(run: OptionRun, option_id: str, findings: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    """What counsel must keep out of, or put into, the record of conviction, from the burden of proof.

    `keep_silent`: a removability finding the government cannot make because the record does not establish a
    fact (the rule would otherwise be `possible`); it stays unmade only while the record stays silent.
    `establish`: a bar that stands because the applicant cannot show, on a silent record, the fact that would
    lift it."""
    prog = run.program
    fired: dict[tuple[str, str], str] = {}
    for f in run.firings:
        key = (prog.rules[f.rule].produces, f.cid)
        fired[key] = "a" if f.mode == "a" or fired.get(key) == "a" else "p"
    codes_any = {c for c, _ in fired}
    applying_any = {c for (c, _), st in fired.items() if st == "a"}
    cnt_by_id = {x["cid"]: x for x in run.cnt_facts}
    out: dict[tuple[str, str], dict[str, Any]] = {}

    def add(kind: str, path: str, f_title: str, code: str, cite: str) -> None:
        generic = generic_fact(path)
        item = out.setdefault((kind, path), {"kind": kind, "fact": path, "label": labels.get(generic, generic),
                                             "count": _count_label(path), "codes": [], "titles": [], "authority": cite})
        if code not in item["codes"]:
            item["codes"].append(code)
            item["titles"].append(f_title)

    for rule in prog.rules:
        if rule.burden != "government" or rule.id.endswith(APPLICANT):
            continue
        for d in rule.disjuncts:
            targets = ["*"] if rule.scope == "option" else [c.cid for c in run.counts]
            for cid in targets:
                if (rule.produces, cid) in fired:
                    continue
                what_if = Trace(burden=False)
                if tri(d.opt, run.opt_fact, what_if) is False:
                    continue
                cfact = cnt_by_id.get(cid)
                if cfact is not None and tri(d.cnt, cfact, what_if) is False:
                    continue
                if not all(_ref_could_hold(ref, cid, fired, codes_any, applying_any) for ref in d.refs):
                    continue
                record = [p for p in what_if.missing if prog.facts[p].kind == "record"]
                if not record:
                    continue   # the silence of the record is not what keeps this finding away
                for p in sorted(record):
                    add("keep_silent", count_path(cid, p), rule.then.title, rule.produces, MONCRIEFFE)
    for fd in findings:
        if fd["status"] == "applies" and fd["silent_record"] and fd["kind"] != "relief" and (
                fd["burden"] == "applicant" or any(APPLICANT in b for b in fd["because"])):
            for p in fd["silent_record"]:
                add("establish", p, fd["title"], fd["code"], PEREIDA)
    return sorted(out.values(), key=lambda i: (i["kind"], i["fact"]))


def _ref_could_hold(ref: Any, cid: str, fired: dict[tuple[str, str], str], codes_any: set[str],
                    applying_any: set[str]) -> bool:
    if ref.kind == "pos":
        if ref.star:
            return (ref.code, "*") in fired
        return (ref.code, cid) in fired if ref.same_count else ref.code in codes_any
    if ref.kind == "neg":
        key = (ref.code, cid) if ref.same_count else None
        if key is not None:
            return fired.get(key) != "a"
        return ref.code not in applying_any
    return True


UNKNOWN_DAYS = 10**9   # an unknown term ranks after every known one


def _days(v: int) -> str:
    return "unknown" if v == UNKNOWN_DAYS else f"{v} days"


def _sev_label(v: int) -> str:
    return "none" if v < 0 else SEVERITY_ORDER[v]


def compare(options: list[dict[str, Any]], priorities: Sequence[str]) -> dict[str, Any]:
    """Worst consequence per domain and option: `by_domain` counts what applies, `by_domain_possible` what
    turns on unknown facts. Options are ranked by the client's priorities, then the other domains: in each
    domain the worst applying consequence first, then the worst possible one."""
    sev = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    worst: dict[str, dict[str, dict[str, str]]] = {"applies": {}, "possible": {}}
    for o in options:
        for f in o["findings"]:
            if f["kind"] != "consequence":
                continue
            table = worst[f["status"]].setdefault(f["domain"], {})
            cur = table.get(o["id"])
            if cur is None or sev[f["severity"]] > sev[cur]:
                table[o["id"]] = f["severity"]
    domains = sorted(set(worst["applies"]) | set(worst["possible"]),
                     key=lambda d: DOMAIN_ORDER.index(d) if d in DOMAIN_ORDER else 99)
    by_domain = {d: {o["id"]: worst["applies"].get(d, {}).get(o["id"], "none") for o in options} for d in domains}
    by_possible = {d: {o["id"]: worst["possible"].get(d, {}).get(o["id"], "none") for o in options} for d in domains}
    order = list(priorities) + [d for d in DOMAIN_ORDER if d not in priorities]
    # per domain: how many consequences apply at each severity, worst first, then the possible ones
    counts: dict[str, dict[str, tuple[int, ...]]] = {}
    for o in options:
        for status in ("applies", "possible"):
            for d in domains:
                hist = tuple(sum(1 for f in o["findings"] if f["kind"] == "consequence" and f["domain"] == d
                                 and f["status"] == status and f["severity"] == s) for s in reversed(SEVERITY_ORDER))
                counts.setdefault(o["id"], {})[f"{status}:{d}"] = hist

    def key(o: dict[str, Any]) -> tuple[Any, ...]:
        """Lower is better: in priority order, the worst applying consequence, how many there are at each
        severity, then the same for the possible ones."""
        out: list[Any] = []
        for d in order:
            if d == "custody":   # expected time served, then the term, then the exposure (never a finding domain)
                exp = o.get("sentence_exposure") or {}
                served = exp.get("expected_days") if exp.get("expected_days") is not None else exp.get("confined_days")
                out += [served if served is not None else UNKNOWN_DAYS, (),
                        exp.get("max_days") if exp.get("max_days") is not None else UNKNOWN_DAYS, ()]
                continue
            out.append(sev.get(by_domain.get(d, {}).get(o["id"], "none"), -1))
            out.append(counts.get(o["id"], {}).get(f"applies:{d}", ()))
            out.append(sev.get(by_possible.get(d, {}).get(o["id"], "none"), -1))
            out.append(counts.get(o["id"], {}).get(f"possible:{d}", ()))
        return tuple(out)

    def uncatalogued(o: dict[str, Any]) -> bool:
        return not all(c.get("in_catalog", True) for c in o.get("counts", []))

    # an option the tool knows less about (a statute outside the catalog, analysed only from the elements the
    # case gives) never ranks above one it knows on that account: it is ranked after the known ones
    ranked = sorted(options, key=lambda o: (uncatalogued(o), key(o)))
    reasons: list[str] = []
    for better, worse in zip(ranked, ranked[1:]):
        kb, kw = key(better), key(worse)
        if uncatalogued(worse) and not uncatalogued(better):
            reasons.append(f"{better['id']} ranks above {worse['id']}: {worse['id']} has a statute outside the offense "
                           "catalog, analysed only from the elements the case file gives")
            continue
        if kb == kw:
            reasons.append(f"{better['id']} and {worse['id']} tie: the same worst consequences in every area")
            continue
        i = next(i for i, (a, b) in enumerate(zip(kb, kw)) if a != b)
        d = order[i // 4]
        if d == "custody":
            what = "time expected to be served" if i % 4 == 0 else "statutory exposure"
            reasons.append(f"{better['id']} ranks above {worse['id']}: custody — {what} {_days(kb[i])} vs {_days(kw[i])}"
                           + (f" (custody is priority {priorities.index(d) + 1} of the client)" if d in priorities else ""))
            continue
        kind = "applying" if i % 4 < 2 else "possible"
        if i % 2 == 0:
            why = f"worst {kind} consequence {_sev_label(kb[i])} vs {_sev_label(kw[i])}"
        else:
            level = next(j for j, (a, b) in enumerate(zip(kb[i], kw[i])) if a != b)
            name = list(reversed(SEVERITY_ORDER))[level]
            why = f"{kb[i][level]} vs {kw[i][level]} {kind} consequences of {name} severity"
        reasons.append(f"{better['id']} ranks above {worse['id']}: {d} — {why}"
                       + (f" ({d} is priority {priorities.index(d) + 1} of the client)" if d in priorities else ""))
    # consequence by consequence: what each option triggers that another avoids
    applying = {o["id"]: {f["code"]: f for f in o["findings"] if f["kind"] == "consequence" and f["status"] == "applies"}
                for o in options}
    differences = []
    for a in options:
        for b in options:
            if a is b:
                continue
            only = sorted(set(applying[a["id"]]) - set(applying[b["id"]]),
                          key=lambda c: (-sev[applying[a["id"]][c]["severity"]], c))
            if only:
                differences.append({"option": a["id"], "avoided_by": b["id"], "codes": only,
                                    "titles": [applying[a["id"]][c]["title"] for c in only],
                                    "domains": sorted({applying[a["id"]][c]["domain"] for c in only})})
    conflicts = []
    for a in options:
        for b in options:
            if a["id"] < b["id"]:
                wins = [d for d in domains if sev.get(by_domain[d][a["id"]], -1) < sev.get(by_domain[d][b["id"]], -1)]
                losses = [d for d in domains if sev.get(by_domain[d][a["id"]], -1) > sev.get(by_domain[d][b["id"]], -1)]
                if wins and losses:
                    conflicts.append(f"{a['id']} is better than {b['id']} for {', '.join(wins)} but worse for {', '.join(losses)}")
    return {"by_domain": by_domain, "by_domain_possible": by_possible, "ranked": [o["id"] for o in ranked], "reasons": reasons,
            "differences": differences, "conflicts": conflicts}


__all__ = ["Engine", "EngineError"]
