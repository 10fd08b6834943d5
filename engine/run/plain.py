"""The plain-Python evaluator of a compiled program: strata in order, rules in dependency order, findings
indexed by code. It is the test oracle for the durable_rules engine and the benchmark's ceiling."""

from __future__ import annotations

from itertools import product
from typing import Optional

from engine.compile.compiler import Program
from engine.run.runtime import Activation, Fact, Firing, Found, activations, ref_matches_summary, scheme_keys, summaries


class PlainRunner:
    name = "plain"

    def __init__(self, program: Program) -> None:
        self.program = program
        self.rule_index = {r.id: i for i, r in enumerate(program.rules)}

    def run(self, opt: Fact, cnts: list[Fact], acts: Optional[list[Activation]] = None) -> set[Firing]:
        prog = self.program
        cids = [c["cid"] for c in cnts]
        keys = scheme_keys(cnts)
        active: dict[tuple[int, int], list[tuple[str, str]]] = {}
        for ri, di, cid, st in activations(prog, opt, cnts) if acts is None else acts:
            active.setdefault((ri, di), []).append((cid, st))
        derived: set[tuple[str, str, str, str]] = set()
        index: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
        by_code: dict[str, list[tuple[str, str, str, str]]] = {}
        summary: dict[tuple[str, str], Fact] = {}
        firings: set[Firing] = set()
        for stratum in range(prog.strata):
            for s in summaries(prog, stratum, derived, cids, keys):
                summary[(s["code"], s["cid"])] = s
            for ri, rule in enumerate(prog.rules):
                if rule.stratum != stratum:
                    continue
                for di, d in enumerate(rule.disjuncts):
                    for cid, st in active.get((ri, di), ()):
                        for mode in ("a", "p") if st == "a" else ("p",):
                            lenient = mode == "p"
                            choices = []
                            strict_refs: list[bool] = []   # summary references: does the strict test hold
                            for ref in d.refs:
                                if ref.kind == "pos":
                                    if ref.star:
                                        pool = index.get((ref.code, "*"), [])
                                    else:
                                        pool = index.get((ref.code, cid), []) if ref.same_count else by_code.get(ref.code, [])
                                    choices.append([f for f in pool if lenient or f[2] == "a"])
                                    strict_refs.append(True)
                                else:
                                    sm = summary.get((ref.code, cid if ref.same_count else "*"))
                                    ok = sm is not None and ref_matches_summary(ref, sm, lenient)
                                    choices.append([("", "", "", "")] if ok else [])
                                    strict_refs.append(sm is not None and ref_matches_summary(ref, sm, False))
                            for combo in product(*choices):
                                if mode == "p" and st == "a" and all(strict_refs) and all(c[2] == "a" for c in combo if c[0]):
                                    continue   # everything holds certainly: the `applies` firing covers it
                                firings.add(Firing(ri, di, mode, cid, tuple(sorted(Found(*c) for c in combo if c[0]))))
                                new = (rule.produces, cid, mode, rule.id)
                                if new not in derived:
                                    derived.add(new)
                                    index.setdefault((new[0], new[1]), []).append(new)
                                    by_code.setdefault(new[0], []).append(new)
        return firings
