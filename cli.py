"""collateral: pre-plea advisories on the collateral consequences of criminal dispositions.

Exit codes: 0 success; 1 a pack test failed or `packs check` found errors; 2 bad input (case file, usage);
3 bad rule pack or template; 4 the rule engine failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any, Optional

import click

from engine import __version__
from engine.compile.compiler import CompileError
from engine.law.packs import RULES_DIR, load_all
from engine.model.casefile import parse_case
from engine.model.errors import EngineError, InputError, Problem
from engine.model.yamlsrc import load_file

EXIT_FAILED, EXIT_INPUT, EXIT_PACK, EXIT_ENGINE = 1, 2, 3, 4


def _fail(message: str, code: int) -> None:
    click.echo(message, err=True)
    sys.exit(code)


_INPUTS: list[Path] = []   # files this command reads (case file, answers): never written over


def _input(path: Path) -> Path:
    """Remember an input of this command, so that -o can never write over it."""
    _INPUTS.append(path)
    return path


def _stale_temps(folder: Path, name: str) -> None:
    """Remove temporary files of earlier writes to the same file whose process is gone (killed with SIGKILL)."""
    with contextlib.suppress(OSError):
        for p in folder.glob(f".{name}.*.tmp"):
            parts = p.name[len(name) + 2:].split(".")
            if len(parts) != 3 or not parts[0].isdigit() or p.lstat().st_uid != os.geteuid():
                continue
            try:
                os.kill(int(parts[0]), 0)
            except ProcessLookupError:
                p.unlink()
            except OSError:
                pass


def _on_signals(handler: Any) -> dict[int, Any]:
    old: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):   # ValueError: not the main thread
            old[sig] = signal.signal(sig, handler)
    return old


def _interrupted(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write an output file (-o). A regular file (or a new one) is written whole or not at all: a temporary file
    (mode 0600) in the same folder, then an atomic rename; an existing file keeps its mode. A pipe or a
    character device (/dev/null, /dev/stdout, a terminal) is streamed to, never replaced. An input of this
    command is never written over. The temporary file is removed on every exit path (an error, Ctrl-C, SIGTERM,
    SIGHUP; after a SIGKILL, by the next write to the same file). A path that cannot be written exits 2."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    shown = str(path)
    if not shown.strip():
        _fail("cannot write the output: the -o path is empty", EXIT_INPUT)
    literal = Path(os.path.abspath(path))
    try:
        st: Optional[os.stat_result] = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        _fail(f"cannot write {shown}: {exc.strerror or exc}", EXIT_INPUT)
    if st is not None:
        for inp in _INPUTS:
            with contextlib.suppress(OSError):
                if os.path.samestat(st, os.stat(inp)):
                    _fail(f"refusing to write over {inp}, an input of this command: choose another -o", EXIT_INPUT)
        if stat.S_ISDIR(st.st_mode):
            _fail(f"cannot write {shown}: it is a folder", EXIT_INPUT)
    device_path = literal.parts[1:2] in (("dev",), ("proc",))
    if device_path or (st is not None and (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode))):
        _stream(path, data, shown, st)
        return
    if st is not None and not stat.S_ISREG(st.st_mode):
        _fail(f"cannot write {shown}: not a regular file, a pipe or a character device", EXIT_INPUT)
    target = path.resolve()
    if not target.parent.is_dir():
        _fail(f"cannot write {shown}: the folder {target.parent} does not exist", EXIT_INPUT)
    if st is not None and not os.access(target, os.W_OK):
        _fail(f"cannot write {shown}: the file is read-only", EXIT_INPUT)
    _stale_temps(target.parent, target.name)
    tmp = target.parent / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    old = _on_signals(_interrupted)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
                if st is not None:   # keep the mode (and, for root, the owner) of the file replaced
                    os.fchmod(fh.fileno(), stat.S_IMODE(st.st_mode))
                    if os.geteuid() == 0:
                        with contextlib.suppress(OSError):
                            os.fchown(fh.fileno(), st.st_uid, st.st_gid)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        _fail(f"cannot write {shown}: {exc.strerror or exc}", EXIT_INPUT)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _stream(path: Path, data: bytes, shown: str, st: Optional[os.stat_result]) -> None:
    """Write to a pipe or a device as it is (no temporary file, no rename): standard output and error through
    this process's own streams, anything else opened for appending, never created."""
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        with contextlib.suppress(OSError):
            if st is not None and os.path.samestat(st, os.fstat(fd)) or shown in (f"/dev/fd/{fd}", f"/proc/self/fd/{fd}") \
                    or shown == ("/dev/stdout" if fd == 1 else "/dev/stderr"):
                stream.flush()
                stream.buffer.write(data)
                stream.flush()
                return
    if st is None:
        _fail(f"cannot write {shown}: no such device (files are not created under /dev or /proc)", EXIT_INPUT)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        _fail(f"cannot write {shown}: {exc.strerror or exc}", EXIT_INPUT)


def _dotted(loc: tuple[Any, ...]) -> str:
    """("options", 0, "counts", 1, "offense", "statute") -> options[0].counts[1].offense.statute"""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_OVERLAYS: list[Path] = []   # office overlay folders (--packs DIR); none given: COLLATERAL_PACKS


def _overlays() -> list[Path]:
    from engine.law.overlay import env_dirs
    return list(_OVERLAYS) or env_dirs()


def _set_overlays(_ctx: Any, _param: Any, value: tuple[Path, ...]) -> None:
    _OVERLAYS[:] = list(value)


def _packs_option(f: Any) -> Any:
    """--packs DIR (repeatable): layer an office's folder of packs over the bundled ones (engine/law/overlay.py)."""
    return click.option("--packs", "overlay_dirs", multiple=True, expose_value=False, callback=_set_overlays,
                        type=click.Path(path_type=Path, file_okay=False, exists=True),
                        help="Layer this folder of office packs over the bundled ones (repeatable; default: the folders "
                             "in COLLATERAL_PACKS, separated by ':'). A local rule replaces a bundled one only with "
                             "overrides: RULE_ID.")(f)


def _layers(rules: Optional[Path], jurisdictions: Optional[set[str]] = None) -> Any:
    """The bundled packs (or those under --rules) with the office overlays layered over them."""
    from engine.law.overlay import load_layers
    return load_layers(rules or RULES_DIR, _overlays(), jurisdictions)


def _packset(rules: Optional[Path], jurisdictions: Optional[set[str]] = None) -> Any:
    ps = _layers(rules, jurisdictions)
    if ps.problems:
        _fail(str(InputError("rule packs", ps.problems)) + "\nRun `collateral packs check` for details.", EXIT_PACK)
    return ps


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="collateral")
def main() -> None:
    """Advise on what each plea option would do to the client beyond the sentence:
    deportation and immigration bars, jobs and licenses, fines, firearms, voting, housing, benefits, driving.

    Case files are privileged: nothing is sent over the network and no client fact is logged."""
    _INPUTS.clear()
    _OVERLAYS.clear()   # --packs of an earlier command in the same process (tests) never carries over


def _law_date(case_file: Any, as_of: Optional[dt.date]) -> dt.date:
    """The date whose law is applied, as Engine.advise takes it: --as-of, else the case's as_of, else today."""
    return as_of or case_file.as_of or dt.date.today()


def _add_warnings(result: dict[str, Any], engine: Any, on: dt.date, warnings: list[str]) -> None:
    """At the top of the memo: the packs whose coverage does not reach the date, then the implausible facts."""
    from engine.law.overlay import mark_overlays
    from engine.law.packs import coverage_warnings

    used = {p["id"] for p in result["packs"]}
    first = mark_overlays(result, engine.packset) + coverage_warnings([p for p in engine.packset.packs if p.id in used], on) + warnings
    for o in result["options"]:
        limit = o.pop("alternatives_limit", None)
        if limit:
            first.append(f"Counter-offers for option {o['id']}: the {limit['evaluated']} smallest of {limit['candidates']} "
                         "possible changes were tried (the search is bounded; docs/limits.md).")
    result["warnings"] = first + [w for w in result["warnings"] if w not in first]


def _advise_result(case: Path, as_of: Optional[dt.datetime], evaluator: str, rules_dir: Optional[Path],
                   redact: bool, alternatives: bool) -> dict[str, Any]:
    """Evaluate CASE into the result document, or exit with the documented code."""
    return _evaluate_case(case, as_of, evaluator, rules_dir, redact, alternatives)[0]


def _evaluate_case(case: Path, as_of: Optional[dt.datetime], evaluator: str, rules_dir: Optional[Path],
                   redact: bool, alternatives: bool) -> tuple[dict[str, Any], Any, Any]:
    """The result document of CASE, with the parsed case file and the engine that made it (so that what follows
    does not read the case and the packs again), or exit with the documented code."""
    from engine.explain.evaluate import Engine

    try:
        src = load_file(_input(case))
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
        on = _law_date(case_file, as_of.date() if as_of else None)
        try:
            warnings = engine.check_case(case_file, src, on)
        except InputError as exc:
            _fail(str(exc), EXIT_INPUT)
        result: dict[str, Any] = engine.advise(case_file, as_of.date() if as_of else None, alternatives=alternatives)
        _add_warnings(result, engine, on, warnings)
    except CompileError as exc:
        _fail(str(InputError("rule packs", exc.problems)), EXIT_PACK)
    except EngineError as exc:
        _fail(f"rule engine failure: {exc}\nNo output was written.", EXIT_ENGINE)
    if redact:
        result["client"]["name"] = ""
    return result, case_file, engine


def _need_file_for_binary(fmt: str, output: Optional[Path]) -> None:
    if fmt in ("docx", "pdf") and output is None:
        _fail(f"--format {fmt} is a binary file and is not written to the terminal: give -o FILE (e.g. -o memo.{fmt}).",
              EXIT_INPUT)


def _emit(content: str | bytes, output: Optional[Path]) -> None:
    if output is None:
        assert isinstance(content, str)
        click.echo(content, nl=False)
    else:
        write_atomic(output, content)
        click.echo(f"wrote {output}", err=True)


@main.command()
@click.argument("case", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "html", "docx", "pdf", "json"]), default="md", show_default=True,
              help="md, html, docx or pdf: the consultation memo (docx and pdf need -o); json: the result document "
                   "(docs/result-format.md).")
@click.option("--appendix", is_flag=True, help="Add the trace appendix: finding ids, rules, facts read, derivations.")
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
@click.option("--review", "review_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Apply counsel's review file (collateral review): verdicts, overrides and added consequences.")
@click.option("--since", "since_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="An earlier JSON result: list what changed since, and why, at the top of the memo.")
@_packs_option
def advise(case: Path, fmt: str, appendix: bool, output: Optional[Path], as_of: Optional[dt.datetime], evaluator: str,
           rules_dir: Optional[Path], redact: bool, alternatives: bool, review_path: Optional[Path] = None,
           since_path: Optional[Path] = None) -> None:
    """Evaluate every plea option in CASE (YAML or JSON) and write the memo or the result."""
    from engine.present import memo_document

    _need_file_for_binary(fmt, output)
    result, case_file, engine = _evaluate_case(case, as_of, evaluator, rules_dir, redact, alternatives)
    _finish(result, case, rules_dir, review_path, since_path, alternatives, redact, case_file, engine)   # flag ids, review, since, seal
    content: str | bytes
    if fmt == "json":
        content = json.dumps(result, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    else:
        try:
            content = memo_document(result, fmt, appendix=appendix)
        except InputError as exc:
            _fail(str(exc), EXIT_PACK)
    _emit(content, output)


@main.command()
@click.argument("case", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--lang", type=click.Choice(["en", "es"]), default="en", show_default=True,
              help="en: English; es: Spanish (from the message catalog in templates/locale; review before sending).")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "docx", "pdf"]), default="md", show_default=True,
              help="Format of the letter (docx and pdf need -o).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write to FILE atomically instead of standard output.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Apply the law in force on this date (YYYY-MM-DD) instead of the case file's as_of.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Use the rule packs in this folder instead of the bundled ones.")
@click.option("--redact", is_flag=True, help="Leave the client's name out of the letter.")
def letter(case: Path, lang: str, fmt: str, output: Optional[Path], as_of: Optional[dt.datetime],
           rules_dir: Optional[Path], redact: bool) -> None:
    """Write a plain-language letter to the client about each offer in CASE: what it means for them, what they
    must tell the attorney, and what to do and not do now. Counsel reviews it before it is sent."""
    from engine.present import letter_document

    _need_file_for_binary(fmt, output)
    result = _advise_result(case, as_of, "durable", rules_dir, redact, True)
    try:
        content = letter_document(result, lang, fmt)
    except InputError as exc:
        _fail(str(exc), EXIT_PACK)
    _emit(content, output)


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
    from engine.explain.evaluate import Engine
    from engine.law.catalog import describe_entry

    juris = jurisdiction.upper()
    ps = _packset(rules_dir, {juris})
    engine = Engine(ps)
    catalogs = engine.catalogs
    if juris not in catalogs.by_jurisdiction:
        known = sorted(Engine(_packset(rules_dir)).catalogs.by_jurisdiction)
        from engine.model.errors import nearest
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
    from engine.author.casebook import main as run_casebook
    raise SystemExit(run_casebook([str(folder)] if folder else []))


@main.command()
@click.argument("case", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--answers", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Answer from this YAML file instead of the terminal: question fact -> answer, e.g. "
                   "client.immigration.admission_date: 2015-06-01, client.licenses.held: [cdl], "
                   "count.record.loss_amount: 9000 (the first count asked) or 'offer|counts[0].record.loss_amount': 9000 "
                   "(one count of one option). A key the interview cannot ask is an error; answers not asked are listed.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Required: the new file for the completed case file (CASE itself is never changed).")
@click.option("--advise", "then_advise", is_flag=True, help="Print the memo for the completed case file.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
def interview(case: Path, answers: Optional[Path], output: Optional[Path], then_advise: bool, rules_dir: Optional[Path]) -> None:
    """Complete CASE by answering only the questions that would change a finding, most serious first, and save
    it to -o FILE (CASE is left as it is, with its comments and mode; the new file has no comments).

    Type an answer (the valid choices are shown), or press Enter / type 'unknown' to skip a question. An answer
    that would make the case file invalid is refused and asked again (with --answers: exit 2, nothing saved)."""
    import yaml

    from engine.explain.evaluate import Engine
    from engine.explain.interview import AnswerError, Question, answer_key_problem, run_interview, schema_problem
    from engine.model.casefile import CaseFile, check_vocabulary, parse_case, plausibility
    from engine.model.yamlsrc import Located, dotted, load_file

    if output is None:
        _fail("interview writes the completed case file to a new file: give -o FILE (CASE itself is never changed, "
              "so its comments and mode are kept)", EXIT_INPUT)
    assert output is not None
    try:
        src = load_file(_input(case))
        case_file = parse_case(src)
        answers_src = load_file(_input(answers)) if answers else None
    except InputError as exc:
        _fail(str(exc), EXIT_INPUT)
    _check_output(output)
    scripted: Optional[dict[str, Any]] = None
    if answers_src is not None:
        if not isinstance(answers_src.data, dict):
            _fail(f"{answers}: expected a mapping of question facts to answers", EXIT_INPUT)
        scripted = dict(answers_src.data)
        bad = []
        for key in scripted:
            why = answer_key_problem(str(key), src.data)
            if why is not None:
                bad.append(Problem(answers_src.file, answers_src.line((key,)), str(key), why[0], why[1]))
        if bad:
            _fail(str(InputError("answers file", bad)), EXIT_INPUT)
    ps = _packset(rules_dir)
    engine = Engine(ps)
    on = _law_date(case_file, None)
    try:
        engine.check_case(case_file, src, on)
    except InputError as exc:
        _fail(str(exc), EXIT_INPUT)
    licenses = sorted((ps.vocabulary.get("licenses") or {}).keys())
    given: dict[str, str] = {}   # question key -> the scripted key that answered it

    def ask(q: Question) -> Optional[str]:
        if scripted is not None:
            for key in (q.key, q.fact, q.field):
                if key in scripted:
                    given[q.key] = key
                    return _answer_text(scripted.pop(key))
            return ""
        choices = f" [{', '.join(q.choices)}]" if q.choices and len(q.choices) <= 30 else ""
        option = f"Option {q.option}: " if "|" in q.key else ""   # a count question is asked once per option
        click.echo(f"\n{option}{q.ask}{choices}\n  (stakes: {q.stakes}; decides {', '.join(q.why[:3])}{'...' if len(q.why) > 3 else ''};"
                   f" answers file key: {q.key})")
        try:
            return str(click.prompt("  answer", default="", show_default=False))
        except (click.Abort, EOFError):
            return None

    def check(data: dict[str, Any]) -> Optional[str]:
        problem = schema_problem(data)
        if problem:
            return problem
        answered = Located(data, {}, "")
        cf = CaseFile.model_validate(data)
        found = check_vocabulary(cf, answered, engine.vocab_tags, engine.license_tags) + plausibility(cf, answered, on)[0]
        return "; ".join(f"{p.field}: {p.message}" + (f" (did you mean '{p.suggestion}'?)" if p.suggestion else "")
                         for p in found) or None

    try:
        data = run_interview(src.data, lambda c: engine.advise(c), ask, licenses, tell=lambda m: click.echo(m, err=True),
                             strict=scripted is not None, check=check, texts=ps.questions)
    except AnswerError as exc:
        key = given.get(exc.question.key, exc.question.key)
        assert answers_src is not None
        _fail(str(InputError("answers file", [Problem(answers_src.file, answers_src.line((key,)), key,
                                                      f"{exc.message} (answer: {exc.text!r}); nothing was saved")])), EXIT_INPUT)
    except CompileError as exc:
        _fail(str(InputError("rule packs", exc.problems)), EXIT_PACK)
    except EngineError as exc:
        _fail(f"rule engine failure: {exc}\nNo output was written.", EXIT_ENGINE)
    for key in scripted or {}:
        assert answers_src is not None
        click.echo(f"warning: {answers_src.file}:{answers_src.line((key,))}: {dotted((key,))}: not used: the interview did "
                   "not ask it (the fact is already known, or no finding turns on it)", err=True)
    write_atomic(output, yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))
    click.echo(f"saved {output}", err=True)
    if then_advise:
        from engine.present.render import render
        click.echo(render(_advise_result(output, None, "durable", rules_dir, False, True)), nl=False)


def _answer_text(value: Any) -> str:
    """A scripted answer as typed text: a list as comma-separated items, true/false as yes/no, nothing as a skip."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_answer_text(v) for v in value) or "none"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _check_output(output: Path) -> None:
    """Refuse, before any work, an output path that is an input of this command or lies in a missing folder."""
    with contextlib.suppress(OSError):
        for inp in _INPUTS:
            if output.exists() and os.path.samefile(output, inp):
                _fail(f"refusing to write over {inp}, an input of this command: choose another -o", EXIT_INPUT)
    parent = Path(os.path.abspath(output)).parent
    if not parent.is_dir():
        _fail(f"cannot write {output}: the folder {parent} does not exist", EXIT_INPUT)


@main.command("schema")
@click.argument("kind", required=False, type=click.Choice(["pack", "rules", "parameters", "derived", "catalog", "tests", "case"]))
@click.option("--write", "write_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write every schema into this folder as KIND.schema.json (the package ships them in engine/schemas).")
def schema_cmd(kind: Optional[str], write_dir: Optional[Path]) -> None:
    """Print the JSON Schema of one kind of file: pack (pack.yaml), rules (*.rules.yaml), parameters, derived,
    catalog, tests (*.test.yaml) or case (a case file). Point a YAML editor at it with a first line
    `# yaml-language-server: $schema=PATH` (packs new writes it)."""
    from engine.author.authoring import schema_text, write_schemas
    if write_dir is not None:
        for p in write_schemas(write_dir):
            click.echo(f"wrote {p}", err=True)
        return
    if kind is None:
        raise click.UsageError("give KIND, or --write DIR")
    click.echo(schema_text(kind), nl=False)


@main.group()
def packs() -> None:
    """Create, list, check, test, format, lock and document the rule packs (docs/rule-authoring.md)."""


@packs.command("list")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
@_packs_option
def packs_list(rules_dir: Optional[Path]) -> None:
    """Show every pack with its version, date and size (office overlays marked)."""
    ps = _layers(rules_dir)
    for p in sorted(ps.packs, key=lambda p: p.id):
        size = f"{len(p.catalog)} offenses" if p.manifest.domain == "offenses" else f"{len(p.rules)} rules"
        click.echo(f"{p.id:<22} {p.manifest.version:<8} {p.manifest.jurisdiction:<6} {p.manifest.domain:<12} "
                   f"current through {p.manifest.current_through.isoformat()}  {size}" + ("  (overlay)" if p.overlay else ""))
    if ps.problems:
        _fail(str(InputError("rule packs", ps.problems)), EXIT_PACK)


@packs.command("check")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
@click.option("--strict", is_flag=True, help="Treat warnings (pinpoints, extension codes) as errors.")
@click.option("--release", is_flag=True, help="Also fail on draft rules and catalog entries of packs marked stability: stable.")
@_packs_option
def packs_check(rules_dir: Optional[Path], strict: bool, release: bool = False) -> None:
    """Check schemas and references: duplicate ids, unknown facts and codes, citations, rules without tests,
    review status, and each pack's content against its pack.lock.json (a changed rule needs a version bump)."""
    from engine.author.packtools import check
    ps = _layers(rules_dir)
    errors, warnings = check(ps, dt.date.today(), release=release)
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
@click.option("--coverage", is_flag=True,
              help="Report per rule which disjuncts of its condition the tests make fire, as applies and as possible.")
@_packs_option
def packs_test(rules_dir: Optional[Path], evaluator: str, keyword: Optional[str], strict: bool, coverage: bool = False) -> None:
    """Run the *.test.yaml cases beside the rules."""
    from engine.author.packtools import FiringLog, collect_tests, coverage_report, iter_results, unfired_rules
    from engine.explain.evaluate import Engine
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
    log = FiringLog(engine) if coverage else None
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
    if log is not None:
        lines, hit, total = coverage_report(ps, log)
        click.echo("coverage (disjuncts of each rule's condition the tests make fire):")
        for line in lines:
            click.echo("  " + line)
        click.echo(f"coverage: {hit} of {total} disjuncts exercised ({hit / total:.0%})" if total else "coverage: no rule compiled")
    click.echo(f"{passed} passed, {failed} failed")
    if failed or unfired:
        sys.exit(EXIT_FAILED)


@packs.command("new")
@click.argument("jurisdiction")
@click.argument("domain", type=click.Choice(sorted({"immigration", "employment", "licensing", "fines", "firearms", "voting",
                                                     "jury", "housing", "benefits", "driving", "registration", "education",
                                                     "family", "relief"})))
@click.option("--name", default=None, help="The pack's folder and id suffix (default: DOMAIN), e.g. alameda-fees.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="The folder of packs to create it in (default: the bundled rules/; an office's own folder for --packs).")
def packs_new(jurisdiction: str, domain: str, name: Optional[str], rules_dir: Optional[Path]) -> None:
    """Create a pack for JURISDICTION (US, US-CA, ...) and DOMAIN: a manifest, a dated parameter, one cited example
    rule with a positive and a negative test, and its lock file. It passes packs check and packs test as it is;
    each file names its JSON Schema for the editor."""
    from engine.author.authoring import ScaffoldError, scaffold
    try:
        folder, files = scaffold(rules_dir or RULES_DIR, jurisdiction, domain, name)
    except ScaffoldError as exc:
        _fail(f"packs new: {exc}", EXIT_INPUT)
    for f in files:
        click.echo(f"created {f}")
    click.echo(f"next: edit {folder}/example.rules.yaml, then collateral packs check and collateral packs test"
               + (f" --rules {rules_dir}" if rules_dir else ""), err=True)


@packs.command("lock")
@click.argument("pack_ids", nargs=-1)
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
@click.option("--force", is_flag=True, help="Rewrite the lock even where a rule changed without a version bump.")
@_packs_option
def packs_lock(pack_ids: tuple[str, ...], rules_dir: Optional[Path], force: bool) -> None:
    """Write pack.lock.json beside each pack (or the PACK_IDS given): its version and the digest of every rule and
    parameter, which packs check compares the pack with."""
    from engine.author.authoring import LOCK_NAME, lock_text
    from engine.author.packtools import lock_problems
    ps = _layers(rules_dir)
    if ps.problems:
        _fail(str(InputError("rule packs", ps.problems)), EXIT_PACK)
    known = {p.id for p in ps.packs}
    unknown = [x for x in pack_ids if x not in known]
    if unknown:
        _fail(f"no pack {', '.join(unknown)}", EXIT_INPUT)
    refused = []
    for p in sorted(ps.packs, key=lambda p: p.id):
        if pack_ids and p.id not in pack_ids:
            continue
        errors, _ = lock_problems(p)
        unbumped = [e for e in errors if "without a version bump" in e.message]
        if unbumped and not force:
            refused.extend(unbumped)
            continue
        path = p.folder / LOCK_NAME
        text = lock_text(p)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text)
            click.echo(f"wrote {path}")
    for e in refused:
        click.echo(f"error: {e}", err=True)
    if refused:
        _fail("not locked: bump the version and add a changelog line first (or --force)", EXIT_FAILED)


@packs.command("docs")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("docs/reference"),
              show_default=True, help="The folder to write the reference into.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
@_packs_option
def packs_docs(out_dir: Path, rules_dir: Optional[Path]) -> None:
    """Write the rule pack reference: index.md, one Markdown page per pack (each rule's condition in words,
    consequence, citations, certainty, status, dates, parameters with their dated values, the tests that make it
    fire; each catalog's statutes with their classification) and index.html, one page with a search box that
    needs no server. The same packs give the same files."""
    from engine.author.authoring import reference_files, write_reference
    from engine.author.packtools import collect_tests, exercised_rules
    from engine.explain.evaluate import Engine
    ps = _packset(rules_dir)
    tests, problems = collect_tests(ps)
    if problems:
        _fail(str(InputError("pack tests", problems)), EXIT_PACK)
    try:
        exercised = exercised_rules(Engine(ps, evaluator="plain"), tests)
    except CompileError as exc:
        _fail(str(InputError("rule packs", exc.problems)), EXIT_PACK)
    base = (rules_dir or RULES_DIR).resolve().parent
    files = reference_files(ps.packs, base, exercised)
    if out_dir.exists() and not out_dir.is_dir():
        _fail(f"cannot write {out_dir}: not a folder", EXIT_INPUT)
    write_reference(out_dir, files)
    click.echo(f"wrote {len(files)} files to {out_dir}", err=True)


@packs.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--check", "check_only", is_flag=True, help="Change nothing: list the files not in the canonical layout, exit 1 if any.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Format every pack file under this folder (default: the bundled rules/, when no PATHS are given).")
def packs_fmt(paths: tuple[Path, ...], check_only: bool, rules_dir: Optional[Path]) -> None:
    """Write pack files (PATHS: files or folders) in the canonical layout: keys in the documented order, conditions
    as use/all/any/not/fact/finding/count then the operator, lists indented under their key; comments, quoting and
    values kept."""
    from engine.author.authoring import format_file, kind_of
    targets: list[Path] = []
    for root in paths or (rules_dir or RULES_DIR,):
        found = [root] if root.is_file() else sorted(root.rglob("*.yaml"))
        targets += [p for p in found if kind_of(p) is not None and p not in targets]
    changed = []
    failed = []
    for p in targets:
        try:
            text = format_file(p)
        except Exception as exc:   # ruamel parse errors, a value the layout would change
            failed.append(f"{p}: {exc}")
            continue
        if text is None or text == p.read_text(encoding="utf-8"):
            continue
        changed.append(p)
        if check_only:
            click.echo(f"would reformat {p}")
        else:
            write_atomic(p, text)
            click.echo(f"reformatted {p}")
    for f in failed:
        click.echo(f"error: {f}", err=True)
    click.echo(f"{len(targets)} files, {len(changed)} {'not in the canonical layout' if check_only else 'reformatted'}", err=True)
    if failed:
        sys.exit(EXIT_PACK)
    if check_only and changed:
        sys.exit(EXIT_FAILED)


# ---------------------------------------------------------------------------------------------------------------
# Counsel's review, sealed results and what changed (engine/review/workflow.py, engine/review/seal.py, docs/review.md)

def _case_packs(case_file: Any) -> set[str]:
    """The jurisdictions whose packs a case can use (as `advise` loads them)."""
    return {case_file.jurisdiction} | {c.offense.jurisdiction for o in case_file.options for c in o.counts if c.offense.jurisdiction} \
        | {c.offense.jurisdiction for c in case_file.history if c.offense.jurisdiction}


def _evaluate(case: Path, as_of: Optional[dt.date], evaluator: str, rules_dir: Optional[Path], alternatives: bool,
              engine: Any = None) -> tuple[Any, Any, dict[str, Any]]:
    """(case file, engine, result) for CASE; a bad case file raises InputError, pack and engine failures exit."""
    from engine.explain.evaluate import Engine

    src = load_file(_input(case))
    case_file = parse_case(src)
    try:
        if engine is None:
            engine = Engine(_packset(rules_dir, _case_packs(case_file)), evaluator=evaluator)
        unresolved = engine.unresolved_statutes(case_file)
        if unresolved:
            raise InputError("case file", [Problem(src.file, src.line(loc), _dotted(loc), msg, near) for loc, msg, near in unresolved])
        on = _law_date(case_file, as_of)
        warnings = engine.check_case(case_file, src, on)
        result: dict[str, Any] = engine.advise(case_file, as_of, alternatives=alternatives)
        _add_warnings(result, engine, on, warnings)
    except CompileError as exc:
        _fail(str(InputError("rule packs", exc.problems)), EXIT_PACK)
    except EngineError as exc:
        _fail(f"rule engine failure: {exc}\nNo output was written.", EXIT_ENGINE)
    return case_file, engine, result


def _read_result(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        _fail(f"{path}: not a readable JSON result ({exc})", EXIT_INPUT)
    if not isinstance(data, dict) or not isinstance(data.get("options"), list):
        _fail(f"{path}: not a result document (collateral advise --format json)", EXIT_INPUT)
    return dict(data)


def _finish(result: dict[str, Any], case: Path, rules_dir: Optional[Path], review_path: Optional[Path],
            since_path: Optional[Path], alternatives: bool, redact: bool, case_file: Any = None, engine: Any = None) -> None:
    """Flag ids, counsel's review, what changed since an earlier result, then the seal (last)."""
    from engine.explain.evaluate import Engine
    from engine.review.seal import result_digest, seal
    from engine.review.workflow import apply_review, apply_since, assign_flag_ids, load_review

    try:
        if case_file is None:
            case_file = parse_case(load_file(case))
        if engine is None:
            engine = Engine(_packset(rules_dir, _case_packs(case_file)))
        assign_flag_ids(result, case_file, engine.catalogs)
        review_digest = None
        if review_path is not None:
            review = load_review(review_path)
            if review.model.case_id and result.get("case_id") and review.model.case_id != result["case_id"]:
                raise InputError("review file", [Problem(review.src.file, review.line("case_id"), "case_id",
                                                         f"this review is for case {review.model.case_id}, not {result['case_id']}")])
            apply_review(result, review)
            review_digest = review.digest
    except InputError as exc:
        _fail(str(exc), EXIT_INPUT)
    since_digest = None
    if since_path is not None:
        old = _read_result(since_path)
        apply_since(result, old, engine.packset)
        since_digest = result_digest(old)
    seal(result, case_file, {"alternatives": alternatives, "redact": redact, "review": review_digest, "since": since_digest})


@main.command()
@click.argument("case", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The review file to write or update (default: CASE.review.yaml beside CASE).")
@click.option("--pending", "pending_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="List the flags awaiting counsel over the cases (and their .review.yaml files) in this folder.")
@click.option("--csv", "as_csv", is_flag=True, help="With --pending: CSV instead of a table.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Apply the law in force on this date (YYYY-MM-DD) instead of the case file's as_of.")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
def review(case: Optional[Path], output: Optional[Path], pending_dir: Optional[Path], as_csv: bool,
           as_of: Optional[dt.datetime], rules_dir: Optional[Path]) -> None:
    """Write or update CASE.review.yaml: every flag the rules raise for CASE, for counsel to confirm, dispute,
    override or add to (docs/review.md). Verdicts already in the file are kept. With --pending DIR: the flags
    still awaiting counsel over a folder of cases, most serious first."""
    import copy

    from engine.review.workflow import apply_review, assign_flag_ids, default_review_path, load_review, review_document

    if (case is None) == (pending_dir is None):
        raise click.UsageError("give CASE, or --pending DIR")
    if pending_dir is not None:
        _review_queue(pending_dir, as_csv, as_of.date() if as_of else None, rules_dir)
        return
    assert case is not None
    try:
        case_file, engine, result = _evaluate(case, as_of.date() if as_of else None, "durable", rules_dir, alternatives=False)
        assign_flag_ids(result, case_file, engine.catalogs)
        target = output or default_review_path(case)
        existing = load_review(target) if target.exists() else None
        if existing is not None:
            apply_review(copy.deepcopy(result), existing)   # unknown flag ids and bad verdicts are errors here too
    except InputError as exc:
        _fail(str(exc), EXIT_INPUT)
    text, stats = review_document(result, case.name, existing)
    write_atomic(target, text)
    click.echo(f"wrote {target}: {stats['flags']} flags, {stats['kept']} with a verdict, {stats['pending']} awaiting counsel"
               + (f", {stats['orphans']} no longer found" if stats["orphans"] else "")
               + (f", {stats['added']} added" if stats["added"] else ""), err=True)


def _review_queue(folder: Path, as_csv: bool, as_of: Optional[dt.date], rules_dir: Optional[Path]) -> None:
    import copy
    import csv
    import io

    from engine.explain.evaluate import Engine
    from engine.review.workflow import (
        apply_review,
        assign_flag_ids,
        default_review_path,
        is_case_data,
        load_review,
        pending,
        queue_order,
    )

    engine = Engine(_packset(rules_dir))
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    cases = 0
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                       and not p.name.endswith((".review.yaml", ".review.yml"))):
        try:
            if not is_case_data(load_file(path).data):
                continue
            case_file, _, result = _evaluate(path, as_of, "durable", rules_dir, alternatives=False, engine=engine)
            assign_flag_ids(result, case_file, engine.catalogs)
            rpath = default_review_path(path)
            rev = load_review(rpath) if rpath.exists() else None
            if rev is not None:
                apply_review(copy.deepcopy(result), rev)
        except InputError as exc:
            errors.append(str(exc))
            continue
        cases += 1
        rows.extend(pending(result, rev, str(path.relative_to(folder))))
    rows = queue_order(rows)
    cols = ["severity", "status", "domain", "case", "option", "flag_id", "title"]
    if as_csv:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
    else:
        shown = ["severity", "status", "case", "flag_id", "title"]
        widths = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in shown[:-1]}
        click.echo("  ".join(c.upper().ljust(widths.get(c, 0)) for c in shown).rstrip())
        for r in rows:
            click.echo("  ".join(str(r[c]).ljust(widths.get(c, 0)) for c in shown).rstrip())
        click.echo(f"{len(rows)} flag(s) awaiting counsel in {cases} case(s)")
    for e in errors:
        click.echo(e, err=True)
    if errors:
        sys.exit(EXIT_INPUT)


@main.command()
@click.argument("result_file", metavar="RESULT.json", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("case", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--review", "review_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="The review file the result was made with (advise --review).")
@click.option("--since", "since_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="The earlier result it was compared with (advise --since).")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
def verify(result_file: Path, case: Path, review_path: Optional[Path], since_path: Optional[Path], rules_dir: Optional[Path]) -> None:
    """Re-run CASE as the sealed RESULT.json was made (same date, same options) and report whether the facts,
    the packs, the engine and the result are the same, byte for byte. Exit 0 same, 1 different."""
    from engine.review.seal import case_digest
    from engine.review.seal import verify as check
    from engine.review.workflow import diff, diff_text

    text = result_file.read_text(encoding="utf-8")
    stored = _read_result(result_file)
    sealed = stored.get("seal")
    if not isinstance(sealed, dict):
        _fail(f"{result_file}: the result has no seal (made before sealing, or not by collateral advise --format json)", EXIT_INPUT)
    inputs = (sealed or {}).get("inputs") or {}
    for key, given, flag in (("review", review_path, "--review"), ("since", since_path, "--since")):
        if inputs.get(key) and given is None:
            _fail(f"{result_file}: the result was made with advise {flag} FILE: give the same {flag} FILE", EXIT_INPUT)
        if given is not None and not inputs.get(key):
            _fail(f"{result_file}: the result was made without {flag}", EXIT_INPUT)
    evaluator = "plain" if (stored.get("engine") or {}).get("evaluator") == "plain" else "durable"
    alternatives, redact = bool(inputs.get("alternatives", True)), bool(inputs.get("redact", False))
    try:
        case_file, engine, fresh = _evaluate(case, dt.date.fromisoformat(stored["as_of"]), evaluator, rules_dir, alternatives)
    except InputError as exc:
        _fail(str(exc), EXIT_INPUT)
    if redact:
        fresh["client"]["name"] = ""
    _finish(fresh, case, rules_dir, review_path, since_path, alternatives, redact, case_file, engine)
    same, lines = check(stored, text, fresh, case_digest(case_file))
    for key in ("review", "since"):
        if inputs.get(key):
            now = fresh["seal"]["inputs"].get(key)
            ok = now == inputs[key]
            same = same and ok
            lines.append(f"{key + ':':<9}{'same' if ok else 'different'} ({inputs[key]}" + ("" if ok else f" -> {now}") + ")")
    click.echo(f"{result_file} (law as of {stored['as_of']}) against {case}:")
    for line in lines:
        click.echo("  " + line)
    if not same:
        d = diff(stored, fresh, engine.packset)
        if d["changes"]:
            click.echo("")
            click.echo(diff_text(d), nl=False)
        click.echo("DIFFERENT")
        sys.exit(EXIT_FAILED)
    click.echo("SAME")


@main.command("diff")
@click.argument("old", metavar="OLD.json", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("new", metavar="NEW.json", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="The packs whose effective dates explain a rule coming into force (default: the bundled ones).")
def diff_results(old: Path, new: Path, fmt: str, rules_dir: Optional[Path]) -> None:
    """Findings added, removed, or changed in status, certainty or amount from OLD.json to NEW.json (results of
    advise --format json), each with its cause: a fact, a rule or pack, a rule coming into force, a review verdict.
    Exit 0 when nothing changed, 1 when something did."""
    from engine.review.workflow import diff, diff_text

    a, b = _read_result(old), _read_result(new)
    ps = load_all(rules_dir or RULES_DIR) if a.get("as_of") != b.get("as_of") else None
    d = diff(a, b, ps)
    if fmt == "json":
        click.echo(json.dumps(d, indent=2, ensure_ascii=False))
    else:
        click.echo(diff_text(d), nl=False)
    if d["changes"]:
        sys.exit(EXIT_FAILED)


@main.command()
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False, exists=True), default=Path("."),
              show_default=True, help="The folder of case files (YAML) the app lists, opens and saves.")
@click.option("--port", type=click.IntRange(0, 65535), default=8642, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--open/--no-open", "open_browser", default=True, show_default=True,
              help="Open the address in the browser (only where a graphical browser can run).")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None)
def serve(workspace: Path, port: int, open_browser: bool, rules_dir: Optional[Path]) -> None:
    """Run the web app for attorneys on this computer (127.0.0.1 only): the cases in the workspace, intake,
    the decisive questions, the advice and its downloads. Prints the address with its access token (docs/serve.md)."""
    from engine.serve.server import BindError
    from engine.serve.server import serve as run_server

    try:
        run_server(workspace, port, open_browser, click.echo, rules_dir)
    except BindError as exc:
        _fail(f"{exc} (choose another --port, or 0 for any free port)", EXIT_INPUT)
    except InputError as exc:
        _fail(str(exc) + "\nRun `collateral packs check` for details.", EXIT_PACK)
    except CompileError as exc:
        _fail(str(InputError("rule packs", exc.problems)), EXIT_PACK)


# ---------------------------------------------------------------------------------------------------------------
# Screening a docket (engine/batch/screen.py, docs/screen.md)

@main.command("screen")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="One row per case and option: .csv, .jsonl or .parquet (written atomically at the end).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes, each building its engine once and taking one case at a time (default: all "
                   "cores); with --backend dask and no --scheduler, the workers of the local cluster.")
@click.option("--memos", "memos_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Also write each case's memo (Markdown) into this folder; the rows give its path.")
@click.option("--resume", is_flag=True, help="Skip the cases already done (same case, packs, families and law date) "
                                             "by an earlier or interrupted run to the same output.")
@click.option("--errors", "errors_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The cases that could not be screened, with their id and message (.csv or .jsonl; default: "
                   "OUTPUT's name with .errors.csv).")
@click.option("--backend", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: a process pool on this machine; dask: a Dask distributed cluster.")
@click.option("--scheduler", default=None, help="With --backend dask: the scheduler's address (tcp://host:8786); "
                                                "without it, a local cluster of --jobs workers.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Apply the law in force on this date to every case (default: each case's as_of, else today).")
@click.option("--evaluator", type=click.Choice(["durable", "plain"]), default="durable", show_default=True,
              help="durable: the durable_rules engine; plain: the plain-Python evaluator (same results).")
@click.option("--alternatives/--no-alternatives", default=False, show_default=True,
              help="Also run the counter-offer search (slower; it shows in the memos, not in the rows).")
@click.option("--timeout", type=click.FloatRange(min=0), default=600, show_default=True,
              help="Seconds one case may take on a local worker before the worker is replaced (0: no limit).")
def screen_docket(input_path: Path, output: Path, jobs: Optional[int], memos_dir: Optional[Path], resume: bool,
                  errors_path: Optional[Path], backend: str, scheduler: Optional[str], as_of: Optional[dt.datetime],
                  evaluator: str, alternatives: bool, timeout: float) -> None:
    """Screen a whole docket: INPUT is a folder of case files, a JSON Lines file of cases or a CSV export with one
    row per count (docs/screen.md). Writes one row per case and option (worst severity per area, flags by
    consequence family, money, open questions) and prints a summary per family and severity. A case that cannot
    be screened goes to the errors file and the batch goes on (exit 1 when there is any; 2 for a bad INPUT)."""
    from engine.batch import screen as sc
    from engine.law.families import load as load_families

    if scheduler and backend != "dask":
        raise click.UsageError("--scheduler needs --backend dask")
    _input(input_path)
    errors_path = errors_path or output.with_name(output.stem + ".errors.csv")
    for target in (output, errors_path):
        _check_output(target)
    config = sc.Config(evaluator=evaluator, as_of=as_of.date() if as_of else None, alternatives=alternatives)
    try:
        report = sc.screen(input_path, output, config, jobs=jobs or sc.default_jobs(), backend=backend, scheduler=scheduler,
                           memos=memos_dir, errors=errors_path, resume=resume, progress=sc.progress_for(sys.stderr),
                           write=write_atomic, timeout=timeout or None)
    except InputError as exc:
        _fail(str(exc), EXIT_PACK if exc.kind == "rule packs" else EXIT_INPUT)
    except KeyboardInterrupt:
        _fail("interrupted: the cases done so far are kept; run the same command with --resume to go on", 130)
    for w in report.warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(sc.summary_text(report, load_families()), nl=False)
    click.echo(f"wrote {output} ({len(report.rows)} rows)" + (f" and {errors_path} ({len(report.errors)} error(s))"
                                                             if report.errors else ""), err=True)
    if report.errors:
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
