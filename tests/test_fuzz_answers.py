"""Property tests (Hypothesis) of interview answers: whatever is typed or scripted, the interview ends with a valid
case file or a clean error — never a traceback, never an exit code outside 0-4, never a partial output file,
and a refused answer never loses the answers given before it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from engine.explain.interview import AnswerError, Question, answer_key_problem, run_interview, schema_problem
from engine.law.packs import RULES_DIR
from engine.model.casefile import CaseFile, check_vocabulary, plausibility
from engine.model.yamlsrc import Located

from .conftest import make_rules
from .test_coverage_interview import q, result
from .test_reliability import CASE, RULE

FAST = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
VOCAB = yaml.safe_load((RULES_DIR / "vocabulary.yaml").read_text())
LICENSES = sorted(VOCAB["licenses"])

# the facts the fake evaluation asks about while the case file does not give them
POOL = ["client.immigration.status", "client.immigration.admission_date", "client.birth_date", "client.licenses.held",
        "client.licenses.applying", "client.benefits", "client.finances.household_size", "client.finances.annual_income",
        "client.immigration.goals", "client.civic.owns_firearm", "counts[0].record.loss_amount",
        "counts[0].sentence.custody_days", "counts[0].sentence.suspended_days", "counts[0].offense.prong",
        "counts[0].record.substance_federal", "history[0].convicted_on", "counts[0].committed_on"]
BASE: dict[str, Any] = {"format": 1, "jurisdiction": "US-CA", "as_of": "2026-01-01",
                        "history": [{"offense": {"statute": "PC 484"}}],
                        "options": [{"id": "a", "counts": [{"offense": {"statute": "PC 487(a)"}}]}]}
texts = st.one_of(st.text(max_size=15), st.sampled_from([
    "", "unknown", "yes", "no", "none", "lpr", "2020-02-29", "2026-02-31", "2030-01-01", "1850-01-01", "0", "-5", "3",
    "1e400", "nan", "inf", "$9,000", "cdl, emt", "cdl, registerd_nurse", "snap", "remain, travel", "first-degree",
    "9999999999999999999999", "controlled", "2010-05-05"]))


def _given(case: CaseFile, fact: str) -> bool:
    if fact.startswith("counts[0]."):
        node: Any = case.options[0].counts[0]
        path = fact.split(".", 1)[1]
    elif fact.startswith("history[0]."):
        node, path = case.history[0], fact.split(".", 1)[1]
    else:
        node, path = case, fact
    path = {"record.substance_federal": "record.substance"}.get(path, path)
    if path in ("client.licenses.held", "client.licenses.applying"):
        return case.client.licenses is not None
    for part in path.split("."):
        node = getattr(node, {"class": "class_"}.get(part, part), None)
    return node is not None


def fake_evaluate(case: CaseFile) -> dict[str, Any]:
    return result(("a", [q(f, "high", [f"a/{i}"]) for i, f in enumerate(POOL) if not _given(case, f)]))


def check(data: dict[str, Any]) -> Optional[str]:
    """As the command line checks an answered case file: schema, vocabularies, plausibility."""
    problem = schema_problem(data)
    if problem:
        return problem
    src = Located(data, {}, "")
    case = CaseFile.model_validate(data)
    found = check_vocabulary(case, src, VOCAB["elements"], LICENSES) + plausibility(case, src, dt.date(2026, 1, 1))[0]
    return "; ".join(p.message for p in found) or None


def _valid(data: dict[str, Any]) -> None:
    assert check(data) is None
    assert data["options"][0]["counts"][0]["offense"]["statute"] == "PC 487(a)"   # an answer never touches the rest


@FAST
@given(typed=st.lists(texts, max_size=25))
def test_typed_answers_end_in_a_valid_case_file(typed: list[str]) -> None:
    answers = iter(typed)
    told: list[str] = []
    out = run_interview(BASE, fake_evaluate, lambda _q: next(answers, None), LICENSES, told.append, check=check)
    _valid(out)


@FAST
@given(scripted=st.dictionaries(st.sampled_from(POOL + ["a|counts[0].record.loss_amount", "count.record.loss_amount"]),
                                texts, max_size=8))
def test_scripted_answers_end_in_a_valid_case_file_or_one_clean_error(scripted: dict[str, str]) -> None:
    pending = dict(scripted)

    def answer(question: Question) -> str:
        for key in (question.key, question.fact, question.field):
            if key in pending:
                return pending.pop(key)
        return ""
    try:
        out = run_interview(BASE, fake_evaluate, answer, LICENSES, strict=True, check=check)
    except AnswerError as exc:
        assert exc.message and exc.question.key
        return
    _valid(out)


@FAST
@given(key=st.one_of(st.text(max_size=40), st.sampled_from(POOL).map(lambda k: k.replace("e", "", 1)),
                     st.sampled_from(["a|", "b|", "|", "counts[", "history[9]."]).flatmap(
                         lambda p: st.sampled_from(POOL).map(lambda k: p + k))))
def test_any_answer_key_is_accepted_or_explained(key: str) -> None:
    why = answer_key_problem(key, BASE)
    assert why is None or (isinstance(why[0], str) and why[0] and isinstance(why[1], str))


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rules(tmp_path_factory.mktemp("fuzz-answers"), RULE.replace(
        "when: {fact: count.offense.elements, has: theft}",
        "when: {all: [{fact: count.offense.elements, has: theft}, {fact: client.finances.household_size, ge: 2}, "
        "{fact: client.immigration.admission_date, lt: 2020-01-01}]}"))


@settings(FAST, max_examples=25)
@given(scripted=st.dictionaries(st.sampled_from(["client.finances.household_size", "client.immigration.admission_date",
                                                 "client.immigration.admision_date", "client.benefits"]),
                                st.one_of(texts, st.integers(-3, 5), st.dates(), st.none()), max_size=3))
def test_the_interview_command_exits_0_or_2_and_saves_all_or_nothing(rules: Path, tmp_path_factory: pytest.TempPathFactory,
                                                                     scripted: dict[str, Any]) -> None:
    folder = tmp_path_factory.mktemp("iv")
    (folder / "case.yaml").write_text(CASE.replace("client:\n  birth_date: 1990-05-01\n", ""))
    (folder / "answers.yaml").write_text(yaml.safe_dump(scripted))
    out = folder / "full.yaml"
    r = CliRunner().invoke(main, ["interview", str(folder / "case.yaml"), "--rules", str(rules), "--answers",
                                  str(folder / "answers.yaml"), "-o", str(out)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (0, 2), r.stderr
    assert out.exists() == (r.exit_code == 0)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["answers.yaml", "case.yaml"] + (["full.yaml"] if out.exists() else []))
    if out.exists():
        CaseFile.model_validate(yaml.safe_load(out.read_text()))
