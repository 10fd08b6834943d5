"""Sealed results, `collateral verify`, and what changed between two results (`collateral diff`, `advise --since`)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from engine.law.packs import RULES_DIR
from engine.review.seal import result_digest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"
DETENTION = "offer:imm.detention.mandatory:PC 487(a)"
DEPORTABLE = "offer:imm.deportable.cimt:PC 487(a)"
SIGNED = {"reviewer": "A. Counsel", "date": "2026-12-01"}


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


def sealed(case: Path, out: Path, *extra: str) -> dict[str, Any]:
    code, _, err = run("advise", str(case), "--format", "json", "--no-alternatives", "-o", str(out), *extra)
    assert code == 0, err
    return dict(json.loads(out.read_text()))


def edit_case(src: Path, dst: Path, change: Any) -> Path:
    data = yaml.safe_load(src.read_text())
    change(data)
    dst.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return dst


def changes(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["flag_id"]: c for c in d["changes"]}


def causes(c: dict[str, Any], kind: str) -> list[str]:
    return [x["text"] for x in c["causes"] if x["kind"] == kind]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sealed")
    shutil.copy(EXAMPLE, folder / "ca.yaml")
    return folder


@pytest.fixture(scope="module")
def base(work: Path) -> Path:
    """The example's sealed result, computed once."""
    sealed(work / "ca.yaml", work / "base.json")
    return work / "base.json"


def _rules_copy(folder: Path, edit: Any) -> Path:
    root = folder / "rules"
    shutil.copytree(RULES_DIR, root)
    pack = root / "us" / "immigration"
    edit(pack)
    return root


def _edit_rule(pack: Path, rule_id: str, field: str, value: str) -> None:
    path = next(p for p in pack.glob("*.rules.yaml") if f"- id: {rule_id}\n" in p.read_text())
    text = path.read_text()
    start = text.index(f"- id: {rule_id}\n")
    m = re.compile(rf"^(\s+){field}: .*$", re.M).search(text, start)
    assert m is not None
    path.write_text(text[:m.start()] + f"{m.group(1)}{field}: {value}" + text[m.end():])


def _bump(pack: Path) -> None:
    manifest = pack / "pack.yaml"
    manifest.write_text(re.sub(r"^version: .*$", "version: 9.9.9", manifest.read_text(), count=1, flags=re.M))


# ------------------------------------------------------------------------------------------------ the seal
def test_the_json_result_is_sealed(base: Path, work: Path) -> None:
    r = json.loads(base.read_text())
    seal = r["seal"]
    assert set(seal) == {"case_digest", "packs", "engine_version", "inputs", "result_digest"}
    assert seal["packs"] == {p["id"]: p["digest"] for p in r["packs"]}
    assert seal["result_digest"] == result_digest(r) and seal["case_digest"].startswith("sha256:")
    assert seal["inputs"] == {"alternatives": False, "redact": False, "review": None, "since": None}
    # the same facts written differently (rewritten by yaml.safe_dump: another layout and quoting) have the same digest
    respelled = edit_case(work / "ca.yaml", work / "respelled.yaml", lambda d: None)
    assert respelled.read_text() != (work / "ca.yaml").read_text()
    assert sealed(respelled, work / "respelled.json")["seal"]["case_digest"] == seal["case_digest"]


def test_verify_says_same_byte_for_byte_on_every_bundled_example(tmp_path: Path) -> None:
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        out = tmp_path / f"{example.stem}.json"
        extra = () if example.name == "fl-domestic-battery.yaml" else ("--redact",)
        sealed(example, out, *extra)
        code, report, err = run("verify", str(out), str(example))
        assert code == 0, (example, report, err)
        assert "result:  same, byte for byte" in report and report.rstrip().endswith("SAME")
        assert "facts:   same" in report and "packs:   same" in report


def test_verify_with_the_counter_offer_search(tmp_path: Path) -> None:
    example = ROOT / "examples" / "fl-domestic-battery.yaml"
    out = tmp_path / "fl.json"
    code, _, err = run("advise", str(example), "--format", "json", "-o", str(out))
    assert code == 0, err
    assert json.loads(out.read_text())["seal"]["inputs"]["alternatives"] is True
    code, report, _ = run("verify", str(out), str(example))
    assert code == 0 and "byte for byte" in report


def test_verify_reports_changed_facts_and_what_they_changed(base: Path, work: Path) -> None:
    changed = edit_case(work / "ca.yaml", work / "shorter.yaml",
                        lambda d: d["options"][0]["counts"][0]["sentence"].update(custody_days=364))
    code, report, _ = run("verify", str(base), str(changed))
    assert code == 1
    assert "facts:   different" in report and "packs:   same" in report and "result:  different" in report
    assert DETENTION in report and "no longer found (was applies)" in report
    assert report.rstrip().endswith("DIFFERENT")


def test_verify_reports_a_result_edited_after_sealing(base: Path, work: Path) -> None:
    r = json.loads(base.read_text())
    r["options"][0]["findings"][0]["status"] = "possible"
    edited = work / "edited.json"
    edited.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n")
    code, report, _ = run("verify", str(edited), str(work / "ca.yaml"))
    assert code == 1 and "the result file was changed after it was sealed" in report


def test_verify_reports_a_changed_pack(base: Path, work: Path, tmp_path: Path) -> None:
    rules = _rules_copy(tmp_path, lambda pack: (_bump(pack), _edit_rule(pack, "us.immigration.deportable-cimt", "certainty", "unsettled")))
    code, report, _ = run("verify", str(base), str(work / "ca.yaml"), "--rules", str(rules))
    assert code == 1
    assert re.search(r"packs:   different: us\.immigration \d+\.\d+\.\d+ -> 9\.9\.9", report)
    assert "facts:   same" in report
    assert DEPORTABLE in report and "certainty likely → unsettled" in report


def test_verify_needs_the_same_review_and_since_files(work: Path, base: Path) -> None:
    code, _, err = run("review", str(work / "ca.yaml"), "-o", str(work / "ca.review.yaml"))
    assert code == 0, err
    data = yaml.safe_load((work / "ca.review.yaml").read_text())
    data["flags"][0].update(verdict="confirmed", **SIGNED)
    (work / "ca.review.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    out = work / "reviewed.json"
    sealed(work / "ca.yaml", out, "--review", str(work / "ca.review.yaml"), "--since", str(base))
    code, _, err = run("verify", str(out), str(work / "ca.yaml"))
    assert code == 2 and "give the same --review FILE" in err
    code, report, _ = run("verify", str(out), str(work / "ca.yaml"), "--review", str(work / "ca.review.yaml"), "--since", str(base))
    assert code == 0, report
    assert "review:  same" in report and "since:   same" in report
    data["flags"][0]["note"] = "changed my mind"
    (work / "other.review.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    code, report, _ = run("verify", str(out), str(work / "ca.yaml"), "--review", str(work / "other.review.yaml"), "--since", str(base))
    assert code == 1 and "review:  different" in report


def test_verify_refuses_an_unsealed_result(tmp_path: Path, base: Path) -> None:
    r = json.loads(base.read_text())
    del r["seal"]
    (tmp_path / "old.json").write_text(json.dumps(r))
    code, _, err = run("verify", str(tmp_path / "old.json"), str(EXAMPLE))
    assert code == 2 and "the result has no seal" in err
    (tmp_path / "junk.json").write_text("[1, 2]")
    code, _, err = run("verify", str(tmp_path / "junk.json"), str(EXAMPLE))
    assert code == 2 and "not a result document" in err


# ------------------------------------------------------------------------------------------------ what changed
def test_diff_of_a_result_with_itself_finds_nothing(base: Path) -> None:
    code, out, _ = run("diff", str(base), str(base))
    assert code == 0
    assert out.splitlines()[-1] == "No finding changed." and "Inputs: facts same" in out


def test_a_changed_fact_is_named_as_the_cause(base: Path, work: Path) -> None:
    # admitted 2015 instead of 2022: the CIMT is no longer within five years of admission
    changed = edit_case(work / "ca.yaml", work / "admitted.yaml", lambda d: d["client"]["immigration"].update(
        admission_date="2015-06-01", lpr_date="2015-06-01", residence_since="2015-06-01"))
    new = work / "admitted.json"
    sealed(changed, new)
    code, out, _ = run("diff", str(base), str(new), "--format", "json")
    assert code == 1
    d = json.loads(out)
    assert d["inputs"]["facts"] == "changed" and d["inputs"]["packs"] == []
    c = changes(d)[DEPORTABLE]
    assert c["change"] == "removed" and c["old"]["status"] == "applies" and c["new"] is None
    assert "client.immigration.admission_date: 2022-06-01 → 2015-06-01" in causes(c, "fact")
    # a finding that rested on it names it, and inherits its cause
    derived = [x for x in d["changes"] if any(y["kind"] == "derived" and y["flag_id"] == DEPORTABLE for y in x["causes"])]
    assert derived
    assert all("client.immigration.admission_date: 2022-06-01 → 2015-06-01" in causes(x, "fact") for x in derived)
    code, text, _ = run("diff", str(base), str(new))
    assert code == 1
    assert f"  - [critical] {next(iter([c['title']]))} — no longer found (was applies)" in text
    assert "because: client.immigration.admission_date: 2022-06-01 → 2015-06-01" in text


def test_a_changed_rule_is_named_as_the_cause(base: Path, work: Path, tmp_path: Path) -> None:
    rules = _rules_copy(tmp_path, lambda pack: (_bump(pack), _edit_rule(pack, "us.immigration.deportable-cimt", "certainty", "unsettled")))
    new = tmp_path / "new.json"
    sealed(work / "ca.yaml", new, "--rules", str(rules))
    code, out, _ = run("diff", str(base), str(new), "--format", "json")
    assert code == 1
    d = json.loads(out)
    c = changes(d)[DEPORTABLE]
    assert c["change"] == "changed" and c["fields"] == ["certainty"]
    assert c["old"]["certainty"] == "likely" and c["new"]["certainty"] == "unsettled"
    assert any(re.fullmatch(r"pack us\.immigration \d+\.\d+\.\d+ → 9\.9\.9", t) for t in causes(c, "rule"))
    assert d["inputs"]["facts"] == "same"


def test_a_rule_coming_into_force_is_named_as_the_cause(work: Path, tmp_path: Path) -> None:
    rules = _rules_copy(tmp_path, lambda pack: _edit_rule(pack, "us.immigration.deportable-cimt", "from", "'2026-06-01'"))
    before, after = tmp_path / "may.json", tmp_path / "nov.json"
    sealed(work / "ca.yaml", before, "--rules", str(rules), "--as-of", "2026-05-01")
    sealed(work / "ca.yaml", after, "--rules", str(rules))
    code, out, _ = run("diff", str(before), str(after), "--format", "json", "--rules", str(rules))
    assert code == 1
    c = changes(json.loads(out))[DEPORTABLE]
    assert c["change"] == "added" and c["new"]["status"] == "applies"
    assert causes(c, "in_force") == ["rule us.immigration.deportable-cimt came into force on 2026-06-01"]
    code, out, _ = run("diff", str(after), str(before), "--format", "json", "--rules", str(rules))
    c = changes(json.loads(out))[DEPORTABLE]
    assert c["change"] == "removed"
    assert causes(c, "in_force") == ["rule us.immigration.deportable-cimt was not yet in force on 2026-05-01 (from 2026-06-01)"]


def test_a_review_verdict_is_named_as_the_cause(base: Path, work: Path, tmp_path: Path) -> None:
    rv = tmp_path / "ca.review.yaml"
    code, _, err = run("review", str(work / "ca.yaml"), "-o", str(rv))
    assert code == 0, err
    data = yaml.safe_load(rv.read_text())
    for e in data["flags"]:
        if e["id"] == DETENTION:
            e.update(verdict="overridden", status="absent", authority="8 U.S.C. § 1226(c)", **SIGNED)
    rv.write_text(yaml.safe_dump(data, sort_keys=False))
    new = tmp_path / "reviewed.json"
    sealed(work / "ca.yaml", new, "--review", str(rv))
    code, out, _ = run("diff", str(base), str(new), "--format", "json")
    assert code == 1
    d = json.loads(out)
    assert list(changes(d)) == [DETENTION]
    c = changes(d)[DETENTION]
    assert c["fields"] == ["status"] and c["old"]["status"] == "applies" and c["new"]["status"] == "absent"
    assert [x["kind"] for x in c["causes"]] == ["review"]
    assert c["causes"][0]["text"] == "overridden by A. Counsel on 2026-12-01: absent (8 U.S.C. § 1226(c))"


def test_advise_since_lists_what_changed_at_the_top_of_the_memo(base: Path, work: Path) -> None:
    changed = edit_case(work / "ca.yaml", work / "since.yaml",
                        lambda d: d["options"][0]["counts"][0]["sentence"].update(custody_days=364))
    r = sealed(changed, work / "since.json", "--since", str(base))
    assert r["since"]["as_of"] == "2026-11-26" and r["since"]["result_digest"] == json.loads(base.read_text())["seal"]["result_digest"]
    assert DETENTION in {c["flag_id"] for c in r["since"]["changes"]}
    lines = [w for w in r["warnings"] if w.startswith("Since the memo of 2026-11-26: ")]
    assert any("offer — Mandatory detention" in w and "no longer found (was applies)" in w for w in lines)
    code, memo, _ = run("advise", str(changed), "--no-alternatives", "--since", str(base))
    assert code == 0 and "Since the memo of 2026-11-26: offer — Mandatory detention" in memo
    code, _, err = run("advise", str(changed), "--no-alternatives", "--since", str(work / "ca.yaml"))
    assert code == 2 and "not a readable JSON result" in err
