"""The interview's parts one by one (engine/explain/interview.py): which open questions it asks and in what order, how
each kind of answer is read (with the exact message for a bad one), where an answer is written in the case
file, and how the loop ends (no question left, every one skipped, or the user stops)."""

from __future__ import annotations

import copy
from typing import Any, Optional

import pytest

from engine.explain.interview import BadAnswer, Question, apply_answer, open_questions, parse_answer, run_interview
from engine.model.casefile import CaseFile


def q(fact: str, stakes: str, why: list[str]) -> dict[str, Any]:
    return {"fact": fact, "ask": f"What is {fact}?", "stakes": stakes, "why": why}


def result(*options: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"options": [{"id": oid, "questions": qs} for oid, qs in options]}


def test_a_client_question_of_two_options_is_asked_once_at_its_worst_stakes() -> None:
    r = result(("a", [q("client.immigration.admission_date", "medium", ["a/x"])]),
               ("b", [q("client.immigration.admission_date", "critical", ["b/y"]),
                      q("client.immigration.admission_date", "low", ["b/y", "b/z"])]))
    (only,) = open_questions(r, [])
    assert (only.key, only.option, only.stakes, only.why) == ("client.immigration.admission_date", "a", "critical", ["a/x", "b/y", "b/z"])
    assert (only.field, only.type, only.choices) == ("client.immigration.admission_date", "date", ())


def test_count_questions_are_per_option_and_worst_first() -> None:
    r = result(("a", [q("counts[0].record.loss_amount", "high", ["a/x"]), q("client.immigration.status", "critical", ["a/s"])]),
               ("b", [q("counts[0].record.loss_amount", "high", ["b/x", "b/w"])]))
    assert [(x.key, x.stakes) for x in open_questions(r, [])] == [
        ("client.immigration.status", "critical"),
        ("b|counts[0].record.loss_amount", "high"),     # two findings turn on it
        ("a|counts[0].record.loss_amount", "high")]
    status = open_questions(r, [])[0]
    assert status.type == "enum" and "lpr" in status.choices


def test_a_derived_fact_is_asked_through_the_field_it_is_computed_from() -> None:
    r = result(("a", [q("counts[1].sentence.confined_days", "high", ["a/x"]), q("client.immigration.admitted", "high", ["a/y"]),
                      q("client.licenses.held", "medium", ["a/z"])]))
    qs = {x.key: x for x in open_questions(r, ["cdl", "emt"])}
    assert set(qs) == {"a|counts[1].sentence.suspended_days", "client.immigration.admission_date", "client.licenses.held"}
    assert qs["a|counts[1].sentence.suspended_days"].fact == "counts[1].sentence.suspended_days"
    assert qs["a|counts[1].sentence.suspended_days"].type == "int"
    lic = qs["client.licenses.held"]
    assert (lic.field, lic.type, lic.choices, lic.generic) == ("client.licenses", "tags", ("cdl", "emt"), "client.licenses.held")


def question(type_: str, choices: tuple[str, ...] = ()) -> Question:
    return Question("k", "a", "client.x", "client.x", "?", "high", [], choices, type_)


@pytest.mark.parametrize("type_, choices, text, value", [
    ("date", (), " 2024-01-15 ", "2024-01-15"),
    ("int", (), "42", 42),
    ("number", (), "$12,500.50", 12500.5),
    ("bool", (), "Yes", True),
    ("bool", (), "n", False),
    ("bool", (), "false", False),
    ("tags", ("cdl", "emt"), "cdl; emt", ["cdl", "emt"]),
    ("tags", ("cdl", "emt"), "none", []),
    ("enum", ("lpr", "undocumented"), "lpr", "lpr"),
    ("str", (), "PC 487(a)", "PC 487(a)"),
    ("int", (), "unknown", None),
    ("date", (), "  ", None),
    ("bool", (), "?", None),
    ("enum", ("lpr",), "skip", None),
])
def test_each_kind_of_answer_is_read(type_: str, choices: tuple[str, ...], text: str, value: Any) -> None:
    assert parse_answer(question(type_, choices), text) == value


@pytest.mark.parametrize("type_, choices, text, message", [
    ("date", (), "15/01/2024", "expected a date"),
    ("number", (), "a lot", "expected a number"),
    ("bool", (), "maybe", "answer yes or no"),
    ("tags", ("cdl", "emt"), "cdl, pilot, nurse", "not valid: pilot, nurse; choose from cdl, emt"),
    ("enum", ("lpr", "undocumented"), "LPR", "'LPR' is not valid; choose one of lpr, undocumented"),
])
def test_a_bad_answer_says_what_is_expected(type_: str, choices: tuple[str, ...], text: str, message: str) -> None:
    with pytest.raises(BadAnswer) as exc:
        parse_answer(question(type_, choices), text)
    assert str(exc.value) == message


DATA: dict[str, Any] = {
    "format": 1, "jurisdiction": "US-CA",
    "client": {"licenses": [{"type": "cdl", "status": "held"}, {"type": "emt", "status": "applying"}]},
    "history": [{"offense": {"statute": "OLD"}}],
    "options": [{"id": "a", "counts": [{"offense": {"statute": "A"}}]}, {"id": "b", "counts": [{"offense": {"statute": "B"}}]}],
}


def test_an_answer_is_written_where_the_case_file_keeps_it() -> None:
    original = copy.deepcopy(DATA)
    held = Question("client.licenses.held", "a", "client.licenses.held", "client.licenses", "?", "high", [], (), "tags",
                    "client.licenses.held")
    out = apply_answer(DATA, held, ["twic"])
    assert out["client"]["licenses"] == [{"type": "emt", "status": "applying"}, {"type": "twic", "status": "held"}]
    applying = Question("client.licenses.applying", "a", "client.licenses.applying", "client.licenses", "?", "high", [], (),
                        "tags", "client.licenses.applying")
    assert apply_answer(DATA, applying, [])["client"]["licenses"] == [{"type": "cdl", "status": "held"}]
    count_b = Question("b|counts[0].record.loss_amount", "b", "counts[0].record.loss_amount", "count.record.loss_amount",
                       "?", "high", [], (), "number")
    out = apply_answer(DATA, count_b, 9000.0)
    assert out["options"][1]["counts"][0]["record"] == {"loss_amount": 9000.0}
    assert "record" not in out["options"][0]["counts"][0]
    prior = Question("a|history[0].disposition", "a", "history[0].disposition", "count.disposition", "?", "high", [], (), "enum")
    assert apply_answer(DATA, prior, "conviction")["history"][0]["disposition"] == "conviction"
    client = Question("client.immigration.status", "a", "client.immigration.status", "client.immigration.status", "?", "high",
                      [], (), "enum")
    assert apply_answer(DATA, client, "lpr")["client"]["immigration"] == {"status": "lpr"}
    assert original == DATA   # the input is never changed


def test_a_license_answer_on_a_case_without_a_client() -> None:
    held = Question("client.licenses.held", "a", "client.licenses.held", "client.licenses", "?", "high", [], (), "tags",
                    "client.licenses.held")
    assert apply_answer({"format": 1}, held, ["cdl"]) == {"format": 1, "client": {"licenses": [{"type": "cdl", "status": "held"}]}}


# ---------------------------------------------------------------- the loop
BASE: dict[str, Any] = {"format": 1, "jurisdiction": "US-CA", "options": [{"id": "a", "counts": [{"offense": {"statute": "A"}}]}]}


def fake_evaluate(case: CaseFile) -> dict[str, Any]:
    """Two decisive facts: the status (critical) and, once the status is lpr, the admission date (high)."""
    im = case.client.immigration
    qs = []
    if im.status is None:
        qs.append(q("client.immigration.status", "critical", ["a/s"]))
    if im.status in (None, "lpr") and im.admission_date is None:
        qs.append(q("client.immigration.admission_date", "high", ["a/d"]))
    return result(("a", qs))


def scripted(*answers: Optional[str]) -> tuple[Any, list[str], list[str]]:
    asked: list[str] = []
    told: list[str] = []
    it = iter(answers)

    def answer(question: Question) -> Optional[str]:
        asked.append(question.key)
        return next(it)
    return answer, asked, told


def test_the_loop_asks_worst_first_re_asks_after_a_bad_answer_and_stops_when_nothing_is_open() -> None:
    answer, asked, told = scripted("permanent", "lpr", "2020-02-30", "2020-02-29")
    out = run_interview(BASE, fake_evaluate, answer, [], told.append)
    assert out["client"]["immigration"] == {"status": "lpr", "admission_date": "2020-02-29"}
    assert asked == ["client.immigration.status"] * 2 + ["client.immigration.admission_date"] * 2
    assert told[0].startswith("  'permanent' is not valid; choose one of ")
    assert told[1:] == ["  expected a date"]


def test_a_skipped_question_is_not_asked_again() -> None:
    answer, asked, _ = scripted("unknown", "skip")
    assert run_interview(BASE, fake_evaluate, answer, []) == BASE
    assert asked == ["client.immigration.status", "client.immigration.admission_date"]


def test_no_answer_ends_the_interview_with_what_was_answered_so_far() -> None:
    answer, asked, _ = scripted("lpr", None)
    out = run_interview(BASE, fake_evaluate, answer, [])
    assert out["client"]["immigration"] == {"status": "lpr"}
    assert asked == ["client.immigration.status", "client.immigration.admission_date"]


def test_the_loop_stops_at_its_limit() -> None:
    answer, asked, _ = scripted("lpr", "2020-01-01")
    out = run_interview(BASE, fake_evaluate, answer, [], limit=1)
    assert out["client"]["immigration"] == {"status": "lpr"}
    assert asked == ["client.immigration.status"]
