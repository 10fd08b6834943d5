"""What changed between two results (engine/review/workflow.py `diff`, `diff_text`) on hand-made results, one cause at a
time: packs applied or no longer applied, options added and removed, counts changed, a fact read by another
option, the engine, the date, review verdicts withdrawn; and review files that are not mappings, statutes
outside any catalog. Every expected line is written by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.model import casefile as cf
from engine.model.errors import InputError
from engine.review.workflow import diff, diff_text, load_review, statute_key


def F(oid: str, code: str, status: str = "applies", **kw: Any) -> dict[str, Any]:
    base = {"id": f"{code}/0", "flag_id": f"{oid}:{code}", "code": code, "title": code.upper(), "domain": "immigration",
            "kind": "consequence", "severity": "high", "status": status, "certainty": "clear", "amount": None,
            "facts": {}, "missing_facts": [], "rules": ["r1"], "pack": "us.immigration", "because": []}
    return {**base, **kw}


def R(options: dict[str, list[dict[str, Any]]], *, as_of: str = "2026-01-01", packs: Any = None, engine: str = "1",
      case: str = "sha256:c", counts: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    return {"as_of": as_of, "case_id": "C1", "engine": {"version": engine},
            "options": [{"id": oid, "findings": fs, "counts": (counts or {}).get(oid, [])} for oid, fs in options.items()],
            "packs": [{"id": i, "version": v, "digest": d} for i, v, d in (packs or [("us.immigration", "1.0", "d1")])],
            "seal": {"case_digest": case, "result_digest": f"sha256:{as_of}"}}


def causes(d: dict[str, Any]) -> dict[str, list[str]]:
    return {c["flag_id"]: [x["text"] for x in c["causes"]] for c in d["changes"]}


def test_options_and_packs_added_and_removed() -> None:
    old = R({"o1": [F("o1", "imm.x")], "o2": [F("o2", "imm.y")]},
            packs=[("us.immigration", "1.0", "d1"), ("us.fines", "1.0", "f1")])
    new = R({"o1": [F("o1", "imm.x")], "o3": [F("o3", "imm.z")]},
            packs=[("us.immigration", "1.0", "d1"), ("us.housing", "2.0", "h1")])
    d = diff(old, new)
    assert d["inputs"]["packs"] == ["pack us.fines 1.0 no longer applied", "pack us.housing 2.0 applied (not before)"]
    assert diff_text(d) == "\n".join([
        "Changes from the result as of 2026-01-01 to the result as of 2026-01-01 (case C1)",
        "Inputs: facts same; pack us.fines 1.0 no longer applied; pack us.housing 2.0 applied (not before)",
        "1 added, 1 removed, 0 changed.",
        "",
        "Option o3",
        "  + [high] IMM.Z — now applies",
        "      flag: o3:imm.z",
        "      because: option o3 is new",
        "",
        "Option o2",
        "  - [high] IMM.Y — no longer found (was applies)",
        "      flag: o2:imm.y",
        "      because: option o2 is no longer in the case",
    ]) + "\n"


def test_a_changed_count_is_the_cause_when_the_facts_changed() -> None:
    old = R({"o1": [F("o1", "imm.x")]}, case="sha256:a", counts={"o1": [{"statute": "PC 487(a)", "custody_days": 485}]})
    new = R({"o1": [F("o1", "imm.x", "possible")]}, case="sha256:b", engine="2",
            counts={"o1": [{"statute": "PC 487(a)", "custody_days": 365}, {"statute": "PC 459"}]})
    d = diff(old, new)
    assert d["inputs"]["facts"] == "changed"
    assert causes(d) == {"o1:imm.x": ["counts[0].custody_days: 485 → 365", "count 2 added"]}   # not the engine
    fewer = R({"o1": [F("o1", "imm.x", "possible")]}, case="sha256:b", counts={"o1": []})
    assert causes(diff(old, fewer)) == {"o1:imm.x": ["count 1 removed"]}


def test_the_engine_alone_and_the_date_alone() -> None:
    old = R({"o1": [F("o1", "imm.x")]})
    d = diff(old, R({"o1": [F("o1", "imm.x", certainty="likely")]}, engine="2"))
    assert causes(d) == {"o1:imm.x": ["engine 1 → 2"]}
    text = diff_text(d)
    assert "Inputs: facts same; engine 1 → 2\n" in text and "  ~ [high] IMM.X — certainty clear → likely\n" in text
    d = diff(old, R({"o1": [F("o1", "imm.x", amount=250.0)]}, as_of="2026-06-01"))
    assert causes(d) == {"o1:imm.x": ["the law and the time-dependent facts as of 2026-06-01 instead of 2026-01-01"]}
    assert "Inputs: facts same; law as of 2026-01-01 → 2026-06-01\n" in diff_text(d)
    assert "— amount none → 250\n" in diff_text(d)


def test_unknown_facts_and_a_client_fact_read_by_another_option() -> None:
    old = R({"o1": [F("o1", "imm.x", missing_facts=["client.civic.owns_firearm"]),
                    F("o1", "imm.w", "possible")],
             "o2": [F("o2", "imm.v", facts={"client.finances.household_size": 3})]})
    new = R({"o1": [F("o1", "imm.x", "possible", facts={"client.civic.owns_firearm": True}),
                    F("o1", "imm.w", facts={"client.finances.household_size": 4, "counts[0].record.loss_amount": 900.0})],
             "o2": [F("o2", "imm.v", facts={"client.finances.household_size": 3})]}, case="sha256:d")
    assert causes(diff(old, new)) == {"o1:imm.x": ["client.civic.owns_firearm: unknown → yes"],
                                      "o1:imm.w": ["client.finances.household_size: 3 → 4"]}


def test_review_verdicts_withdrawn() -> None:
    added = F("o1", "emp.bar", source="review", review={"reviewer": "A. Counsel", "date": "2026-12-01"})
    overridden = F("o1", "imm.x", "absent", overridden_by="A. Counsel", status_by_rules="applies")
    d = diff(R({"o1": [added, overridden]}), R({"o1": [F("o1", "imm.x")]}))
    assert causes(d) == {"o1:imm.x": ["override by A. Counsel withdrawn"], "o1:emp.bar": ["no longer added by the review"]}


def test_a_change_with_no_cause_in_the_two_results_says_so() -> None:
    d = diff(R({"o1": [F("o1", "imm.x")]}), R({"o1": [F("o1", "imm.x", "possible")]}))
    assert causes(d) == {"o1:imm.x": ["no cause found in the two results"]}


def test_nothing_changed() -> None:
    r = R({"o1": [F("o1", "imm.x")]})
    assert diff_text(diff(r, r)).splitlines()[-1] == "No finding changed."


# ------------------------------------------------------------------------------------------ review files and flag ids


def test_a_review_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    p = tmp_path / "c.review.yaml"
    p.write_text("- id: offer:imm.cimt\n")
    with pytest.raises(InputError) as exc:
        load_review(p)
    assert [x.message for x in exc.value.problems] == ["expected a mapping with format and flags"]
    p.write_text("# nothing yet\n")   # an empty file: a review with no verdicts yet
    assert load_review(p).model.flags == []


def test_statute_outside_any_catalog_keeps_its_words_prong_and_jurisdiction() -> None:
    count = cf.Count.model_validate({"offense": {"statute": "18  U.S.C. §  1001", "prong": "a", "jurisdiction": "US"}})
    assert statute_key(count, "US-CA", None) == "18 U.S.C. § 1001 prong a (US)"
    assert statute_key(count, "US", None) == "18 U.S.C. § 1001 prong a"
