"""collateral: pre-plea advisories on the collateral consequences of criminal dispositions.

Exit codes: 0 success; 1 a pack test failed or `packs check` found errors; 2 bad input (case file, usage);
3 bad rule pack or template; 4 the rule engine failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import click

from engine import __version__
from engine.casefile import parse_case
from engine.compiler import CompileError
from engine.errors import EngineError, InputError, Problem
from engine.packs import RULES_DIR, load_all
from engine.yamlsrc import load_file

EXIT_FAILED, EXIT_INPUT, EXIT_PACK, EXIT_ENGINE = 1, 2, 3, 4


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file in the same folder, then an atomic rename."""
    path = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _dotted(loc: tuple[Any, ...]) -> str:
    """("options", 0, "counts", 1, "offense", "statute") -> options[0].counts[1].offense.statute"""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _packset(rules: Optional[Path], jurisdictions: Optional[set[str]] = None) -> Any:
    ps = load_all(rules or RULES_DIR, jurisdictions)
    if ps.problems:
        _fail(str(InputError("rule packs", ps.problems)) + "\nRun `collateral packs check` for details.", EXIT_PACK)
    return ps


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="collateral")
def main() -> None:
    """Advise on what each plea option would do to the client beyond the sentence:
    deportation and immigration bars, jobs and licenses, fines, firearms, voting, housing, benefits, driving.

    Case files are privileged: nothing is sent over the network and no client fact is logged."""


@main.command()
@click.argument("case", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="md: the consultation memo; json: the result document (docs/result-format.md).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write to FILE atomically instead of standard output.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Apply the law in force on this date (YYYY-MM-DD) instead of the case file's as_of.")
@click.option("--evaluator", type=click.Choice(["durable", "plain"]), default="durable", show_default=True,
              help="durable: the durable_rules engine; plain: the plain-Python evaluator (same results).")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Use the rule packs in this folder instead of the bundled ones.")
@click.option("--redact", is_flag=True, help="Leave the client's name out of the output.")
@click.option("--alternatives/--no-alternatives", default=True, show_default=True,
              help="Search for safer variants of each option (counter-offers), each re-evaluated with every rule.")
def advise(case: Path, fmt: str, output: Optional[Path], as_of: Optional[dt.datetime], evaluator: str,
           rules_dir: Optional[Path], redact: bool, alternatives: bool) -> None:
    """Evaluate every plea option in CASE (YAML or JSON) and write the memo or the result."""
    from engine.evaluate import Engine
    from engine.render import render

    try:
        src = load_file(case)
        case_file = parse_case(src)
    except InputError as exc:
        _fail(str(exc), EXIT_INPUT)
    # only the packs this case can use: federal, the case's state, and the states its counts are under
    wanted = {case_file.jurisdiction} | {c.offense.jurisdiction for o in case_file.options for c in o.counts if c.offense.jurisdiction} \
        | {c.offense.jurisdiction for c in case_file.history if c.offense.jurisdiction}
    ps = _packset(rules_dir, wanted)
    try:
        engine = Engine(ps, evaluator=evaluator)
        unresolved = engine.unresolved_statutes(case_file)
        if unresolved:
            _fail(str(InputError("case file", [Problem(src.file, src.line(loc), _dotted(loc), msg, near)
                                               for loc, msg, near in unresolved])), EXIT_INPUT)
        result = engine.advise(case_file, as_of.date() if as_of else None, alternatives=alternatives)
    except CompileError as exc:
        _fail(str(InputError("rule packs", exc.problems)), EXIT_PACK)
    except EngineError as exc:
        _fail(f"rule engine failure: {exc}\nNo output was written.", EXIT_ENGINE)
    if redact:
        result["client"]["name"] = ""
    if fmt == "json":
        text = json.dumps(result, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    else:
        try:
            text = render(result)
        except InputError as exc:
            _fail(str(exc), EXIT_PACK)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}", err=True)


@main.command()
@click.argument("jurisdiction")
@click.argument("text", required=False)
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Show the maximum in force on this date (default: today).")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
def statutes(jurisdiction: str, text: Optional[str], as_of: Optional[dt.datetime], rules_dir: Optional[Path]) -> None:
    """Search the offense catalog of JURISDICTION (US, US-CA, ...) and show what the tool will assume about a
    statute: title, maximum by date, elements, prongs, classification with certainty and authority.

    TEXT is a citation in any usual form (`Cal. Penal Code § 459/460(b)`), or words of the title; without it,
    every entry is listed. Exit 2 when nothing matches."""
    from engine.catalog import describe_entry
    from engine.evaluate import Engine

    juris = jurisdiction.upper()
    ps = _packset(rules_dir, {juris})
    engine = Engine(ps)
    catalogs = engine.catalogs
    if juris not in catalogs.by_jurisdiction:
        known = sorted(Engine(_packset(rules_dir)).catalogs.by_jurisdiction)
        from engine.errors import nearest
        near = nearest(juris, known)
        _fail(f"no offense catalog for {juris}; catalogs: {', '.join(known)}" + (f" (did you mean '{near}'?)" if near else ""), EXIT_INPUT)
    on = as_of.date() if as_of else dt.date.today()
    entries = catalogs.search(juris, text or "")
    if not entries:
        closest = catalogs.suggest(juris, text or "")
        _fail(f"nothing in the {juris} catalog matches '{text}'" + (f"; nearest: {', '.join(closest)}" if closest else ""), EXIT_INPUT)
    if text and len(entries) == 1 or (text and catalogs.find(juris, text)):
        found = catalogs.find(juris, text) if text else None
        entry, prong = found if found else (entries[0], None)
        click.echo(describe_entry(entry, on, prong))
        return
    for e in entries:
        click.echo(f"{e.statute:28} {e.title or ''}")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True), required=False)
def casebook(folder: Optional[Path]) -> None:
    """Run the casebook (tests/casebook/ by default: scenarios from published decisions and practitioners'
    charts) and print held / hedged / missed / wrong per scenario and in total. Exit 1 if any result is wrong."""
    from engine.casebook import main as run_casebook
    raise SystemExit(run_casebook([str(folder)] if folder else []))


@main.command()
@click.argument("case", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--answers", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Answer from this YAML file (question fact -> answer, e.g. client.immigration.admission_date: "
                   "2015-06-01 or 'offer|counts[0].record.loss_amount': 9000) instead of the terminal.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to save the completed case file (default: overwrite CASE).")
@click.option("--advise", "then_advise", is_flag=True, help="Print the memo for the completed case file.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
def interview(case: Path, answers: Optional[Path], output: Optional[Path], then_advise: bool, rules_dir: Optional[Path]) -> None:
    """Complete CASE by answering only the questions that would change a finding, most serious first.

    Type an answer (the valid choices are shown), or press Enter / type 'unknown' to skip a question."""
    import yaml

    from engine.casefile import parse_case
    from engine.evaluate import Engine
    from engine.interview import Question, run_interview
    from engine.yamlsrc import load_file

    try:
        src = load_file(case)
        parse_case(src)
        scripted = load_file(answers).data if answers else None
    except InputError as exc:
        _fail(str(exc), EXIT_INPUT)
    if answers is not None and not isinstance(scripted, dict):
        _fail(f"{answers}: expected a mapping of question facts to answers", EXIT_INPUT)
    ps = _packset(rules_dir)
    engine = Engine(ps)
    licenses = sorted((ps.vocabulary.get("licenses") or {}).keys())

    def ask(q: Question) -> Optional[str]:
        if scripted is not None:
            for key in (q.key, q.fact, q.field):
                if key in scripted:
                    return str(scripted.pop(key))
            return ""
        choices = f" [{', '.join(q.choices)}]" if q.choices and len(q.choices) <= 30 else ""
        click.echo(f"\n{q.ask}{choices}\n  (stakes: {q.stakes}; decides {', '.join(q.why[:3])}{'...' if len(q.why) > 3 else ''})")
        try:
            return str(click.prompt("  answer", default="", show_default=False))
        except (click.Abort, EOFError):
            return None

    data = run_interview(src.data, lambda c: engine.advise(c), ask, licenses, tell=lambda m: click.echo(m, err=True))
    try:
        parse_case(type(src)(data, src.lines, src.file))
    except InputError as exc:
        _fail(str(exc), EXIT_INPUT)
    target = output or case
    write_atomic(target, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))
    click.echo(f"saved {target}", err=True)
    if then_advise:
        from engine.render import render
        click.echo(render(engine.advise(parse_case(load_file(target)), alternatives=True)), nl=False)


@main.group()
def packs() -> None:
    """List, check and test the rule packs."""


@packs.command("list")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
def packs_list(rules_dir: Optional[Path]) -> None:
    """Show every pack with its version, date and size."""
    ps = load_all(rules_dir or RULES_DIR)
    for p in sorted(ps.packs, key=lambda p: p.id):
        size = f"{len(p.catalog)} offenses" if p.manifest.domain == "offenses" else f"{len(p.rules)} rules"
        click.echo(f"{p.id:<22} {p.manifest.version:<8} {p.manifest.jurisdiction:<6} {p.manifest.domain:<12} "
                   f"current through {p.manifest.current_through.isoformat()}  {size}")
    if ps.problems:
        _fail(str(InputError("rule packs", ps.problems)), EXIT_PACK)


@packs.command("check")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
@click.option("--strict", is_flag=True, help="Treat warnings (pinpoints, extension codes) as errors.")
def packs_check(rules_dir: Optional[Path], strict: bool) -> None:
    """Check schemas and references: duplicate ids, unknown facts and codes, citations, rules without tests."""
    from engine.packtools import check
    ps = load_all(rules_dir or RULES_DIR)
    errors, warnings = check(ps, dt.date.today())
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    for e in errors:
        click.echo(f"error: {e}", err=True)
    n_rules = sum(len(p.rules) for p in ps.packs)
    n_off = sum(len(p.catalog) for p in ps.packs)
    click.echo(f"{len(ps.packs)} packs, {n_rules} rules, {n_off} catalog entries: {len(errors)} errors, {len(warnings)} warnings")
    if errors or (strict and warnings):
        sys.exit(EXIT_FAILED)


@packs.command("test")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
@click.option("--evaluator", type=click.Choice(["durable", "plain"]), default="durable", show_default=True)
@click.option("-k", "keyword", default=None, help="Run only tests whose name contains this text.")
@click.option("--strict", is_flag=True,
              help="Fail a test when a finding of its own pack is not named by its expectations (list it under ignore).")
def packs_test(rules_dir: Optional[Path], evaluator: str, keyword: Optional[str], strict: bool) -> None:
    """Run the *.test.yaml cases beside the rules."""
    from engine.evaluate import Engine
    from engine.packtools import collect_tests, iter_results, unfired_rules
    ps = _packset(rules_dir)
    tests, problems = collect_tests(ps)
    if problems:
        _fail(str(InputError("pack tests", problems)), EXIT_PACK)
    if keyword:
        tests = [t for t in tests if keyword.lower() in t.name.lower()]
    try:
        engine = Engine(ps, evaluator=evaluator)
    except CompileError as exc:
        _fail(str(InputError("rule packs", exc.problems)), EXIT_PACK)
    passed = failed = 0
    fired: set[str] = set()
    for pt, failures in iter_results(engine, tests, fired, strict=strict):
        if failures:
            failed += 1
            click.echo(f"FAIL {pt.file}:{pt.line}: {pt.name}")
            for f in failures:
                click.echo(f"     {f}")
        else:
            passed += 1
    unfired = [] if keyword else unfired_rules(ps, fired)
    for rule_id in unfired:
        click.echo(f"UNTESTED {rule_id}: no test case makes this rule fire")
    click.echo(f"{passed} passed, {failed} failed")
    if failed or unfired:
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
