"""No input, path or pack makes the tool crash, lose a finding silently, or run someone else's code (issue 12):
every case here is a regression test with its exact message and documented exit code (README: 0 success;
1 packs check errors or failing pack tests; 2 bad case file or usage; 3 bad rule pack or template; 4 engine)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from engine.explain.evaluate import Engine
from engine.explain.interview import answer_key_problem, run_interview
from engine.law.packs import coverage, coverage_warnings, load_all
from engine.model.casefile import check_vocabulary, parse_case, plausibility
from engine.model.errors import InputError
from engine.model.yamlsrc import MAX_BYTES, MAX_VALUES, load_text

from .conftest import ROOT, make_rules

EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"
NURSE = ROOT / "examples" / "tx-drug-nurse.yaml"

RULE = """\
rules:
  - id: t.chain.theft
    title: theft is a cimt
    status: draft
    certainty: clear
    scope: count
    citations: [{cite: "X § 1(a)"}]
    when: {fact: count.offense.elements, has: theft}
    then: {code: imm.cimt, kind: classification, domain: immigration, severity: critical, title: Theft CIMT, summary: sss, explanation: eee}
"""
CASE = """\
format: 1
jurisdiction: US
as_of: 2026-01-01
client:
  birth_date: 1990-05-01
options:
  - id: o
    counts:
      - offense: {statute: T, elements: [theft]}
        committed_on: 2025-06-01
"""


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args), input=input)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A rules folder with the real vocabulary and one rule: fast to load and compile."""
    return make_rules(tmp_path / "r", RULE)


def write_case(tmp_path: Path, text: str = CASE, name: str = "case.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def advise(tmp_path: Path, rules: Path, text: str, *extra: str) -> tuple[int, str, str]:
    return run("advise", str(write_case(tmp_path, text)), "--rules", str(rules), "--no-alternatives", *extra)


# ---------------------------------------------------------------- 1. closed vocabularies, nearest valid name
def test_a_misspelt_element_tag_is_an_error_not_a_lost_finding(tmp_path: Path, tiny: Path) -> None:
    code, out, err = advise(tmp_path, tiny, CASE.replace("[theft]", "[theft, controled_substance]"))
    assert code == 2 and out == ""
    assert err == (f"1 problem(s) in case file:\n  {tmp_path / 'case.yaml'}:9: options[0].counts[0].offense.elements[1]: "
                   "unknown element tag 'controled_substance' (did you mean 'controlled_substance'?)\n")


def test_element_tags_of_described_prongs_are_checked_too(tmp_path: Path, durable_engine: Engine) -> None:
    data = yaml.safe_load(CASE)
    off = data["options"][0]["counts"][0]["offense"]
    off.update({"divisible": True, "prongs": [{"id": "a", "elements": ["theft"]}, {"id": "b", "elements": ["burglery"]}]})
    src = load_text(yaml.safe_dump(data), "c.yaml")
    problems = check_vocabulary(parse_case(src), src, durable_engine.vocab_tags, durable_engine.license_tags)
    assert [str(p) for p in problems] == [
        "c.yaml:18: options[0].counts[0].offense.prongs[1].elements[0]: unknown element tag 'burglery' (did you mean 'burglary'?)"]


def test_a_misspelt_license_type_is_an_error(tmp_path: Path) -> None:
    case = tmp_path / "nurse.yaml"
    case.write_text(NURSE.read_text().replace("type: registered_nurse", "type: registerd_nurse"))
    code, out, err = run("advise", str(case), "--no-alternatives")
    assert code == 2 and out == ""
    assert err == (f"1 problem(s) in case file:\n  {case}:25: client.licenses[0].type: unknown license type "
                   "'registerd_nurse' (did you mean 'registered_nurse'?)\n")


@pytest.mark.parametrize("field,bad,near", [
    ("sectors", "helth_care", "health_care"), ("benefits", "snapp", "snap"), ("goals", "naturalise", "naturalize")])
def test_sectors_benefits_and_goals_are_closed_lists(field: str, bad: str, near: str) -> None:
    data: dict[str, Any] = yaml.safe_load(CASE)
    client = data["client"]
    if field == "sectors":
        client["employment"] = {"sectors": [bad]}
    elif field == "goals":
        client["immigration"] = {"goals": [bad]}
    else:
        client["benefits"] = [bad]
    with pytest.raises(InputError) as exc:
        parse_case(load_text(yaml.safe_dump(data), "c.yaml"))
    (p,) = exc.value.problems
    assert f"'{bad}' is not valid; expected one of: " in p.message and p.suggestion == near


def test_a_prong_the_statute_does_not_have_is_an_error_with_the_nearest(durable_engine: Engine) -> None:
    text = CASE.replace("jurisdiction: US", "jurisdiction: US-CA").replace("{statute: T, elements: [theft]}",
                                                                          '{statute: "PC 459", prong: second-degre}')
    src = load_text(text, "ca.yaml")
    with pytest.raises(InputError) as exc:
        durable_engine.check_case(parse_case(src), src, dt.date(2026, 1, 1))
    assert [str(p) for p in exc.value.problems] == [
        "ca.yaml:9: options[0].counts[0].offense.prong: 'second-degre' is not a prong of PC 459; its prongs: "
        "first-degree, second-degree (did you mean 'second-degree'?)"]


def test_an_unknown_substance_is_a_warning_saying_the_table_is_not_exhaustive(durable_engine: Engine) -> None:
    text = NURSE.read_text().replace("substance: cocaine", "substance: cocane")
    result = durable_engine.advise(parse_case(load_text(text, "tx.yaml")))
    (w,) = [w for w in result["warnings"] if "cocane" in w]
    assert w == ("The substance 'cocane' named in the record: 'cocane' is not in the federal schedules table "
                 "(schedules.yaml); the table is not exhaustive: check 21 C.F.R. part 1308 by hand (did you mean 'cocaine'?)")


# ---------------------------------------------------------------- 2. clean errors, never a traceback
def test_an_impossible_date_in_a_case_file_is_an_error_with_its_line(tmp_path: Path, tiny: Path) -> None:
    code, out, err = advise(tmp_path, tiny, CASE.replace("2025-06-01", "2026-02-31"))
    assert (code, out) == (2, "")
    assert err == (f"1 problem(s) in YAML:\n  {tmp_path / 'case.yaml'}:10: options[0].counts[0].committed_on: "
                   "'2026-02-31' is not a valid date (day is out of range for month)\n")


def test_an_impossible_date_in_parameters_yaml_is_a_pack_error(tmp_path: Path) -> None:
    rules = make_rules(tmp_path / "r", RULE, parameters="""\
        parameters:
          x:
            description: a parameter
            unit: days
            values:
              - {from: 2026-02-31, value: 1, cite: "X § 1(a)"}
        """)
    code, out, err = advise(tmp_path, rules, CASE)
    assert (code, out) == (3, "")
    assert f"{rules / 't' / 'chain' / 'parameters.yaml'}:6: parameters.x.values[0].from: '2026-02-31' is not a valid date " \
           "(day is out of range for month)" in err
    code, _, err = run("packs", "check", "--rules", str(rules))
    assert code == 1 and "'2026-02-31' is not a valid date" in err


@pytest.mark.parametrize("where,message", [
    ("missing/memo.md", "cannot write {p}: the folder {d} does not exist"),
    ("", "cannot write .: it is a folder"),
    ("/proc/collateral-memo.md", "cannot write {p}: no such device (files are not created under /dev or /proc)"),
])
def test_an_output_path_that_cannot_be_written_exits_2(tmp_path: Path, tiny: Path, where: str, message: str) -> None:
    target = str(tmp_path / where) if where.startswith("missing") else where
    code, out, err = advise(tmp_path, tiny, CASE, "-o", target)
    assert (code, out) == (2, "")
    assert err == message.format(p=target, d=tmp_path / "missing") + "\n"


def test_output_to_dev_stdout_goes_to_standard_output(tmp_path: Path, tiny: Path) -> None:
    code, out, err = advise(tmp_path, tiny, CASE, "-o", "/dev/stdout")
    assert code == 0 and out.startswith("# PRIVILEGED AND CONFIDENTIAL") and err == "wrote /dev/stdout\n"


def test_output_to_dev_null_streams_and_never_replaces_the_device(tmp_path: Path, tiny: Path) -> None:
    code, _, err = advise(tmp_path, tiny, CASE, "-o", "/dev/null")
    assert code == 0 and err == "wrote /dev/null\n"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not [p for p in Path("/dev").iterdir() if p.name.startswith(".null.")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_output_to_a_named_pipe_is_streamed(tmp_path: Path, tiny: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, err = advise(tmp_path, tiny, CASE, "-o", str(fifo))
    reader.join(10)
    assert code == 0 and err == f"wrote {fifo}\n"
    assert got[0].startswith(b"# PRIVILEGED AND CONFIDENTIAL") and stat.S_ISFIFO(os.stat(fifo).st_mode)


# ---------------------------------------------------------------- 3. paths: atomic, inputs never overwritten, no temp left
def test_output_equal_to_the_case_file_is_refused_and_the_case_kept(tmp_path: Path, tiny: Path) -> None:
    case = write_case(tmp_path)
    os.link(case, tmp_path / "same.yaml")
    for target in (case, tmp_path / "same.yaml"):
        code, out, err = run("advise", str(case), "--rules", str(tiny), "-o", str(target))
        assert (code, out, err) == (2, "", f"refusing to write over {case}, an input of this command: choose another -o\n")
        assert case.read_text() == textwrap.dedent(CASE)


def test_an_existing_output_keeps_its_mode_and_no_temporary_file_is_left(tmp_path: Path, tiny: Path) -> None:
    memo = tmp_path / "memo.md"
    memo.write_text("old")
    memo.chmod(0o640)
    stale = tmp_path / ".memo.md.999999999.0badc0de.tmp"    # left by a write killed with SIGKILL
    stale.write_text("privileged")
    assert advise(tmp_path, tiny, CASE, "-o", str(memo))[0] == 0
    assert stat.S_IMODE(memo.stat().st_mode) == 0o640 and memo.read_text().startswith("# PRIVILEGED")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.yaml", "memo.md", "r"]


def test_a_new_output_is_private(tmp_path: Path, tiny: Path) -> None:
    assert advise(tmp_path, tiny, CASE, "-o", str(tmp_path / "new.md"))[0] == 0
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_sigterm_during_a_write_removes_the_temporary_file(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        import cli
        real = os.fsync
        def killed(fd):
            real(fd)
            os.kill(os.getpid(), signal.SIGTERM)
        os.fsync = killed
        cli.write_atomic(cli.Path({str(tmp_path / 'memo.md')!r}), "privileged " * 1000)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 128 + 15, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_interview_needs_a_new_output_file_and_never_changes_the_case(tmp_path: Path, tiny: Path) -> None:
    case = write_case(tmp_path, "# counsel's notes\n" + CASE)
    case.chmod(0o640)
    before = case.read_bytes()
    code, out, err = run("interview", str(case), "--rules", str(tiny), input="\n" * 10)
    assert (code, out) == (2, "")
    assert err == ("interview writes the completed case file to a new file: give -o FILE (CASE itself is never "
                   "changed, so its comments and mode are kept)\n")
    code, _, err = run("interview", str(case), "--rules", str(tiny), "-o", str(case), input="\n" * 10)
    assert (code, err) == (2, f"refusing to write over {case}, an input of this command: choose another -o\n")
    assert run("interview", str(case), "--rules", str(tiny), "-o", str(tmp_path / "full.yaml"), input="\n" * 10)[0] == 0
    assert case.read_bytes() == before and stat.S_IMODE(case.stat().st_mode) == 0o640


# ---------------------------------------------------------------- 4. resource limits
BOMB = "format: 1\na: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def test_a_yaml_alias_bomb_fails_fast_with_a_clear_error(tmp_path: Path, tiny: Path) -> None:
    assert len(BOMB) < 540
    t = time.perf_counter()
    code, out, err = advise(tmp_path, tiny, BOMB)
    assert time.perf_counter() - t < 10
    assert (code, out) == (2, "")
    assert err == (f"1 problem(s) in YAML:\n  {tmp_path / 'case.yaml'}:7: the document expands to more than "
                   f"{MAX_VALUES:,} values (anchors and aliases repeat what they name); the limit is {MAX_VALUES:,} "
                   "(docs/limits.md)\n")


def test_recursive_aliases_deep_nesting_and_huge_documents_are_refused(tmp_path: Path) -> None:
    def message(text: str) -> str:
        with pytest.raises(InputError) as exc:
            load_text(text, "x.yaml")
        return str(exc.value.problems[0])
    assert message("a: &a [*a]\n") == "x.yaml:1: an alias refers to a node that contains it (a recursive document)"
    assert message("a: " + "[" * 70 + "]" * 70 + "\n") == "x.yaml:1: nested more than 64 levels deep (the limit; docs/limits.md)"
    big = tmp_path / "big.yaml"
    big.write_text("a: '" + "x" * MAX_BYTES + "'\n")
    code, _, err = run("advise", str(big))
    assert code == 2 and err == (f"1 problem(s) in file:\n  {big}: the document is larger than {MAX_BYTES:,} bytes "
                                 f"({MAX_BYTES + 1:,} or more); the limit is {MAX_BYTES:,} bytes (docs/limits.md)\n")


def _theft_case(n: int, distinct: bool) -> Any:
    counts = [{"offense": {"statute": "PC 487(a)"}, "committed_on": "2026-03-14", "disposition": "conviction",
               "record": {"loss_amount": 12000 + (i if distinct else 0)}, "sentence": {"custody_days": 365 + (i if distinct else 0)}}
              for i in range(n)]
    return parse_case(load_text(yaml.safe_dump({
        "format": 1, "jurisdiction": "US-CA", "as_of": "2026-11-26",
        "client": {"immigration": {"status": "lpr", "admission_date": "2010-01-01"}},
        "options": [{"id": "o", "counts": counts}]}), "t.yaml"))


def test_the_counter_offer_search_is_bounded_whatever_the_counts(durable_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.explain.strategy as strategy
    calls = [0]
    original = durable_engine.applying   # how the search evaluates each candidate (its applying codes)

    def counting(*a: Any, **k: Any) -> Any:
        calls[0] += 1
        return original(*a, **k)
    monkeypatch.setattr(durable_engine, "applying", counting)
    seen = []
    for n in (1, 3, 6):        # identical counts: the same change is tried once
        calls[0] = 0
        durable_engine.advise(_theft_case(n, False), alternatives=True)
        seen.append(calls[0])
    assert seen[0] == seen[1] == seen[2] > 0
    monkeypatch.setattr(strategy, "MAX_EVALUATIONS", 5)
    calls[0] = 0
    result = durable_engine.advise(_theft_case(4, True), alternatives=True)
    assert calls[0] == 5 and result["options"][0]["alternatives_limit"]["evaluated"] == 5


# ---------------------------------------------------------------- 5. caches: private folder, verified entries, no pickle
@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("COLLATERAL_CACHE", str(folder))
    return folder


def test_a_shared_or_foreign_cache_folder_is_never_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.model.yamlsrc import cache_dir
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("COLLATERAL_CACHE", str(shared))
    assert cache_dir() is None
    shared.chmod(0o700)
    assert cache_dir() == shared
    link = tmp_path / "link"
    link.symlink_to(shared)
    monkeypatch.setenv("COLLATERAL_CACHE", str(link))
    assert cache_dir() is None
    if os.geteuid() == 0:
        os.chown(shared, 65534, 65534)
        monkeypatch.setenv("COLLATERAL_CACHE", str(shared))
        assert cache_dir() is None


def test_a_poisoned_cache_entry_is_detected_and_ignored(tmp_path: Path, cache: Path) -> None:
    import hashlib

    from engine.model.yamlsrc import load_file
    f = tmp_path / "p.yaml"
    f.write_text("severity: critical\n")
    load_file(f, cache=True)
    (entry,) = cache.glob("*.json")
    head, _, payload = entry.read_bytes().partition(b"\n")
    assert b"critical" in payload and b"pickle" not in entry.read_bytes()
    forged = payload.replace(b"critical", b"info")
    for poisoned in (head + b"\n" + forged,                                             # the data changed
                     head.replace(b'"mac": "', b'"mac": "0') + b"\n" + payload,            # not signed with the key
                     head.replace(hashlib.sha256(b"severity: critical\n").hexdigest().encode(), b"0" * 64) + b"\n" + payload):
        entry.write_bytes(poisoned)
        assert load_file(f, cache=True).data == {"severity": "critical"}
        assert b"critical" in entry.read_bytes().partition(b"\n")[2]    # and replaced by a good entry
    entry.write_bytes(head + b"\n" + forged)
    entry.chmod(0o644)                                                   # not private
    assert load_file(f, cache=True).data == {"severity": "critical"}
    entry.unlink()
    (tmp_path / "elsewhere").write_bytes(head + b"\n" + forged)
    entry.symlink_to(tmp_path / "elsewhere")                             # a link planted in place of an entry
    assert load_file(f, cache=True).data == {"severity": "critical"}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file another user's")
def test_a_cache_entry_owned_by_another_user_is_ignored(tmp_path: Path, cache: Path) -> None:
    from engine.model.yamlsrc import load_file
    f = tmp_path / "p.yaml"
    f.write_text("a: 1\n")
    load_file(f, cache=True)
    (entry,) = cache.glob("*.json")
    os.chown(entry, 65534, 65534)                 # a valid entry, but another user's: never read, replaced by ours
    assert load_file(f, cache=True).data == {"a": 1}
    assert entry.stat().st_uid == os.geteuid()


# ---------------------------------------------------------------- 6. implausible facts
@pytest.mark.parametrize("change,message", [
    (("2025-06-01", "2026-02-01"), "10: options[0].counts[0].committed_on: the offense (2026-02-01) is after the date the law "
                                   "is applied (2026-01-01: as_of or --as-of)"),
    (("committed_on: 2025-06-01", "committed_on: 2025-06-01\n        convicted_on: 2025-05-01"),
     "11: options[0].counts[0].convicted_on: the conviction (2025-05-01) is before the offense (2025-06-01)"),
    (("1990-05-01", "2030-01-01"), "5: client.birth_date: 2030-01-01 is after the date the law is applied (2026-01-01: as_of "
                                   "or --as-of): the client is not born yet"),
])
def test_facts_that_cannot_be_true_are_errors(tmp_path: Path, tiny: Path, change: tuple[str, str], message: str) -> None:
    code, out, err = advise(tmp_path, tiny, CASE.replace(*change))
    assert (code, out) == (2, "")
    assert f"  {tmp_path / 'case.yaml'}:{message}\n" in err


@pytest.mark.parametrize("field,value,message", [
    ("sentence: {custody_days: %s}", "1000000000000000000000000000000", "Input should be less than or equal to 3652500"),
    ("record: {loss_amount: %s}", ".inf", "Input should be a finite number"),
    ("record: {loss_amount: %s}", "1e20", "Input should be less than or equal to 10000000000000"),
])
def test_absurd_numbers_are_errors(tmp_path: Path, tiny: Path, field: str, value: str, message: str) -> None:
    text = CASE.replace("committed_on: 2025-06-01", "committed_on: 2025-06-01\n        " + field % value)
    code, _, err = advise(tmp_path, tiny, text)
    assert code == 2 and message in err


def test_unusual_facts_are_warnings_at_the_top_of_the_memo(tmp_path: Path, tiny: Path) -> None:
    code, out, _ = advise(tmp_path, tiny, CASE.replace("1990-05-01", "2009-01-01"), "--format", "json")
    import json
    assert code == 0
    assert json.loads(out)["warnings"][0] == ("The client was under 18 at the offense of option o, count 1 (2025-06-01): if "
                                              "it is (or was) in juvenile court, give disposition: juvenile_adjudication.")
    src = load_text(CASE.replace("1990-05-01", "1900-01-01"), "c.yaml")
    assert plausibility(parse_case(src), src, dt.date(2026, 1, 1)) == (
        [], ["The client's birth date 1900-01-01 makes the client 126 years old on 2026-01-01: check client.birth_date."])


# ---------------------------------------------------------------- 7. packs: every load-time check in advise too
def _pack_problem(tmp_path: Path, rules: Path) -> tuple[tuple[int, str], tuple[int, str]]:
    a = advise(tmp_path, rules, CASE)
    c = run("packs", "check", "--rules", str(rules))
    return (a[0], a[2]), (c[0], c[2])


def test_a_folder_without_pack_yaml_is_reported(tmp_path: Path) -> None:
    rules = make_rules(tmp_path / "r", RULE)
    stray = rules / "us" / "fines"
    stray.mkdir(parents=True)
    (stray / "fines.rules.yaml").write_text(RULE)
    (advise_code, advise_err), (check_code, check_err) = _pack_problem(tmp_path, rules)
    message = f"{stray}: a folder without pack.yaml: its files are not loaded; add a pack.yaml (docs/rule-authoring.md) or remove the folder"
    assert advise_code == 3 and message in advise_err
    assert check_code == 1 and f"error: {message}" in check_err


def test_a_duplicate_rule_id_fails_advise(tmp_path: Path) -> None:
    rules = make_rules(tmp_path / "r", RULE, extra={"more.rules.yaml": RULE})
    (code, err), _ = _pack_problem(tmp_path, rules)
    assert code == 3
    assert f"{rules / 't' / 'chain' / 'more.rules.yaml'}:2: t.chain.theft: duplicate rule id (also in " in err


def test_a_catalog_element_typo_fails_advise(tmp_path: Path) -> None:
    rules = make_rules(tmp_path / "r", RULE)
    cat = rules / "us" / "offenses"
    cat.mkdir(parents=True)
    (cat / "pack.yaml").write_text("id: us.offenses\ntitle: Federal offenses\njurisdiction: US\ndomain: offenses\n"
                                   "version: 1.0.0\ncurrent_through: 2026-01-01\nmaintainers: [tests]\ncatalog_verification: pending\n")
    (cat / "catalog.yaml").write_text("offenses:\n  - statute: T\n    citation: T § 1\n    elements: [thef]\n")
    (code, err), _ = _pack_problem(tmp_path, rules)
    assert code == 3 and f"{cat / 'catalog.yaml'}:2: T: elements: unknown element tag 'thef' (did you mean 'theft'?)" in err


def test_circular_derived_facts_are_reported_as_a_cycle(tmp_path: Path) -> None:
    rules = make_rules(tmp_path / "r", RULE, extra={"derived.yaml": """\
        derived:
          - path: client.finances.a
            description: first
            value: {add: [{fact: client.finances.b}, 1]}
            cite: "X § 1(a)"
          - path: client.finances.b
            description: second
            value: {add: [{fact: client.finances.a}, 1]}
            cite: "X § 1(b)"
        """})
    ps = load_all(rules)
    assert [str(p) for p in ps.problems] == [
        f"{rules / 't' / 'chain' / 'derived.yaml'}:2: client.finances.a: derived facts depend on each other in a cycle: "
        "client.finances.a -> client.finances.b -> client.finances.a"]


# ---------------------------------------------------------------- 8. the date against each pack's coverage
def test_a_date_outside_the_coverage_of_the_packs_is_warned_of_first(real_packs: Any) -> None:
    fines = real_packs.by_id("us.fines")
    start, through = coverage(fines)
    assert start == min(lr.rule.effective.from_ for lr in fines.rules if lr.rule.effective) and through == fines.manifest.current_through
    assert coverage_warnings([fines], through) == []
    assert coverage_warnings([fines], dt.date(2100, 1, 1)) == [
        f"The law is applied as of 2100-01-01, more than a year after us.fines (current through {through.isoformat()}): "
        "later changes in the law are not reflected."]
    assert coverage_warnings([fines], dt.date(1950, 1, 1)) == [
        f"The law is applied as of 1950-01-01, before the coverage of us.fines (covers {start.isoformat()} to "
        f"{through.isoformat()}): the law of that time is not encoded, so consequences may be missing or wrong."]


def test_as_of_2100_warns_in_the_memo_and_0001_is_refused(tmp_path: Path, tiny: Path) -> None:
    import json
    code, out, _ = advise(tmp_path, tiny, CASE, "--as-of", "2100-01-01", "--format", "json")
    assert code == 0 and json.loads(out)["warnings"][0] == (
        "The law is applied as of 2100-01-01, more than a year after t.chain (current through 2026-01-01): later "
        "changes in the law are not reflected.")
    code, out, err = advise(tmp_path, tiny, CASE.replace("2025-06-01", "1899-06-01"), "--as-of", "0001-01-01")
    assert (code, out, err) == (2, "", f"1 problem(s) in case file:\n  {tmp_path / 'case.yaml'}:3: as_of: the law cannot be "
                                       "applied as of 0001-01-01 (as_of or --as-of): the rule packs are checked from 1900-01-01\n")


# ---------------------------------------------------------------- 9. interview answers
LICENSE_CASE: dict[str, Any] = {"format": 1, "jurisdiction": "US", "options": [{"id": "a", "counts": [{"offense": {"statute": "A"}}]}]}


def _license_questions(case: Any) -> dict[str, Any]:
    from .test_coverage_interview import q, result
    licenses = case.client.licenses
    qs = [] if licenses is not None else [q("client.licenses.applying", "high", ["a/x"]), q("client.licenses.held", "high", ["a/y"])]
    return result(("a", qs))


def test_no_license_applied_for_never_records_no_license_held() -> None:
    told: list[str] = []
    answers = iter(["none", ""])     # none applied for; held: skipped
    out = run_interview(LICENSE_CASE, _license_questions, lambda q: next(answers), ["cdl", "emt"], told.append)
    assert "licenses" not in out.get("client", {})
    assert told == ["  held and applied-for licenses are recorded together (client.licenses): with one of them unknown, "
                    "neither is recorded"]
    answers = iter(["none", "cdl"])
    asked: list[str] = []

    def answer(question: Any) -> str:
        asked.append(question.key)
        return next(answers)
    out = run_interview(LICENSE_CASE, _license_questions, answer, ["cdl", "emt"])
    assert asked == ["client.licenses.applying", "client.licenses.held"]
    assert out["client"]["licenses"] == [{"type": "cdl", "status": "held"}]


def test_misspelt_answer_keys_are_errors_with_the_nearest_key(tmp_path: Path, tiny: Path) -> None:
    data = yaml.safe_load(CASE)
    assert answer_key_problem("client.licences.held", data) == ("not a question the interview asks", "client.licenses.held")
    assert answer_key_problem("client.licenses", data) == ("not a question the interview asks", "client.licenses.held")
    assert answer_key_problem("o|counts[0].record.los_amount", data) == (
        "'record.los_amount' is not a count fact the interview asks", "o|counts[0].record.loss_amount")
    assert answer_key_problem("x|counts[0].record.loss_amount", data) == (
        "no option 'x' in the case (options: o)", "")
    assert answer_key_problem("counts[1].sentence.fine", data) == ("there is no counts[1] (1 counts)", "")
    assert answer_key_problem("o|counts[0].sentence.fine", data) is None
    case = write_case(tmp_path)
    answers = tmp_path / "answers.yaml"
    answers.write_text("client.immigration.statuss: lpr\n")
    code, _, err = run("interview", str(case), "--rules", str(tiny), "--answers", str(answers), "-o", str(tmp_path / "o.yaml"))
    assert (code, err) == (2, f"1 problem(s) in answers file:\n  {answers}:1: client.immigration.statuss: not a question the "
                              "interview asks (did you mean 'client.immigration.status'?)\n")
    assert not (tmp_path / "o.yaml").exists()


def test_a_bad_scripted_answer_exits_2_and_unused_answers_are_reported(tmp_path: Path, tiny: Path) -> None:
    case = write_case(tmp_path, CASE.replace("client:\n  birth_date: 1990-05-01\n", ""))
    rules = make_rules(tmp_path / "r2", RULE.replace("when: {fact: count.offense.elements, has: theft}",
                                                     "when: {all: [{fact: count.offense.elements, has: theft}, "
                                                     "{fact: client.immigration.admission_date, lt: 2020-01-01}]}"))
    answers = tmp_path / "answers.yaml"
    answers.write_text("client.immigration.admission_date: 2030-01-01\n")
    out = tmp_path / "o.yaml"
    code, _, err = run("interview", str(case), "--rules", str(rules), "--answers", str(answers), "-o", str(out))
    assert (code, err) == (2, f"1 problem(s) in answers file:\n  {answers}:1: client.immigration.admission_date: not "
                              "accepted: client.immigration.admission_date: 2030-01-01 is after the date the law is applied "
                              "(2026-01-01: as_of or --as-of) (answer: '2030-01-01'); nothing was saved\n")
    assert not out.exists()
    answers.write_text("client.immigration.admission_date: 2015-01-01\nclient.civic.owns_firearm: false\n")
    code, _, err = run("interview", str(case), "--rules", str(rules), "--answers", str(answers), "-o", str(out))
    assert code == 0
    assert err == (f"warning: {answers}:2: client.civic.owns_firearm: not used: the interview did not ask it (the fact is "
                   f"already known, or no finding turns on it)\nsaved {out}\n")
    assert yaml.safe_load(out.read_text())["client"]["immigration"]["admission_date"] == "2015-01-01"


def test_a_terminal_answer_that_fails_validation_is_asked_again_keeping_earlier_answers(tmp_path: Path) -> None:
    case = write_case(tmp_path, CASE.replace("client:\n  birth_date: 1990-05-01\n", ""))
    rules = make_rules(tmp_path / "r2", RULE.replace("when: {fact: count.offense.elements, has: theft}",
                                                     "when: {all: [{fact: count.offense.elements, has: theft}, "
                                                     "{fact: client.finances.household_size, ge: 2}, "
                                                     "{fact: client.immigration.admission_date, lt: 2020-01-01}]}"))
    out = tmp_path / "o.yaml"
    code, stdout, err = run("interview", str(case), "--rules", str(rules), "-o", str(out), input="0\n3\n2015-01-01\n")
    assert code == 0, err
    assert "  not accepted: client.finances.household_size: Input should be greater than or equal to 1 (got 0)\n" in err
    saved = yaml.safe_load(out.read_text())["client"]
    assert saved["immigration"]["admission_date"] == "2015-01-01" and saved["finances"]["household_size"] == 3


# ---------------------------------------------------------------- 10. a newcomer's checkout
def test_the_quick_start_memo_is_ignored_and_docs_stand_alone() -> None:
    if shutil.which("git") and (ROOT / ".git").exists():
        proc = subprocess.run(["git", "check-ignore", "-q", "memo.md"], cwd=ROOT)
        assert proc.returncode == 0
    for doc in (ROOT / "docs").glob("*.md"):
        text = doc.read_text()
        assert "shared/spec" not in text and "../shared" not in text, doc.name
    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/collateral advise examples/ca-theft-lpr.yaml -o memo.md" in readme
    assert "`. .venv/bin/activate`" in readme
    assert (ROOT / "docs" / "limits.md").is_file()


# ---------------------------------------------------------------- 11. the two evaluators on generated cases (a sample)
def test_the_differential_benchmark_finds_no_disagreement_on_a_sample() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import differential
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    out = differential.compare(40, seed=12, full_every=20)
    assert out["cases"] == 40 and out["options"] == 80 and out["full"] == 2 and out["firings"] > 100
    assert out["disagreements"] == []


def test_a_three_count_new_york_case_does_not_crash_the_durable_engine(tmp_path: Path) -> None:
    """Regression: retracting stratum by stratum crashed durable_rules 2.0.28 (SIGSEGV) on this case; found by
    benchmarks/differential.py (SYN-00190). _reset now retracts the phase facts first, then the rest at once."""
    case = write_case(tmp_path, """\
        format: 1
        jurisdiction: US-NY
        as_of: 2026-11-26
        client: {immigration: {status: lpr}}
        options:
          - id: o
            counts:
              - offense: {statute: PL 220.03}
              - offense: {statute: PL 165.50}
              - offense: {statute: PL 215.10}
        """)
    proc = subprocess.run([sys.executable, str(ROOT / "cli.py"), "advise", str(case), "--no-alternatives", "-o",
                           str(tmp_path / "memo.md")], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
