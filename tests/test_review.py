"""Counsel's review of flagged risks: stable flag ids, review files, advise --review, the review queue."""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from engine.model.casefile import parse_case
from engine.model.errors import InputError
from engine.model.yamlsrc import load_file
from engine.review.workflow import apply_review, assign_flag_ids, load_review

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"
DETENTION = "offer:imm.detention.mandatory:PC 487(a)"
DEPORTABLE = "offer:imm.deportable.cimt:PC 487(a)"


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


def advise_json(case: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run("advise", str(case), "--format", "json", "--no-alternatives", *extra)
    assert code == 0, err
    return dict(json.loads(out))


def flags(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["flag_id"]: f for o in result["options"] for f in o["findings"]}


def edit_case(src: Path, dst: Path, change: Any) -> Path:
    data = yaml.safe_load(src.read_text())
    change(data)
    dst.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return dst


def fill(review: Path, verdicts: dict[str, dict[str, Any]], default: dict[str, Any] | None = None,
         added: list[dict[str, Any]] | None = None) -> None:
    data = yaml.safe_load(review.read_text())
    for e in data["flags"]:
        if "id" in e and e["id"] in verdicts:
            e.update(verdicts[e["id"]])
        elif "id" in e and default and e["id"].startswith("offer:"):
            e.update(default)
    data["flags"].extend(added or [])
    review.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


SIGNED = {"reviewer": "A. Counsel", "date": "2026-12-01"}


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    """The example's result (computed once: every engine run costs seconds)."""
    return advise_json(EXAMPLE)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The example's review file as `collateral review` writes it, before counsel fills it in."""
    dst = tmp_path_factory.mktemp("template") / "ca.yaml"
    shutil.copy(EXAMPLE, dst)
    code, _, err = run("review", str(dst))
    assert code == 0, err
    return dst.with_name("ca.review.yaml").read_text()


@pytest.fixture
def case(tmp_path: Path) -> Path:
    dst = tmp_path / "ca.yaml"
    shutil.copy(EXAMPLE, dst)
    return dst


@pytest.fixture
def blank(case: Path, template: str) -> Path:
    rv = case.with_name("ca.review.yaml")
    rv.write_text(template)
    return rv


@pytest.fixture
def reviewed(blank: Path) -> Path:
    """The example with a review file: every offer flag confirmed, mandatory detention overridden to absent."""
    rv = blank
    fill(rv, {DETENTION: {"verdict": "overridden", "status": "absent", "authority": "Matter of Example, 28 I&N Dec. 1 (BIA 2026)",
                          "note": "The term will be reduced to 364 days.", **SIGNED}},
         default={"verdict": "confirmed", **SIGNED})
    return rv


# ------------------------------------------------------------------------------------------------ flag ids
def test_every_finding_of_every_example_has_a_unique_flag_id(base: dict[str, Any]) -> None:
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        r = base if example == EXAMPLE else advise_json(example)
        ids = [f["flag_id"] for o in r["options"] for f in o["findings"]]
        assert len(ids) == len(set(ids)), example
        assert all(f["source"] == "rules" for o in r["options"] for f in o["findings"])


def test_flag_ids_name_the_option_code_and_catalog_statute(base: dict[str, Any], durable_engine: Any) -> None:
    f = flags(base)
    assert f[DEPORTABLE]["id"] == "offer/imm.deportable.cimt@0"
    assert "offer:imm.not_aggravated_felony" in f          # option level: no statute
    assert "counter:imm.cimt:PC 490.2" in f
    # a divisible statute: the catalog key and the prong the citation names
    assert any(k.startswith("trial:") and k.endswith(":PC 459 prong second-degree") for k in f)
    # from the prior record
    src = load_file(ROOT / "examples" / "ny-larceny-two-counts.yaml")
    ny_case = parse_case(src)
    ny = durable_engine.advise(ny_case, alternatives=False)
    assign_flag_ids(ny, ny_case, durable_engine.catalogs)
    assert any(k.endswith(":prior PL 155.25") for k in flags(ny))


def test_flag_ids_do_not_depend_on_how_the_statute_is_written_or_the_count_order(base: dict[str, Any], tmp_path: Path) -> None:
    def respell(d: dict[str, Any]) -> None:
        d["options"][0]["counts"][0]["offense"]["statute"] = "Cal. Penal Code § 487(a)"
        d["charges"].reverse()
    other = flags(advise_json(edit_case(EXAMPLE, tmp_path / "b.yaml", respell)))
    assert set(other) == set(flags(base))
    assert other["trial:imm.cimt:PC 487(a)"]["id"] != flags(base)["trial:imm.cimt:PC 487(a)"]["id"]   # the count moved


def test_counts_under_the_same_statute_are_told_apart_in_case_order(durable_engine: Any) -> None:
    src = load_file(EXAMPLE)
    data = yaml.safe_load(EXAMPLE.read_text())
    data["options"][0]["counts"].append(dict(data["options"][0]["counts"][0]))
    src.data = data
    case_file = parse_case(src)
    result = durable_engine.advise(case_file, alternatives=False)
    assign_flag_ids(result, case_file, durable_engine.catalogs)
    f = {x["flag_id"]: x for x in result["options"][0]["findings"]}
    assert f["offer:imm.cimt:PC 487(a)"]["id"] == "offer/imm.cimt@0"
    assert f["offer:imm.cimt:PC 487(a) #2"]["id"] == "offer/imm.cimt@1"


# ------------------------------------------------------------------------------------------------ review files
def test_review_writes_every_flag_with_an_empty_verdict(base: dict[str, Any], template: str, tmp_path: Path) -> None:
    assert template.startswith("# Counsel's review")
    data = yaml.safe_load(template)
    assert data["case_id"] == "LA-2026-CR-0142" and data["format"] == 1
    assert [e["id"] for e in data["flags"]] == [f["flag_id"] for o in base["options"] for f in o["findings"]]
    e = next(e for e in data["flags"] if e["id"] == DEPORTABLE)
    assert e["found"] == "applies" and e["severity"] == "critical" and e["title"].startswith("Deportable")
    assert e["verdict"] is None and e["reviewer"] is None
    assert f"- id: {DEPORTABLE}\n" in template and "  verdict:\n" in template   # blanks to fill, not 'null'


def test_review_update_keeps_verdicts_and_orphans(case: Path, reviewed: Path) -> None:
    # the offer's term drops to 364 days: mandatory detention is no longer found, its reviewed override is kept
    edit_case(case, case, lambda d: d["options"][0]["counts"][0]["sentence"].update(custody_days=364))
    code, _, err = run("review", str(case))
    assert code == 0, err
    assert err.startswith(f"wrote {reviewed}: ") and "no longer found" in err
    data = yaml.safe_load(reviewed.read_text())
    by_id = {e["id"]: e for e in data["flags"]}
    assert by_id[DEPORTABLE]["verdict"] == "confirmed" and by_id[DEPORTABLE]["reviewer"] == "A. Counsel"
    assert by_id[DETENTION]["orphan"] is True and by_id[DETENTION]["verdict"] == "overridden"
    assert by_id["counter:imm.cimt:PC 490.2"]["verdict"] is None
    assert load_review(reviewed).model.flags   # still a valid review file


def _index(rv: Path, flag: str) -> int:
    return next(i for i, e in enumerate(yaml.safe_load(rv.read_text())["flags"]) if e.get("id") == flag)


def _errors(rv: Path, result: dict[str, Any]) -> str:
    with pytest.raises(InputError) as exc:
        apply_review(copy.deepcopy(result), load_review(rv))
    return str(exc.value)


def test_a_malformed_verdict_is_an_error_with_file_line_and_suggestion(case: Path, blank: Path) -> None:
    fill(blank, {DEPORTABLE: {"verdict": "confirmd", **SIGNED}})
    code, _, err = run("advise", str(case), "--no-alternatives", "--review", str(blank))
    assert code == 2
    line = next(i for i, t in enumerate(blank.read_text().splitlines(), 1) if t.strip() == "verdict: confirmd")
    assert f"{blank}:{line}: flags[{_index(blank, DEPORTABLE)}].verdict: 'confirmd' is not valid" in err
    assert "did you mean 'confirmed'" in err


def test_incomplete_verdicts_are_errors_with_file_and_line(blank: Path, base: dict[str, Any]) -> None:
    data = yaml.safe_load(blank.read_text())
    data["flags"][1].update(verdict="overridden", **SIGNED)              # no status, no authority
    data["flags"][2].update(verdict="confirmed")                         # unsigned
    data["flags"][3].update(status="absent")                             # a status without an override
    data["flags"][4].update(added={"option": "offer", "code": "imm.x", "summary": "s" * 5, "citation": "c" * 5})
    blank.write_text(yaml.safe_dump(data, sort_keys=False))
    err = _errors(blank, base)
    lines = blank.read_text().splitlines()

    def at(i: int, fld: str) -> str:
        n = next(j for j, t in enumerate(lines, 1) if t == f"- id: {data['flags'][i]['id']}")
        n += next(k for k, t in enumerate(lines[n - 1:]) if t.strip().startswith(f"{fld}:"))
        return f"{blank}:{n}: flags[{i}].{fld}: "
    assert at(1, "verdict") + "an override needs `status`" in err
    assert at(1, "verdict") + "an override needs `authority`" in err
    assert at(2, "reviewer") + "a verdict needs the reviewer's name" in err
    assert at(2, "date") + "a verdict needs its date" in err
    assert at(3, "status") + "`status` is the corrected status of an override" in err
    assert "flags[4]: give either `id` (a flag the rules found) or `added`" in err


def test_an_unknown_flag_id_is_an_error_with_the_nearest_id(case: Path, blank: Path, base: dict[str, Any]) -> None:
    data = yaml.safe_load(blank.read_text())
    data["flags"].append({"id": "offer:imm.deportable.cimt:PC 478(a)", "verdict": "confirmed", **SIGNED})
    data["flags"].append({"added": {"option": "offr", "code": "imm.x.y", "summary": "sssss", "citation": "ccccc"}, **SIGNED})
    blank.write_text(yaml.safe_dump(data, sort_keys=False))
    err = _errors(blank, base)
    line = next(i for i, t in enumerate(blank.read_text().splitlines(), 1) if "PC 478(a)" in t)
    n = len(data["flags"])
    assert f"{blank}:{line}: flags[{n - 2}].id: unknown flag id 'offer:imm.deportable.cimt:PC 478(a)'" in err
    assert f"did you mean '{DEPORTABLE}'" in err
    assert f"flags[{n - 1}].added.option: no option 'offr' in the case (did you mean 'offer'?)" in err
    code, _, err = run("review", str(case))   # updating refuses it too, and leaves the file alone
    assert code == 2 and "unknown flag id" in err
    assert "PC 478(a)" in blank.read_text()


def test_a_review_for_another_case_is_refused(case: Path, reviewed: Path) -> None:
    data = yaml.safe_load(reviewed.read_text())
    data["case_id"] = "OTHER-1"
    reviewed.write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = run("advise", str(case), "--no-alternatives", "--review", str(reviewed))
    assert code == 2 and "this review is for case OTHER-1, not LA-2026-CR-0142" in err


# ------------------------------------------------------------------------------------------------ advise --review
def test_an_override_changes_the_status_visibly_with_its_author(case: Path, reviewed: Path) -> None:
    r = advise_json(case, "--review", str(reviewed))
    f = flags(r)[DETENTION]
    assert f["status"] == "absent" and f["status_by_rules"] == "applies" and f["overridden_by"] == "A. Counsel"
    assert f["review"]["verdict"] == "overridden" and f["review"]["date"] == "2026-12-01"
    assert f["review"]["authority"].startswith("Matter of Example")
    assert flags(r)[DEPORTABLE]["review"]["verdict"] == "confirmed"
    assert flags(r)["counter:imm.cimt:PC 490.2"]["review"] is None
    assert r["review"]["overridden"] == 1
    assert r["review"]["pending"] == sum(len(o["findings"]) for o in r["options"] if o["id"] != "offer")
    assert any(w.startswith("Overridden by A. Counsel on 2026-12-01: offer — Mandatory detention") for w in r["warnings"])
    assert r["seal"]["inputs"]["review"] == load_review(reviewed).digest
    for fmt in ("md", "html"):
        code, memo, err = run("advise", str(case), "--no-alternatives", "--review", str(reviewed), "--format", fmt)
        assert code == 0, err
        assert "Overridden by A. Counsel on 2026-12-01" in memo and "counsel advises absent" in memo
    assert memo.index("Overridden by A. Counsel") < memo.index("Mandatory detention: deportable for one CIMT", memo.index("Overridden") + 200)


def test_added_consequences_disputes_and_orphans_are_all_reported(reviewed: Path, base: dict[str, Any]) -> None:
    fill(reviewed, {"offer:imm.travel_risk:PC 487(a)": {"verdict": "disputed", "note": "Petty-offense exception?", **SIGNED},
                    "counter:imm.cimt:PC 490.2": {"verdict": "confirmed", **SIGNED}},
         added=[{"added": {"option": "counter", "code": "imm.port_questioning", "title": "Questioning at the port",
                           "summary": "A CIMT conviction invites secondary inspection.", "citation": "8 U.S.C. § 1101(a)(13)(C)(v)",
                           "severity": "medium"}, **SIGNED},
                {"id": "counter:imm.cimt:PC 484", "title": "CIMT", "found": "applies", "verdict": "confirmed", **SIGNED},
                {"id": "counter:imm.other:PC 484", "title": "Other", "found": "possible"}])   # listed once, never reviewed
    r = copy.deepcopy(base)
    apply_review(r, load_review(reviewed))
    added = flags(r)["counter:imm.port_questioning:added"]
    assert added["source"] == "review" and added["status"] == "applies" and added["domain"] == "immigration"
    assert added["citations"] == [{"cite": "8 U.S.C. § 1101(a)(13)(C)(v)"}] and added["review"]["verdict"] == "added"
    assert [o["flag_id"] for o in r["review_orphans"]] == ["counter:imm.cimt:PC 484"]
    w = "\n".join(r["warnings"])
    assert "Disputed by A. Counsel on 2026-12-01: offer — Travel risk" in w
    assert "Added by A. Counsel on 2026-12-01: counter — Questioning at the port" in w
    assert "no longer found by the rules: CIMT (counter:imm.cimt:PC 484" in w
    assert r["review"]["added"] == 1 and r["review"]["disputed"] == 1 and r["review"]["orphans"] == 1


def test_reviewed_case_rerun_after_an_unrelated_fact_change_keeps_every_verdict(case: Path, reviewed: Path,
                                                                                   base: dict[str, Any]) -> None:
    before = copy.deepcopy(base)
    apply_review(before, load_review(reviewed))

    def unrelated(d: dict[str, Any]) -> None:
        d["client"]["name"] = "M. Other"
        d["options"][1]["counts"][0]["sentence"]["probation_months"] = 12
        d["options"][1]["label"] = "Counter-offer, revised"
    edit_case(case, case, unrelated)
    after = advise_json(case, "--review", str(reviewed))
    assert after["seal"]["case_digest"] != base["seal"]["case_digest"]
    assert after["review_orphans"] == []
    marks_before = {k: f["review"] for k, f in flags(before).items()}
    marks_after = {k: f["review"] for k, f in flags(after).items()}
    assert marks_after == marks_before
    assert sum(1 for m in marks_after.values() if m and m["verdict"]) == sum(1 for k in flags(base) if k.startswith("offer:"))


def test_an_override_is_reflected_in_the_comparison_and_the_money(blank: Path, base: dict[str, Any]) -> None:
    fill(blank, {"offer:fines.restitution:PC 487(a)": {"verdict": "overridden", "status": "absent",
                                                        "authority": "Pen. Code § 1202.4(f)", **SIGNED},
                 DEPORTABLE: {"verdict": "overridden", "status": "possible", "authority": "Matter of Example", **SIGNED}})
    r = copy.deepcopy(base)
    apply_review(r, load_review(blank))
    offer = next(o for o in r["options"] if o["id"] == "offer")
    before = next(o for o in base["options"] if o["id"] == "offer")
    assert offer["financial"]["total"] == before["financial"]["total"] - 12000
    assert all(i["code"] != "fines.restitution" for i in offer["financial"]["items"])
    assert flags(r)[DEPORTABLE]["padilla"] == "risk"
    assert r["comparison"]["by_domain_possible"]["immigration"]["offer"] == "critical"


# ------------------------------------------------------------------------------------------------ the queue
def test_the_review_queue_lists_flags_awaiting_counsel_most_serious_first(tmp_path: Path, template: str) -> None:
    folder = tmp_path / "office"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "ca.yaml")
    shutil.copy(ROOT / "examples" / "fl-domestic-battery.yaml", folder / "fl.yaml")
    (folder / "notes.yaml").write_text("just: notes\n")
    (folder / "ca.review.yaml").write_text(template)
    fill(folder / "ca.review.yaml", {}, default={"verdict": "confirmed", **SIGNED})
    code, out, err = run("review", "--pending", str(folder), "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and not any(r["case"] == "ca.yaml" and r["option"] == "offer" for r in rows)
    assert {r["case"] for r in rows} == {"ca.yaml", "fl.yaml"}
    order = ["critical", "high", "medium", "low", "info"]
    ranks = [order.index(r["severity"]) for r in rows]
    assert ranks == sorted(ranks)
    assert rows[0]["severity"] == "critical" and rows[0]["status"] == "applies"
    assert list(rows[0]) == ["severity", "status", "domain", "case", "option", "flag_id", "title"]


def test_the_queue_as_a_table_reports_a_bad_review_file_and_lists_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "office"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "ca.yaml")
    shutil.copy(ROOT / "examples" / "fl-domestic-battery.yaml", folder / "fl.yaml")
    (folder / "ca.review.yaml").write_text("format: 1\nflags:\n  - id: offer:nope.code\n    verdict: confirmed\n"
                                           "    reviewer: X\n    date: 2026-12-01\n")
    code, out, err = run("review", "--pending", str(folder))
    assert code == 2
    assert f"{folder / 'ca.review.yaml'}:3: flags[0].id: unknown flag id" in err
    lines = out.splitlines()
    assert lines[0].split() == ["SEVERITY", "STATUS", "CASE", "FLAG_ID", "TITLE"]
    assert all("fl.yaml" in t for t in lines[1:-1]) and len(lines) > 3
    assert lines[-1] == f"{len(lines) - 2} flag(s) awaiting counsel in 1 case(s)"


def test_review_needs_a_case_or_a_folder() -> None:
    code, _, err = run("review")
    assert code == 2 and "give CASE, or --pending DIR" in err
