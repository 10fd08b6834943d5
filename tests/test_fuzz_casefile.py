"""Property tests (Hypothesis) of case files: whatever the text, `advise` gives a result or a clean input error
(exit 2) — never a traceback, never an exit code outside 0-4, never a partial output file.

Fast by design (a few hundred examples in all): the text layer on its own, the case layer through the same
steps as `collateral advise` with the session's real engine, and end to end through the command line with a
one-rule pack."""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from engine.explain.evaluate import Engine
from engine.model import casefile as cf
from engine.model.casefile import parse_case
from engine.model.errors import EngineError, InputError
from engine.model.yamlsrc import load_text

from .conftest import ROOT, make_rules
from .test_reliability import CASE, RULE

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
BAD_DATE = "@@BADDATE@@"

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.sampled_from(["unknown", "", "lpr", "conviction", "PC 487(a)", "controled_substance", "registerd_nurse", "theft",
                     "1900-01-01", "2100-01-01", BAD_DATE, "0001-01-01", "-1", "1e400", "US-ZZ", "held"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)


KEY_VALUES: dict[str, list[Any]] = {
    "status": [*get_args(cf.Status), *get_args(cf.LicenseStatus)], "disposition": list(get_args(cf.Disposition)),
    "plea": list(get_args(cf.Plea)), "victim_relationship": list(get_args(cf.Relationship)),
    "statute": ["PC 487(a)", "PC 490.2", "PC 459", "HSC 481.115(b)", "PC 38.02", "PC 9999"],
    "substance": ["cocaine", "heroin", "cocane", "marijuana", "unspecified"], "registration": ["none", "sex_offender"],
    "prong": ["first-degree", "second-degree", "1"], "type": ["cdl", "registered_nurse", "registerd_nurse"],
    "jurisdiction": ["US", "US-CA", "US-TX", "US-ZZ"], "remuneration": ["yes", "no"],
}


def plausible(key: Any, old: Any) -> st.SearchStrategy[Any]:
    """A value of the same kind as old: a near date, a small number, another value of the same field."""
    if key in KEY_VALUES:
        return st.sampled_from([old, "unknown", *KEY_VALUES[key]])
    if isinstance(old, bool):
        return st.booleans()
    if isinstance(old, int):
        return st.integers(min_value=0, max_value=4000)
    if isinstance(old, float):
        return st.floats(min_value=0, max_value=50000, allow_nan=False)
    if isinstance(old, dt.date):
        return st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31))
    if isinstance(old, str):
        return st.sampled_from([old, "unknown"])
    return st.just(old)


def _at(data: Any, where: tuple[Any, ...]) -> Any:
    for part in where:
        data = data[part]
    return data


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw: st.DrawFn, bases: list[dict[str, Any]]) -> str:
    """A valid case with one to three changes (a value replaced, a key removed or added), as YAML text."""
    data = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        every = paths(data)
        leaves = [p for p in every if not isinstance(_at(data, p), (dict, list)) and p[-1] != "format"]
        where = draw(st.sampled_from(leaves)) if draw(st.integers(0, 4)) else draw(st.sampled_from(every))
        parent: Any = data
        for part in where[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["committed_on", "prong", "elements", "licenses", "extra", "as_of", "history"]))] = draw(values)
        else:
            old = parent[where[-1]]
            parent[where[-1]] = draw(plausible(where[-1], old)) if draw(st.integers(0, 3)) else draw(values)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return re.sub(rf"'?{BAD_DATE}'?", "2026-02-31", text)


def _bases() -> list[dict[str, Any]]:
    out = [yaml.safe_load(CASE)]
    for name in ("ca-theft-lpr.yaml", "tx-drug-nurse.yaml"):
        data = yaml.safe_load((ROOT / "examples" / name).read_text())
        data.pop("charges", None)                     # one option of one count each: fast to evaluate
        data["options"] = data["options"][:1]
        out.append(data)
    return out


BASES = _bases()


def through_advise(engine: Engine, text: str) -> str:
    """The steps of `collateral advise` (cli._advise_result), with a prepared engine: the outcome's exit code."""
    try:
        src = load_text(text, "case.yaml")
        case = parse_case(src)
        if engine.unresolved_statutes(case):
            return "2"
        on = case.as_of or dt.date.today()
        engine.check_case(case, src, on)
        result = engine.advise(case)
    except InputError:
        return "2"
    except SystemExit as exc:
        return str(exc.code)
    except EngineError:
        return "4"
    from engine.present import memo_document
    assert str(memo_document(result, "md")).startswith("# PRIVILEGED")
    return "0"


@FAST
@given(text=st.one_of(st.text(max_size=200), st.lists(st.sampled_from(
    ["a:", " &x", " *x", "[", "]", "{", "}", ",", "- ", "\n", "  ", "2026-02-31", "!!binary", "? ", "|", "'", '"', "1e400",
     "<<: *x", "!!python/object:os.system", "~", "0x", "9999-99-99"]), max_size=40).map("".join)))
def test_any_text_is_data_or_a_clean_yaml_error(text: str) -> None:
    try:
        load_text(text, "x.yaml")
    except InputError as exc:
        assert exc.problems and all(p.file == "x.yaml" for p in exc.problems)


@settings(FAST, max_examples=150)
@given(text=mutated(BASES))
def test_a_mutated_case_file_is_a_result_or_a_clean_error(durable_engine: Engine, text: str) -> None:
    assert through_advise(durable_engine, text) in ("0", "2")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rules(tmp_path_factory.mktemp("fuzz"), RULE)


@settings(FAST, max_examples=40)
@given(text=mutated([yaml.safe_load(CASE)]))
def test_the_command_line_exits_0_or_2_and_writes_all_or_nothing(tiny: Path, tmp_path_factory: pytest.TempPathFactory,
                                                                 text: str) -> None:
    folder = tmp_path_factory.mktemp("out")
    (folder / "case.yaml").write_text(text)
    memo = folder / "memo.md"
    r = CliRunner().invoke(main, ["advise", str(folder / "case.yaml"), "--rules", str(tiny), "-o", str(memo)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code in (0, 2), r.stderr
    if r.exit_code == 0:
        assert memo.read_text().startswith("# PRIVILEGED")
    else:
        assert not memo.exists() and r.stderr.strip()
    assert sorted(p.name for p in folder.iterdir()) == (["case.yaml", "memo.md"] if r.exit_code == 0 else ["case.yaml"])
