"""Screening a docket (engine/batch/screen.py) on the inputs test_screen.py does not give: CSV exports that are not
UTF-8, not CSV, with blank rows, unknown row types and count numbers, cells in the ways exports write them;
JSON lines that are not JSON; files of a folder that cannot be read; a worker of another version; a case dated
before the packs; Parquet without pyarrow; the progress bar; an output that cannot be written."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import __version__
from engine.batch import screen as sc
from engine.law.packs import load_all
from engine.model.errors import EngineError, InputError
from engine.model.yamlsrc import MAX_BYTES

from .conftest import make_rules

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"


def _items(path: Path, warnings: list[str] | None = None) -> list[sc.Item]:
    return list(sc.read_items(path, "run", warnings))


def _message(exc: pytest.ExceptionInfo[InputError]) -> str:
    return "; ".join(p.message for p in exc.value.problems)


# ------------------------------------------------------------------------------------------ CSV


def test_a_csv_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_bytes("case_id,jurisdiction,statute\nC-1,CA,PC 484 \xe9\n".encode("latin-1"))
    with pytest.raises(InputError) as exc:
        _items(src)
    assert _message(exc) == "not UTF-8 text (export the CSV as UTF-8)"


def test_an_empty_csv_has_no_cases(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text("")
    assert _items(src) == []


def test_a_cell_larger_than_csv_allows_is_refused_with_its_line(tmp_path: Path) -> None:
    big = "x" * 200_000
    src = tmp_path / "export.csv"
    src.write_text(f"case_id,jurisdiction,statute,{big}\n")
    with pytest.raises(InputError) as exc:
        _items(src)
    assert _message(exc).startswith("not a CSV file: field larger than field limit")
    src.write_text(f"case_id,jurisdiction,statute\nC-1,CA,PC 484\nC-2,CA,{big}\n")
    with pytest.raises(InputError) as exc:
        _items(src)
    assert _message(exc).startswith("not a CSV row: field larger than field limit")
    assert exc.value.problems[0].line == 3


def test_csv_rows_that_cannot_be_read_make_their_case_an_error(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text("case_id,jurisdiction,statute,row_type,count\n"
                   "C-1,CA,PC 484,appeal,1\n"
                   ",,,,\n"
                   "C-2,CA,PC 484,option,first\n"
                   "C-3,CA,PC 484,charge,1\n")
    items = _items(src)
    assert [(i.case_id, i.error) for i in items] == [
        ("C-1", "1 problem(s) in export.csv: export.csv:2: row_type: 'appeal' is not one of option, charge, prior"),
        ("C-2", "1 problem(s) in export.csv: export.csv:4: count: 'first' is not a count number"),
        ("C-3", "")]
    assert items[2].data["charges"] == [{"offense": {"statute": "PC 484"}}]


def test_csv_cells_as_exports_write_them(tmp_path: Path) -> None:
    src = tmp_path / "export.csv"
    src.write_text("case_id,jurisdiction,circuit,annual_income,household_size,owns_firearm,licenses,offense_jurisdiction,"
                   "statute,custody_days,probation_months,loss_amount,option,option_label,consecutive\n"
                   'C-1,federal,9.0,"$31,000",2.5,N,registered_nurse:tx:applying;none,usa,18 USC 1001,"1,200.0",'
                   "twelve,lots,plea,The plea,Y\n"
                   "C-1,Federal,,,,,,,18 USC 1028,Unknown,,,plea,Another label,\n")
    warnings: list[str] = []
    [item] = _items(src, warnings)
    assert warnings == [] and item.error == ""
    data = item.data
    assert data["jurisdiction"] == "US" and data["circuit"] == 9
    assert data["client"]["finances"] == {"annual_income": 31000.0, "household_size": 2.5}
    assert data["client"]["civic"] == {"owns_firearm": False}
    assert data["client"]["licenses"] == [{"type": "registered_nurse", "issuer": "US-TX", "status": "applying"}]
    [option] = data["options"]
    assert option["label"] == "The plea" and option["consecutive"] is True   # the first row's label is kept
    first, second = option["counts"]
    assert first["offense"] == {"statute": "18 USC 1001", "jurisdiction": "US"}
    assert first["sentence"] == {"custody_days": 1200, "probation_months": "twelve"}   # left for the schema to report
    assert first["record"] == {"loss_amount": "lots"}
    assert second["sentence"] == {"custody_days": "unknown"}


# ------------------------------------------------------------------------------------------ JSON lines and folders


def test_a_json_line_that_is_not_json_is_an_error_of_its_own(tmp_path: Path) -> None:
    src = tmp_path / "docket.jsonl"
    src.write_text('{"case_id": "A", "format": 1}\n\n{not json}\n["a list"]\n')
    items = _items(src)
    assert [(i.index, i.case_id) for i in items] == [(0, "A"), (1, "docket.jsonl:3"), (2, "docket.jsonl:4")]
    assert items[1].error.startswith("docket.jsonl:3: not a JSON object (")
    assert items[2].error == "" and items[2].data == ["a list"]


def test_files_of_a_folder_that_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_bytes(b"format: 1\nname: \xff\xfe\n")
    (tmp_path / "b.yaml").write_bytes(b"#" * (MAX_BYTES + 1))
    (tmp_path / "c.review.yaml").write_text("format: 1\n")
    items = _items(tmp_path)
    assert [i.source for i in items] == ["a.yaml", "b.yaml"]
    assert items[0].error == "a.yaml: not UTF-8 text"
    assert items[1].error == (f"1 problem(s) in file: {tmp_path / 'b.yaml'}: the document is larger than 4,194,304 bytes "
                              "(4,194,305 or more); the limit is 4,194,304 bytes (docs/limits.md)")


def test_an_input_that_is_neither_folder_jsonl_nor_csv() -> None:
    with pytest.raises(InputError) as exc:
        sc.input_kind(EXAMPLE)
    assert "expected a folder of case files, a .jsonl file of cases" in _message(exc)


# ------------------------------------------------------------------------------------------ one case


def test_a_worker_of_another_version_refuses_the_case() -> None:
    item = sc.Item(0, "A", "a.yaml", "k", text=EXAMPLE.read_text())
    out = sc.screen_item(item, sc.Config(version="0.0.0-other"))
    assert out.status == "error" and out.rows == []
    assert out.error == (f"1 problem(s) in worker: this worker runs collateral {__version__}, the batch was started "
                         "with 0.0.0-other: install the same version on every worker")   # no empty ": :" place


def test_a_worker_whose_packs_differ_from_the_batch_refuses_the_case() -> None:
    item = sc.Item(0, "A", "a.yaml", "k", text=EXAMPLE.read_text())
    out = sc.screen_item(item, sc.Config(evaluator="plain", packs_digest="sha256:other-packs"))
    assert out.status == "error"
    assert "this worker's rule packs differ from those the batch was started with" in out.error


def test_a_case_dated_before_the_packs_is_an_error_of_its_case() -> None:
    text = EXAMPLE.read_text().replace("as_of: 2026-11-26", "as_of: 1899-06-01")
    assert "as_of: 1899-06-01" in text
    out = sc.screen_item(sc.Item(0, "A", "a.yaml", "k", text=text), sc.Config(evaluator="plain"))
    assert out.status == "error" and "the law cannot be applied as of 1899-06-01" in out.error


def test_a_case_with_a_misspelt_vocabulary_word_is_an_error_of_its_case() -> None:
    text = EXAMPLE.read_text().replace("goals: [remain", "goals: [remian")
    assert "remian" in text
    out = sc.screen_item(sc.Item(0, "A", "a.yaml", "k", text=text), sc.Config(evaluator="plain"))
    assert out.status == "error" and "remian" in out.error and out.rows == []


# ------------------------------------------------------------------------------------------ the run


def test_parquet_output_without_pyarrow_is_refused_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(InputError) as exc:
        sc.screen(tmp_path, tmp_path / "out.parquet", sc.Config())
    assert _message(exc) == "Parquet output needs pyarrow: pip install 'collateral[screen]' (docs/screen.md)"
    assert list(tmp_path.iterdir()) == []


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_only_on_a_terminal_with_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    assert type(sc.progress_for(object())) is sc.NullProgress
    bar = sc.progress_for(_Terminal())
    assert isinstance(bar, sc.RichProgress)
    with bar:
        bar.total(2)
        bar.advance()
        bar.advance()
    task = bar._p.tasks[0]
    assert task.total == 2 and task.completed == 2 and task.fields["rate"].endswith(" cases/s")
    monkeypatch.setitem(sys.modules, "rich.console", None)
    assert type(sc.progress_for(_Terminal())) is sc.NullProgress


def test_an_output_that_cannot_be_written_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(OSError):
        sc.write_atomic(tmp_path / "out.csv", b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_the_summary_lists_other_families_after_the_harms_and_the_fallbacks() -> None:
    fams = sc.load_families(sc.FAMILIES_FILE)
    harm = next(f.name for f in fams.by_name.values() if f.harm)
    other = next((f.name for f in fams.by_name.values() if not f.harm), None)
    if other is None:
        pytest.fail("the families file has no family that is not a harm")
    rows: list[dict[str, Any]] = [
        {"findings": [{"family": harm, "status": "applies", "severity": "high"},
                      {"family": harm, "status": "applies", "severity": "critical"},
                      {"family": other, "status": "possible", "severity": "low"}]}]
    report = sc.Report(cases=3, screened=3, skipped=1, fallbacks=1, rows=rows, summary=sc.summarize(rows, fams))
    text = sc.summary_text(report, fams)
    lines = text.splitlines()
    i_harm = next(i for i, line in enumerate(lines) if line.startswith(harm + " "))
    i_other = next(i for i, line in enumerate(lines) if line.startswith(other + " "))
    assert i_harm < i_other and set(lines[i_other - 1]) <= {"-", " "}
    # columns: critical high medium low info applies possible
    assert lines[i_harm].split()[1:] == ["1", "0", "0", "0", "0", "1", "0"]   # counted once, at its worst severity
    assert lines[i_other].split()[1:] == ["0", "0", "0", "0", "0", "0", "1"]
    assert lines[-1].startswith("2 case(s), 1 option(s): 2 screened, 0 already done (--resume), 0 error(s), "
                                "1 file(s) not case files, 1 evaluated with the plain evaluator after durable_rules failed; ")



def test_a_case_the_parent_could_not_read_comes_back_as_its_error() -> None:
    out = sc.screen_item(sc.Item(3, "C-9", "export.csv:9", "", error="export.csv:9: row_type: 'x' is not one of"),
                         sc.Config(evaluator="plain"))
    assert (out.index, out.status, out.error, out.rows) == (3, "error", "export.csv:9: row_type: 'x' is not one of", [])


def test_a_prong_the_statute_does_not_have_is_an_error_of_its_case() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["options"][0]["counts"][0]["offense"] = {"statute": "PC 459", "prong": "third-degree"}
    out = sc.screen_item(sc.Item(0, "A", "a.yaml", "k", text=yaml.safe_dump(data)), sc.Config(evaluator="plain"))
    assert out.status == "error" and "'third-degree' is not a prong of PC 459" in out.error


def test_memos_come_back_with_the_rows() -> None:
    out = sc.screen_item(sc.Item(0, "A", "a.yaml", "k", text=EXAMPLE.read_text()), sc.Config(evaluator="plain", memos=True))
    assert out.status == "ok" and out.rows
    assert out.memo_text is not None and "LA-2026-CR-0142" in out.memo_text and "PC 487(a)" in out.memo_text


def test_a_rule_engine_failure_is_reported_with_its_case(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(engine: Any, src: Any, config: Any) -> Any:
        raise EngineError("durable_rules lost a fact\nat line 2")

    monkeypatch.setattr(sc, "_advise", fail)
    out = sc.screen_item(sc.Item(0, "A", "a.yaml", "k", text=EXAMPLE.read_text()), sc.Config(evaluator="plain"))
    assert out.status == "error" and out.error.startswith("rule engine failure: ") and "\n" not in out.error


def test_a_csv_larger_than_the_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sc, "MAX_CSV_BYTES", 40)
    src = tmp_path / "export.csv"
    src.write_text("case_id,jurisdiction,statute\nC-1,CA,PC 484\nC-2,CA,PC 484\n")
    with pytest.raises(InputError) as exc:
        _items(src)
    assert _message(exc) == "larger than 40 characters: split the export"


def test_an_errors_file_must_be_csv_or_jsonl(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        sc.screen(tmp_path, tmp_path / "out.csv", sc.Config(), errors=tmp_path / "errors.txt")
    assert _message(exc) == "the errors file is named .csv or .jsonl"


def test_rule_packs_with_problems_stop_the_batch(tmp_path: Path) -> None:
    root = make_rules(tmp_path, "- id: t.chain.x\n  this is: not a rule\n")
    packs = load_all(root)
    assert packs.problems
    (tmp_path / "cases").mkdir()
    with pytest.raises(InputError) as exc:
        sc.screen(tmp_path / "cases", tmp_path / "out.csv", sc.Config(), packset=packs)
    assert "rule packs" in str(exc.value)
    assert not (tmp_path / "out.csv").exists()


def test_an_empty_folder_screens_nothing_and_starts_no_worker(tmp_path: Path, real_packs: Any) -> None:
    (tmp_path / "cases").mkdir()
    report = sc.screen(tmp_path / "cases", tmp_path / "out.jsonl", sc.Config(), backend="local", packset=real_packs)
    assert (report.cases, report.screened, report.rows, report.errors) == (0, 0, [], [])
    assert (tmp_path / "out.jsonl").read_text() == ""


def test_resume_screens_again_a_case_the_journal_has_as_an_error(tmp_path: Path, real_packs: Any) -> None:
    src = tmp_path / "cases.jsonl"
    src.write_text('{"format": 1, "case_id": "B-1", "jurisdiction": "US-CA", '
                   '"options": [{"id": "a", "counts": [{"offense": {"statute": "PC 4877"}}]}]}\n')
    out = tmp_path / "out.jsonl"
    first = sc.screen(src, out, sc.Config(evaluator="plain"), backend="inline", packset=real_packs)
    assert [e["case_id"] for e in first.errors] == ["B-1"]
    key = first.errors[0]["key"]
    sc.journal_path(out).write_text("not json\n" + json.dumps({"status": "error", "key": key, "rows": []}) + "\n")
    again = sc.screen(src, out, sc.Config(evaluator="plain"), backend="inline", resume=True, packset=real_packs)
    assert again.resumed == 0 and [e["case_id"] for e in again.errors] == ["B-1"]
    assert "not in the US-CA offense catalog" in again.errors[0]["error"]


def test_the_summary_without_other_families(tmp_path: Path) -> None:
    fams = sc.load_families(sc.FAMILIES_FILE)
    harm = next(f.name for f in fams.by_name.values() if f.harm)
    rows: list[dict[str, Any]] = [{"findings": [{"family": harm, "status": "applies", "severity": "medium"}]}]
    report = sc.Report(cases=1, screened=1, rows=rows, summary=sc.summarize(rows, fams))
    lines = sc.summary_text(report, fams).splitlines()
    assert len(lines) == 5 and lines[3].split() == [harm, "0", "0", "1", "0", "0", "1", "0"]
    assert lines[4].startswith("1 case(s), 1 option(s): 1 screened, 0 already done (--resume), 0 error(s); ")


def test_resume_with_memos_screens_again_a_case_whose_memo_is_gone(tmp_path: Path, real_packs: Any) -> None:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "ca.yaml").write_text(EXAMPLE.read_text())
    out, memos = tmp_path / "out.jsonl", tmp_path / "memos"
    config = sc.Config(evaluator="plain")
    first = sc.screen(tmp_path / "cases", out, config, backend="inline", memos=memos, packset=real_packs)
    assert first.errors == [] and first.resumed == 0
    [memo] = list(memos.iterdir())
    assert "LA-2026-CR-0142" in memo.read_text()
    again = sc.screen(tmp_path / "cases", out, config, backend="inline", memos=memos, resume=True, packset=real_packs)
    assert again.resumed == 1 and again.screened == 0
    memo.unlink()
    third = sc.screen(tmp_path / "cases", out, config, backend="inline", memos=memos, resume=True, packset=real_packs)
    assert third.resumed == 0 and third.screened == 1 and memo.exists()
