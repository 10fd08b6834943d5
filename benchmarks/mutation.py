"""Mutation test of the engine (not part of the test suite): apply one small source change at a time to a copy
of the project, run the test suite with -x (the fast test files first, the slow ones last), and report which
changes the tests catch (killed) and which they do not (survived). See docs/testing.md for the last score and what each survivor means.

    python benchmarks/mutation.py [-j 2] [--only 3,7] [--list] [--timeout 1800] [--tree DIR]

Each mutant is (file, old text, new text, what it breaks). The old text must occur exactly once in the file;
when the source has moved on and it does not, the mutant is reported as stale and not counted. The project's
own virtualenv runs the suite, with PYTHONPATH pointing at the copy (never at this tree).
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
IGNORE = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache",
                                ".pytest_cache", "results")


@dataclass(frozen=True)
class Mutant:
    file: str
    old: str
    new: str
    what: str


MUTANTS = [
    # the pack-test oracle
    Mutant("engine/author/packtools.py", 'if "applies" not in found.get(code, set()):', 'if "applies" in found.get(code, set()):',
           "packtools: `applies` expectation inverted"),
    Mutant("engine/author/packtools.py", 'if st != {"possible"}:', "if not st:",
           "packtools: `possible` accepts applies too"),
    Mutant("engine/author/packtools.py", "for code in exp.absent:\n            if code in found:",
           "for code in exp.absent:\n            if code not in found:", "packtools: `absent` expectation inverted"),
    Mutant("engine/author/packtools.py", "abs(sum(got) - want) > 0.005", "abs(sum(got) - want) > 0.5",
           "packtools: amount tolerance 0.005 -> 0.5"),
    Mutant("engine/author/packtools.py", "    return failures\n\n\ndef iter_results", "    return []\n\n\ndef iter_results",
           "packtools: run_test always reports no failure"),
    Mutant("engine/author/packtools.py", 'own = pt.pack.id + "."', 'own = ""',
           "packtools: strict mode counts other packs' findings"),
    Mutant("engine/author/packtools.py", 'if not r.id.startswith(pack.id + ".") and not (pack.overlay and r.overrides == r.id):',
           'if r.id.startswith(pack.id + ".") and not (pack.overlay and r.overrides == r.id):',
           "packtools check: rule-id prefix check inverted"),
    # counter-offers
    Mutant("engine/explain/strategy.py", '"ge": value - step', '"ge": value', "strategy: ge boundary offers the threshold itself"),
    Mutant("engine/explain/strategy.py", '"gt": current <= value', '"gt": current < value',
           "strategy: gt already-outside test off by one"),
    Mutant("engine/explain/strategy.py", "if target is None or target < 0:", "if target is None or target <= 0:",
           "strategy: a zero counter-offer is dropped"),
    Mutant("engine/explain/strategy.py", 'SERIOUS = ("high", "critical")', 'SERIOUS = ("critical",)',
           "strategy: high-severity consequences get no alternative"),
    Mutant("engine/explain/strategy.py", "except ValidationError:", "except Exception:",
           "strategy: every exception swallowed as 'no alternative'"),
    Mutant("engine/explain/strategy.py", "return picked[:limit]", "return picked[:1]", "strategy: only one alternative kept"),
    # amount arithmetic
    Mutant("engine/compile/expr.py", "(a / b).to_integral_value(rounding=ROUND_CEILING) * b",
           "(a / b).to_integral_value(rounding=ROUND_FLOOR) * b", "expr: round_up rounds down"),
    Mutant("engine/compile/expr.py", "rounding=ROUND_HALF_UP)", "rounding=ROUND_HALF_EVEN)", "expr: round half-up -> half-even"),
    Mutant("engine/compile/expr.py", 'if over == "option_counts" and c.get("count.source") != "option":',
           'if over == "option_counts" and False:',
           "expr: sum over option counts includes the history"),
    Mutant("engine/compile/expr.py", "return None if b == 0 else a / b", "return None if b == 0 else a * b", "expr: div multiplies"),
    # facts
    Mutant("engine/compile/facts.py", "return end.year - start.year - ((end.month, end.day) < (start.month, start.day))",
           "return end.year - start.year - ((end.month, end.day) <= (start.month, start.day))",
           "facts: age turns the day after the birthday"),
    Mutant("engine/compile/facts.py", "if im.admission_date is not None or im.status in ADMITTED_STATUSES:",
           "if im.admission_date is not None and im.status in ADMITTED_STATUSES:", "facts: admitted needs date and status"),
    # three-valued comparisons
    Mutant("engine/run/runtime.py", '"lt": operator.lt,', '"lt": operator.le,', "runtime: lt -> le"),
    Mutant("engine/run/runtime.py", '"le": operator.le,', '"le": operator.lt,', "runtime: le -> lt"),
    Mutant("engine/run/runtime.py", '"gt": operator.gt,', '"gt": operator.ge,', "runtime: gt -> ge"),
    Mutant("engine/run/runtime.py", '"ge": operator.ge,', '"ge": operator.gt,', "runtime: ge -> gt"),
    Mutant("engine/run/runtime.py", "min(d.day, calendar.monthrange(year, month)[1])", "d.day",
           "runtime: adding months to the 29th-31st is not clamped to the month's end"),
    # results
    Mutant("engine/explain/evaluate.py", 'return "clear" if (applies and mandatory and certainty == "clear") else "risk"',
           'return "clear" if (applies and mandatory and certainty in ("clear", "likely")) else "risk"',
           "evaluate: padilla clear for likely findings"),
    Mutant("engine/explain/evaluate.py", 'return "clear" if (applies and mandatory and certainty == "clear") else "risk"',
           'return "clear" if (mandatory and certainty == "clear") else "risk"', "evaluate: padilla clear for possible findings"),
    Mutant("engine/explain/evaluate.py", 'for i in items if i["status"] == "applies" and i["amount"] is not None), Decimal(0))',
           'for i in items if i["amount"] is not None), Decimal(0))', "evaluate: total adds possible amounts"),
    Mutant("engine/explain/evaluate.py", "ranked = sorted(options, key=lambda o: (uncatalogued(o), key(o)))",
           "ranked = sorted(options, key=lambda o: (uncatalogued(o), key(o)), reverse=True)", "evaluate: ranking reversed"),
    Mutant("engine/compile/compiler.py", "return a if CERTAINTY_ORDER.index(a) >= CERTAINTY_ORDER.index(b) else b",
           "return a if CERTAINTY_ORDER.index(a) <= CERTAINTY_ORDER.index(b) else b",
           "compiler: chained certainty takes the more certain link"),
    # dated values, catalog, case file, cache
    Mutant("engine/law/packs.py", "if v.from_ <= on and (v.to is None or on < v.to):",
           "if v.from_ <= on and (v.to is None or on <= v.to):", "packs: a parameter value is in force on its `to` date"),
    Mutant("engine/law/catalog.py", "if d.from_ <= when and (d.to is None or when < d.to):",
           "if d.from_ <= when and (d.to is None or when <= d.to):", "catalog: a dated maximum is in force on its `to` date"),
    Mutant("engine/law/catalog.py", 't = text.lower().replace("§", " ")', "t = text.lower()",
           "catalog: statute keys keep the section sign"),
    Mutant("engine/model/casefile.py", "self.suspended_days > self.custody_days:", "self.suspended_days >= self.custody_days:",
           "casefile: suspending the whole term is rejected"),
    Mutant("engine/model/yamlsrc.py", "entry = folder / f\"{hashlib.sha256(b'v2' + bytes(1) + raw).hexdigest()}.json\"",
           "entry = folder / f\"{hashlib.sha256(b'v2' + bytes(1)).hexdigest()}.json\"",
           "yamlsrc: cache key ignores the file's content"),
    # burden of proof (compiler)
    Mutant("engine/compile/compiler.py", 'if burden == "government":\n        return kind == "relief"',
           'if burden == "government":\n        return kind != "relief"',
           "compiler: a silent record proves the government's consequence (Moncrieffe inverted)"),
    Mutant("engine/compile/compiler.py", 'if burden == "applicant":\n        return kind != "relief"',
           'if burden == "applicant":\n        return kind == "relief"',
           "compiler: a silent record lifts the applicant's bar (Pereida inverted)"),
    Mutant("engine/compile/compiler.py", 's.kind == "record" and not s.circumstance_specific and p not in exempt',
           's.kind == "record" and p not in exempt',
           "compiler: a circumstance-specific fact is decided by a silent record"),
    Mutant("engine/compile/compiler.py", 'PTree("all", [PLeaf(_DIVISIBLE), PLeaf(silent)])])', 'PLeaf(silent)])',
           "compiler: a silent record keeps a bar under an indivisible statute too"),
    Mutant("engine/compile/compiler.py", 'or any(r.code in sensitive for r in _refs(tree))):', '):',
           "compiler: the applicant's view stops at the first finding (not carried down the chain)"),
    Mutant("engine/compile/compiler.py", 'burden=lr.rule.burden if rid == lr.rule.id else "applicant"', "burden=lr.rule.burden",
           "compiler: the applicant's-view copy of a rule keeps the government burden"),
    # three-valued tests and their trace (runtime)
    Mutant("engine/run/runtime.py", "            if tr is None:\n                return dflt\n",
           "            if tr is None:\n                return None\n",
           "runtime: the fast path leaves a burden-decided silent record unknown"),
    Mutant("engine/run/runtime.py", "if dflt is None or not tr.burden:", "if dflt is None:",
           "runtime: the what-if trace (burden off) still resolves silent records"),
    Mutant("engine/run/runtime.py", "            if r is decisive:\n                tr.resolved |= sub.resolved\n",
           "            if r is decisive:\n                tr.missing |= missing\n                tr.resolved |= sub.resolved\n",
           "runtime: a decided any/all still reports the unknown facts before the deciding one"),
    Mutant("engine/run/runtime.py", "                if key in f:\n                    return False\n",
           "                if key in f:\n                    return True\n",
           "runtime: a silence test is true when the record speaks"),
    # results (evaluate)
    Mutant("engine/explain/evaluate.py", 'if domain != "immigration" or kind != "consequence":', 'if domain != "immigration":',
           "evaluate: padilla label on classifications and relief"),
    Mutant("engine/explain/evaluate.py", "if sev[f[\"severity\"]] > sev[q[\"stakes\"]]:", "if True:",
           "evaluate: a question's stakes are the last finding's, not the worst"),
    Mutant("engine/explain/evaluate.py", 'key=lambda q: (-sev[q["stakes"]], -len(q["why"]), q["fact"])',
           'key=lambda q: (-len(q["why"]), -sev[q["stakes"]], q["fact"])',
           "evaluate: questions ordered by how many findings, before the stakes"),
    Mutant("engine/explain/evaluate.py", 'if path.startswith("history[") and kind in ("plea", "record"):', "if False:",
           "evaluate: a prior conviction's record is asked as a plea term"),
    Mutant("engine/explain/evaluate.py", 'record = [p for p in what_if.missing if prog.facts[p].kind == "record"]',
           "record = list(what_if.missing)", "evaluate: keep-silent instructions for unknown plea terms and client facts too"),
    Mutant("engine/explain/evaluate.py", 'fd["burden"] == "applicant" or any(APPLICANT in b for b in fd["because"])',
           'fd["burden"] == "applicant"', "evaluate: no establish instruction for a bar read through the applicant's view"),
    Mutant("engine/explain/evaluate.py", 'if f["burden"] == "applicant" and f["id"] not in pereida:', 'if f["id"] not in pereida:',
           "evaluate: prong risks add Pereida findings for government-burden consequences"),
    Mutant("engine/explain/evaluate.py", 'safe = [a["prong"] for a in alternatives if not a["adds"]]',
           'safe = [a["prong"] for a in alternatives]', "evaluate: every prong listed as safe"),
    # catalog: the least culpable prong of a divisible statute
    Mutant("engine/law/catalog.py", "cimt_unresolved = any(c is True for c in cimts) and not all(c is True for c in cimts)",
           "cimt_unresolved = False", "catalog: a divisible statute with some CIMT prongs is never cimt_unresolved"),
    Mutant("engine/law/catalog.py", 'base["max_days"] = min(int(x) for x in maxes if x is not None)',
           'base["max_days"] = max(int(x) for x in maxes if x is not None)', "catalog: the prongs' greatest maximum is used"),
    Mutant("engine/law/catalog.py", "return min((v for v in values if v is not None), key=order.index)",
           "return max((v for v in values if v is not None), key=order.index)", "catalog: the most culpable mens rea / force is used"),
    Mutant("engine/law/catalog.py", '    values["count.offense.force"] = "none"', "    pass",
           "catalog: elements without force leave force unknown (Leocal)"),
    Mutant("engine/law/catalog.py", 'when = committed if d.applies_by == "offense" and committed is not None else on', "when = on",
           "catalog: a maximum that applies by the offense date is chosen by the conviction date"),
    # federal schedules
    Mutant("engine/law/schedules.py", "if end is not None and day >= end:", "if end is not None and day > end:",
           "schedules: the old status still applies on the day of a rescheduling"),
    Mutant("engine/law/schedules.py", 'controlled = None if item.controlled == "depends" else bool(item.controlled)',
           "controlled = bool(item.controlled)", "schedules: 'depends' read as controlled"),
    Mutant("engine/law/schedules.py", "if day < items[0].from_:", "if day <= items[0].from_:",
           "schedules: the first day of the table is not covered"),
    # the durable runner decides the mode of a match from the facts matched (one durable rule per disjunct)
    Mutant("engine/run/durable_engine.py", 'strict = status == "a"', "strict = True",
           "durable: a match applies whatever the activation's status"),
    Mutant("engine/run/durable_engine.py", 'strict = strict and f["st"] == "a"', "strict = strict",
           "durable: a finding that only possibly holds lets the match apply"),
    Mutant("engine/run/durable_engine.py", "strict = strict and ref_matches_summary(ref, f, False)", "strict = strict",
           "durable: a summary that only possibly holds lets the match apply"),
    Mutant("engine/run/durable_engine.py", "for stratum in range(1, top + 1):", "for stratum in range(1, top):",
           "durable: the summaries of the last live stratum are not asserted"),
    Mutant("engine/compile/compiler.py", "    for tests, join in late:\n        tests.append(join)\n", "",
           "compiler: the anchored findings are not joined to the anchor's count"),
]


# the slowest test files (whole packs, the casebook, the CLI, the evaluator agreement), run last: a mutant that a
# fast unit test catches dies in seconds, and the verdict is the same, since -x stops at the first failure anyway
SLOW_LAST = ("test_interview.py", "test_statutes.py", "test_casebook.py", "test_cli.py", "test_agreement.py", "test_packs.py")


def test_files(tree: Path) -> list[str]:
    """Every test file of the tree, the slow ones last (in SLOW_LAST order), the others by name."""
    files = sorted(p.name for p in (tree / "tests").glob("test_*.py"))
    rank = {name: i for i, name in enumerate(SLOW_LAST)}
    return ["tests/" + f for f in sorted(files, key=lambda f: (rank.get(f, -1), f))]


def run_suite(tree: Path, timeout: int) -> tuple[str, str]:
    """('pass' | 'fail' | 'timeout', first failing test or error line)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1", "COLLATERAL_CACHE": "off"}
    cmd = [str(PYTHON), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--basetemp", str(tree.parent / "pytest-tmp"),
           *test_files(tree)]
    try:
        p = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", f"no result in {timeout} s"
    if p.returncode == 0:
        return "pass", ""
    out = p.stdout + p.stderr
    m = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", out, re.M)
    return "fail", m.group(1) if m else (out.strip().splitlines() or [f"exit code {p.returncode}"])[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=1, help="mutants run at once (one copy of the tree each)")
    ap.add_argument("--only", default="", help="comma-separated mutant numbers (1-based)")
    ap.add_argument("--list", action="store_true", help="print the mutants (and any that no longer match the source) and exit")
    ap.add_argument("--timeout", type=int, default=1800,
                    help="seconds per suite run (a timeout counts as killed: keep it well above the unmutated run's time)")
    ap.add_argument("--tree", type=Path, default=ROOT,
                    help="project tree to copy and mutate (default: this one), e.g. an export of a commit")
    args = ap.parse_args()
    source = args.tree.resolve()
    chosen = [(i, m) for i, m in enumerate(MUTANTS, 1) if not args.only or str(i) in args.only.split(",")]
    if args.list:
        for i, m in chosen:
            n = (source / m.file).read_text(encoding="utf-8").count(m.old)
            print(f"{i:3d} {m.file}: {m.what}" + ("" if n == 1 else f"  (STALE: the old text occurs {n} times)"))
        return 0
    with tempfile.TemporaryDirectory(prefix="collateral-mutation-") as tmp:
        workers: queue.Queue[Path] = queue.Queue()
        for w in range(max(1, args.jobs)):
            tree = Path(tmp) / f"w{w}" / "tree"
            shutil.copytree(source, tree, ignore=IGNORE)
            workers.put(tree)
        probe = Path(tmp) / "w0" / "tree"
        where = subprocess.run([str(PYTHON), "-c", "import engine, cli; print(engine.__file__); print(cli.__file__)"], cwd=probe,
                               env={**os.environ, "PYTHONPATH": str(probe)}, capture_output=True, text=True, check=True).stdout
        if not all(line.startswith(str(probe)) for line in where.split()):
            print(f"the copy is not the code under test (imports resolve to {where.split()}); aborting", file=sys.stderr)
            return 2
        t0 = time.monotonic()
        state, detail = run_suite(probe, args.timeout)
        print(f"baseline: the unmutated suite {'passes' if state == 'pass' else 'FAILS: ' + detail} ({time.monotonic() - t0:.0f} s)",
              flush=True)
        if state != "pass":
            return 2

        def one(item: tuple[int, Mutant]) -> tuple[int, Mutant, str, str]:
            i, m = item
            tree = workers.get()
            try:
                path = tree / m.file
                original = path.read_text(encoding="utf-8")
                if original.count(m.old) != 1:
                    return i, m, "stale", f"the old text occurs {original.count(m.old)} times"
                path.write_text(original.replace(m.old, m.new), encoding="utf-8")
                try:
                    state, detail = run_suite(tree, args.timeout)
                finally:
                    path.write_text(original, encoding="utf-8")
                return i, m, {"pass": "survived", "fail": "killed", "timeout": "killed"}[state], detail
            finally:
                workers.put(tree)

        results = []
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for i, m, verdict, detail in pool.map(one, chosen):
                results.append((i, m, verdict, detail))
                print(f"{i:3d} {verdict.upper():8s} {m.file}: {m.what}" + (f"  [{detail}]" if detail else ""), flush=True)
    killed = [r for r in results if r[2] == "killed"]
    survived = [r for r in results if r[2] == "survived"]
    stale = [r for r in results if r[2] == "stale"]
    scored = len(killed) + len(survived)
    print(f"\nscore: {len(killed)}/{scored} killed ({100 * len(killed) / scored if scored else 0:.0f}%), "
          f"{len(survived)} survived, {len(stale)} stale, {time.monotonic() - t0:.0f} s")
    for i, m, _v, _d in survived:
        print(f"  survivor {i}: {m.file}: {m.what}")
    for i, m, _v, d in stale:
        print(f"  stale {i}: {m.file}: {m.what} ({d})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
