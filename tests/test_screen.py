"""`collateral screen`: the three input forms, the three output forms, bad cases, --resume, determinism across
--jobs, memos, and the Dask backend on a local cluster (docs/screen.md)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from engine.batch import screen as sc
from engine.law.families import load as load_families
from engine.law.families import parse as parse_families

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
SAMPLE = ROOT / "examples" / "docket" / "docket.csv"
EXAMPLE_IDS = ["LA-2026-CR-0142", "HARRIS-2026-0311", "QN-2026-04417", "ORANGE-2026-MM-2290"]


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def as_jsonl(paths: list[Path], target: Path, extra: list[str] = ()) -> Path:  # type: ignore[assignment]
    lines = [json.dumps(yaml.safe_load(p.read_text()), default=str) for p in paths] + list(extra)
    target.write_text("\n".join(lines) + "\n")
    return target


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without what depends on where the case came from (source, resume key)."""
    return [{k: v for k, v in r.items() if k not in ("source", "key")} for r in rows]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cases")
    for p in EXAMPLES:
        shutil.copy(p, d / p.name)
    (d / "notes.yaml").write_text("just: notes\n")          # not a case file: skipped, not an error
    return d


@pytest.fixture(scope="module")
def folder_rows(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("out") / "rows.jsonl"
    report = sc.screen(folder, out, sc.Config(), backend="inline")
    assert report.errors == [] and report.skipped == 1
    return sc.read_rows(out)


def test_a_folder_of_case_files_gives_one_row_per_case_and_option(folder_rows: list[dict[str, Any]]) -> None:
    assert [(r["case_id"], r["option"]) for r in folder_rows] == [
        ("LA-2026-CR-0142", "offer"), ("LA-2026-CR-0142", "counter"), ("LA-2026-CR-0142", "trial"),
        ("ORANGE-2026-MM-2290", "offer"), ("ORANGE-2026-MM-2290", "counter"),
        ("QN-2026-04417", "offer"), ("QN-2026-04417", "counter"),
        ("HARRIS-2026-0311", "offer"), ("HARRIS-2026-0311", "counter")]
    la = folder_rows[0]
    assert la["source"] == "ca-theft-lpr.yaml"
    assert list(la) == sc.columns(load_families())
    assert la["worst.immigration"] == "critical" and la["worst"] == "critical"
    assert la["flag.immigration.deportability"] == "applies"
    assert la["flag.jury.disqualification"] == "applies"
    assert la["money_total"] == 12370.0
    assert (la["questions_client"], la["questions_counsel"]) == (3, 1)
    assert all(f["family"] and not f["family"].endswith(".unmapped") for r in folder_rows for f in r["findings"])
    assert folder_rows[1]["worst.immigration"] == "none"     # the petty-theft counter-offer


def test_the_rows_say_what_advise_says(folder_rows: list[dict[str, Any]]) -> None:
    code, out, _ = run("advise", str(ROOT / "examples" / "ca-theft-lpr.yaml"), "--format", "json", "--no-alternatives")
    assert code == 0
    result = json.loads(out)
    for row, option in zip(folder_rows[:3], result["options"]):
        assert row["money_total"] == option["financial"]["total"]
        assert [f["id"] for f in row["findings"]] == [f["id"] for f in option["findings"]]
        for area, by_option in result["comparison"]["by_domain"].items():
            if area in sc.AREAS:
                assert row[f"worst.{area}"] == by_option[option["id"]]


def test_json_lines_input_gives_the_same_rows(folder_rows: list[dict[str, Any]], tmp_path: Path) -> None:
    src = as_jsonl(sorted(EXAMPLES, key=lambda p: p.name), tmp_path / "cases.jsonl")
    report = sc.screen(src, tmp_path / "out.jsonl", sc.Config(), backend="inline")
    rows = sc.read_rows(tmp_path / "out.jsonl")
    assert report.errors == [] and rows[0]["source"] == "cases.jsonl:1"
    assert comparable(rows) == comparable(folder_rows)


def test_the_csv_sample_reads_as_the_example_case_files(folder_rows: list[dict[str, Any]], tmp_path: Path) -> None:
    report = sc.screen(SAMPLE, tmp_path / "out.jsonl", sc.Config(), backend="inline")
    assert report.errors == []
    assert report.warnings == ["docket.csv: columns not used: Attorney, Next Court Date (docs/screen.md lists the columns read)"]
    rows = sc.read_rows(tmp_path / "out.jsonl")
    assert len({r["case_id"] for r in rows}) == 7
    assert rows[0]["source"] == "docket.csv:2"
    for cid in EXAMPLE_IDS:
        assert comparable([r for r in rows if r["case_id"] == cid]) == comparable([r for r in folder_rows if r["case_id"] == cid])


def test_csv_columns_are_mapped_into_a_case_file(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text(
        "Case Number,State,DOB,Immigration Status,Licenses,Goals,Row Type,Offer,Count,Statute,Disposition,Jail Days,Fine,Personal Use\n"
        "C-1,tx,1990-01-02,lpr,registered_nurse:TX;cdl,remain;travel,option,plea,2,PC 31.03,conviction,30,\"1,250\",unknown\n"
        "C-1,TX,,,,,prior,,,PC 31.03,conviction,,,\n"
        "C-1,TX,,,,,option,plea,1,HSC 481.115(b),deferred_adjudication,0,,yes\n")
    items = list(sc.read_items(src, "run"))
    assert len(items) == 1 and not items[0].error
    data = items[0].data
    assert data["jurisdiction"] == "US-TX" and data["client"]["birth_date"] == "1990-01-02"
    assert data["client"]["licenses"] == [{"type": "registered_nurse", "issuer": "US-TX"}, {"type": "cdl"}]
    assert data["client"]["immigration"] == {"status": "lpr", "goals": ["remain", "travel"]}
    assert data["history"] == [{"offense": {"statute": "PC 31.03"}, "disposition": "conviction"}]
    counts = data["options"][0]["counts"]   # ordered by the count number, not by the rows
    assert [c["offense"]["statute"] for c in counts] == ["HSC 481.115(b)", "PC 31.03"]
    assert counts[0]["record"] == {"personal_use": True}
    assert counts[1]["sentence"] == {"custody_days": 30, "fine": 1250.0} and counts[1]["record"] == {"personal_use": "unknown"}
    assert items[0].lines[("options", 0, "counts", 0)] == 4 and items[0].lines[("history", 0)] == 3


def test_csv_rows_that_disagree_on_the_client_make_the_case_an_error(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text("case_id,jurisdiction,birth_date,statute\nC-1,CA,1990-01-02,PC 484\nC-1,CA,1991-01-02,PC 484\n"
                   ",CA,,PC 484\nC-2,CA,,PC 484\n")
    items = list(sc.read_items(src, "run"))
    assert [i.case_id for i in items] == ["C-1", "export.csv:4", "C-2"]
    assert items[0].error == "1 problem(s) in export.csv: export.csv:3: birth_date: '1991-01-02' differs from line 2 of the same case"
    assert items[1].error == "1 problem(s) in export.csv: export.csv:4: case_id: empty"
    assert not items[2].error


def test_a_csv_without_the_required_columns_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text("case_id,statute\nC-1,PC 484\n")
    code, _, err = run("screen", str(src), "-o", str(tmp_path / "out.csv"))
    assert code == 2
    assert "missing column(s): jurisdiction (docs/screen.md)" in err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("name", ["out.csv", "out.jsonl", "out.parquet"])
def test_each_output_format_reads_back_to_the_same_rows(name: str, folder: Path, folder_rows: list[dict[str, Any]],
                                                        tmp_path: Path) -> None:
    report = sc.screen(folder, tmp_path / name, sc.Config(), backend="inline")
    assert report.errors == []
    assert sc.read_rows(tmp_path / name) == folder_rows
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "out.errors.csv"])   # no journal, no temporary file
    if name == "out.csv":
        with open(tmp_path / name, newline="") as fh:
            header = next(csv.reader(fh))
        assert header == sc.columns(load_families())
        assert (tmp_path / "out.errors.csv").read_text() == "case_id,source,key,error\n"


BAD = [json.dumps({"format": 1, "case_id": "BAD-STATUTE", "jurisdiction": "US-CA", "as_of": "2026-11-26",
                   "options": [{"id": "offer", "counts": [{"offense": {"statute": "PC 99999"}}]}]}),
       "{not json",
       json.dumps({"format": 1, "case_id": "BAD-FIELD", "jurisdiction": "US-CA",
                   "options": [{"id": "offer", "counts": [{"offense": {"statute": "PC 484"}, "disposition": "convicted"}]}]})]


def test_bad_cases_go_to_the_errors_file_and_the_batch_finishes(tmp_path: Path) -> None:
    src = as_jsonl(EXAMPLES[:1], tmp_path / "cases.jsonl", BAD + [json.dumps(yaml.safe_load(EXAMPLES[1].read_text()), default=str)])
    out, errors = tmp_path / "out.csv", tmp_path / "problems.jsonl"
    code, stdout, stderr = run("screen", str(src), "-o", str(out), "--errors", str(errors), "--jobs", "1")
    assert code == 1
    assert stderr.endswith(f"wrote {out} (5 rows) and {errors} (3 error(s))\n")
    assert "5 case(s), 5 option(s): 2 screened, 0 already done (--resume), 3 error(s)" in stdout
    assert {r["case_id"] for r in sc.read_rows(out)} == {"LA-2026-CR-0142", "ORANGE-2026-MM-2290"}
    errs = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [(e["case_id"], e["source"]) for e in errs] == [("BAD-STATUTE", "cases.jsonl:2"), ("cases.jsonl:3", "cases.jsonl:3"),
                                                          ("BAD-FIELD", "cases.jsonl:4")]
    assert errs[0]["error"].startswith("1 problem(s) in case file: cases.jsonl:2: options[0].counts[0].offense.statute: "
                                       "'PC 99999' is not in the US-CA offense catalog")
    assert errs[1]["error"].startswith("cases.jsonl:3: not a JSON object")
    assert "'convicted' is not valid" in errs[2]["error"] and "(did you mean 'conviction'?)" in errs[2]["error"]


def test_an_unexpected_failure_is_reported_with_its_case(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = sc._advise

    def flaky(engine: Any, src: Any, config: Any) -> Any:
        if src.data.get("case_id") == "ORANGE-2026-MM-2290":
            raise ZeroDivisionError("boom")
        return real(engine, src, config)

    monkeypatch.setattr(sc, "_advise", flaky)
    src = as_jsonl(EXAMPLES[:2], tmp_path / "cases.jsonl")
    report = sc.screen(src, tmp_path / "out.jsonl", sc.Config(), backend="inline")
    assert report.errors == [{"case_id": "ORANGE-2026-MM-2290", "source": "cases.jsonl:2", "key": report.errors[0]["key"],
                              "error": "internal error: ZeroDivisionError: boom"}]
    assert len(report.rows) == 3


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt (which pytest keeps for itself)."""


def test_resume_skips_the_cases_already_done(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = as_jsonl([EXAMPLES[0], EXAMPLES[1], EXAMPLES[3]], tmp_path / "cases.jsonl")
    out = tmp_path / "out.parquet"
    calls: list[str] = []
    stop = ["HARRIS-2026-0311"]
    real = sc.screen_item

    def counted(item: sc.Item, config: sc.Config) -> sc.Outcome:
        calls.append(item.case_id)
        if item.case_id in stop:
            stop.clear()
            raise Interrupted   # the batch is interrupted at the third case (as by Ctrl-C)
        return real(item, config)

    monkeypatch.setattr(sc, "screen_item", counted)
    with pytest.raises(Interrupted):
        sc.screen(src, out, sc.Config(), backend="inline")
    assert not out.exists() and sc.journal_path(out).exists()
    calls.clear()
    report = sc.screen(src, out, sc.Config(), resume=True, backend="inline")           # goes on where it stopped
    assert calls == ["HARRIS-2026-0311"] and report.resumed == 2
    first = out.read_bytes()
    assert not sc.journal_path(out).exists()

    calls.clear()
    report = sc.screen(src, out, sc.Config(), resume=True, backend="inline")           # everything done: nothing to evaluate
    assert calls == [] and report.resumed == 3 and out.read_bytes() == first

    cases = src.read_text().splitlines()
    changed = json.loads(cases[2])
    changed["options"][0]["counts"][0]["sentence"]["probation_months"] = 6
    cases[2] = json.dumps(changed)
    src.write_text("\n".join(cases) + "\n")
    calls.clear()
    sc.screen(src, out, sc.Config(), resume=True, backend="inline")                    # only the changed case again
    assert calls == ["HARRIS-2026-0311"]


def test_the_resume_key_covers_the_case_the_packs_the_families_and_the_law_date(real_packs: Any, tmp_path: Path) -> None:
    src = as_jsonl(EXAMPLES[:2], tmp_path / "cases.jsonl")
    fams = load_families()
    day = sc.dt.date(2026, 11, 26)

    def keys(config: sc.Config, packs: Any = real_packs, families: Any = fams) -> list[str]:
        return [i.key for i in sc.read_items(src, sc.run_digest(packs, families, config))]

    base = keys(sc.Config(today=day))
    assert len(set(base)) == 2 and base == keys(sc.Config(today=day))
    assert keys(sc.Config(today=day, evaluator="plain")) == base           # both evaluators give the same result
    for other in (keys(sc.Config(today=sc.dt.date(2026, 11, 27))), keys(sc.Config(today=day, as_of=day)),
                  keys(sc.Config(today=day, alternatives=True)),
                  keys(sc.Config(today=day), families=parse_families({"families": {"a.b": {"codes": ["x.y"]}}}, "f")),
                  keys(sc.Config(today=day), packs=type("P", (), {"packs": real_packs.packs[1:]})())):
        assert set(other).isdisjoint(base)


def test_jobs_1_and_jobs_2_write_the_same_bytes_and_memos(folder: Path, tmp_path: Path) -> None:
    outs = []
    for jobs in ("1", "2"):
        out, memos = tmp_path / f"out{jobs}.csv", tmp_path / f"memos{jobs}"
        code, stdout, _ = run("screen", str(folder), "-o", str(out), "--jobs", jobs, "--memos", str(memos))
        assert code == 0, stdout
        outs.append((out.read_text().replace(str(memos), "MEMOS"), stdout.splitlines()[:-1],
                     {p.name: p.read_text() for p in memos.iterdir()}))
    assert outs[0] == outs[1]
    text, _, memo_files = outs[0]
    assert len(memo_files) == 4
    rows = list(csv.DictReader(text.splitlines()))
    la = next(r for r in rows if r["case_id"] == "LA-2026-CR-0142")
    assert la["memo"] == f"MEMOS/{sc.memo_name('LA-2026-CR-0142', la['key'])}"
    assert memo_files[Path(la["memo"]).name].startswith("# PRIVILEGED AND CONFIDENTIAL")


def test_the_summary_counts_case_options_per_family_and_severity(folder: Path, tmp_path: Path) -> None:
    code, stdout, stderr = run("screen", str(folder), "-o", str(tmp_path / "out.jsonl"), "--jobs", "1")
    assert code == 0
    assert "\x1b" not in stderr and "screening" not in stderr          # no progress bar off a terminal
    lines = stdout.splitlines()
    assert lines[1].split() == ["family", "critical", "high", "medium", "low", "info", "applies", "possible"]
    jury = next(line.split() for line in lines if line.startswith("jury.disqualification "))
    assert jury == ["jury.disqualification", "0", "0", "0", "4", "0", "4", "0"]
    assert lines[-1].startswith("4 case(s), 9 option(s): 4 screened, 0 already done (--resume), 0 error(s), 1 file(s) not case files")


def test_usage_errors(tmp_path: Path) -> None:
    code, _, err = run("screen", str(SAMPLE), "-o", str(tmp_path / "out.xlsx"))
    assert code == 2 and "the output is named .csv, .jsonl or .parquet" in err
    code, _, err = run("screen", str(SAMPLE), "-o", str(tmp_path / "out.csv"), "--scheduler", "tcp://127.0.0.1:8786")
    assert code == 2 and "--scheduler needs --backend dask" in err
    code, _, err = run("screen", str(SAMPLE), "-o", str(SAMPLE))
    assert code == 2 and "refusing to write over" in err
    code, _, err = run("screen", str(ROOT / "examples" / "ca-theft-lpr.yaml"), "-o", str(tmp_path / "out.csv"))
    assert code == 2 and "expected a folder of case files, a .jsonl file" in err


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_dask_backend_on_a_local_cluster_gives_the_same_rows(folder_rows: list[dict[str, Any]], tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    src = as_jsonl(sorted(EXAMPLES, key=lambda p: p.name), tmp_path / "cases.jsonl", BAD[:1])
    out = tmp_path / "out.jsonl"
    report = sc.screen(src, out, sc.Config(), backend="dask", jobs=1, dask_processes=False)
    assert [e["case_id"] for e in report.errors] == ["BAD-STATUTE"]
    assert comparable(sc.read_rows(out)) == comparable(folder_rows)


def test_a_worker_that_dies_or_hangs_costs_only_its_case(tmp_path: Path) -> None:
    from tests.screen_workers import CRASH, HANG, crash_or_hang

    src = as_jsonl([EXAMPLES[0], EXAMPLES[1], EXAMPLES[3]], tmp_path / "cases.jsonl")
    items = list(sc.read_items(src, "run"))
    got: list[sc.Outcome] = []
    # the limit leaves a loaded machine time to start a worker and screen a real case; only the hang reaches it
    sc.run_pool(items, sc.Config(), 2, got.append, timeout=20, worker=crash_or_hang)
    by_id = {o.case_id: o for o in got}
    assert sorted(by_id) == sorted(["LA-2026-CR-0142", CRASH, HANG])
    assert by_id["LA-2026-CR-0142"].status == "ok" and by_id["LA-2026-CR-0142"].rows[0]["warnings"] == ""
    crashed = by_id[CRASH]
    assert crashed.status == "ok" and len(crashed.rows) == 2
    assert crashed.rows[0]["warnings"].startswith(
        "durable_rules failed on this case (the worker process died while screening this case (exit code 11)); "
        "it was evaluated with the plain evaluator, which gives the same results")
    assert (by_id[HANG].status, by_id[HANG].error) == ("error", "internal error: the case took longer than 20 s (--timeout)")
