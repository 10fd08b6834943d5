"""Reading YAML (engine/model/yamlsrc.py): every input problem is reported with the file, the line and the exact
message; the parsed-pack cache is keyed by content, survives a damaged entry, never stores what JSON cannot
hold, and lives where the environment says (or nowhere)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from engine.model.errors import InputError
from engine.model.yamlsrc import cache_dir, dotted, load_file, load_text


def problems(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_a_duplicate_key_is_an_error_at_its_line() -> None:
    with pytest.raises(InputError) as exc:
        load_text("a: 1\nb:\n  c: 2\n  c: 3\n", "f.yaml")
    assert problems(exc) == ["f.yaml:4: not valid YAML: duplicate key 'c'"]
    assert str(exc.value) == "1 problem(s) in YAML:\n  f.yaml:4: not valid YAML: duplicate key 'c'"


def test_a_mapping_key_must_be_a_scalar() -> None:
    with pytest.raises(InputError) as exc:
        load_text("ok: 1\n? [a, b]\n: 2\n", "f.yaml")
    assert problems(exc) == ["f.yaml:2: not valid YAML: a mapping key must be a scalar"]


def test_a_syntax_error_names_its_line() -> None:
    with pytest.raises(InputError) as exc:
        load_text("a: [1, 2\nb: 3\n", "f.yaml")
    (p,) = exc.value.problems
    assert p.file == "f.yaml" and p.line >= 2 and p.message.startswith("not valid YAML: ")


def test_a_character_yaml_does_not_allow_is_an_error_without_a_line() -> None:
    with pytest.raises(InputError) as exc:
        load_text("a: \x07\n", "f.yaml")
    (p,) = exc.value.problems
    assert p.file == "f.yaml" and p.message.startswith("not valid YAML: ") and "#x0007" in p.message


def test_lines_of_nested_values_and_their_parents() -> None:
    src = load_text("top:\n  list:\n    - x: 1\n    - y: 2\n", "f.yaml")
    assert src.data == {"top": {"list": [{"x": 1}, {"y": 2}]}}
    assert src.line(("top", "list", 1, "y")) == 4
    assert src.line(("top", "list", 1, "missing")) == 4     # the nearest known parent
    assert src.line(("elsewhere",)) == 1
    assert load_text("", "empty.yaml").data is None


def test_dotted_names_a_location_as_a_pack_author_writes_it() -> None:
    assert dotted(("rules", 3, "when", "all", 0)) == "rules[3].when.all[0]"
    assert dotted(()) == ""


def test_a_file_that_cannot_be_read_or_is_not_text(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        load_file(tmp_path / "absent.yaml")
    assert problems(exc) == [f"{tmp_path / 'absent.yaml'}: cannot read: No such file or directory"]
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InputError) as exc2:
        load_file(binary)
    assert problems(exc2) == [f"{binary}: not UTF-8 text"]
    assert str(exc2.value).startswith("1 problem(s) in file:")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("COLLATERAL_CACHE", str(folder))
    return folder


def test_the_cache_keeps_dates_and_lines_and_is_keyed_by_content(tmp_path: Path, cache: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("from: 2020-02-29\nitems:\n  - a\n")
    first = load_file(f, cache=True)
    (entry,) = cache.glob("*.json")
    second = load_file(f, cache=True)
    assert second.data == first.data == {"from": dt.date(2020, 2, 29), "items": ["a"]}
    assert second.lines == first.lines and second.line(("items", 0)) == 3
    f.write_text("from: 2021-03-01\nitems: []\n")
    assert load_file(f, cache=True).data == {"from": dt.date(2021, 3, 1), "items": []}
    assert len(list(cache.glob("*.json"))) == 2
    assert entry.is_file()


def test_a_damaged_cache_entry_is_read_again_from_the_file(tmp_path: Path, cache: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("a: 1\n")
    load_file(f, cache=True)
    (entry,) = cache.glob("*.json")
    entry.write_text("{not json")
    assert load_file(f, cache=True).data == {"a": 1}
    entry.write_text('{"data": {"a": 1}}')        # no lines
    assert load_file(f, cache=True).data == {"a": 1}


def test_what_json_cannot_hold_is_not_cached(tmp_path: Path, cache: Path) -> None:
    stamp = tmp_path / "stamp.yaml"
    stamp.write_text("at: 2020-01-01 10:00:00\n")          # a datetime, not a date
    assert load_file(stamp, cache=True).data == {"at": dt.datetime(2020, 1, 1, 10, 0)}
    numbers = tmp_path / "numbers.yaml"
    numbers.write_text("1: one\nnested: {2: two}\nlist: [{3: three}]\n")   # keys that are not text
    assert load_file(numbers, cache=True).data == {1: "one", "nested": {2: "two"}, "list": [{3: "three"}]}
    assert list(cache.glob("*.json")) == []
    assert list(cache.glob("*.tmp")) == []


def test_the_cache_folder_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLATERAL_CACHE", "off")
    assert cache_dir() is None
    monkeypatch.delenv("COLLATERAL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "collateral" / "yaml"
    assert (tmp_path / "xdg" / "collateral" / "yaml").is_dir()
    if os.name == "posix":
        assert (tmp_path / "xdg" / "collateral" / "yaml").stat().st_mode & 0o777 == 0o700
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "collateral" / "yaml"


def test_a_cache_folder_that_cannot_be_made_disables_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("COLLATERAL_CACHE", str(blocker / "cache"))
    assert cache_dir() is None
    f = tmp_path / "p.yaml"
    f.write_text("a: 1\n")
    assert load_file(f, cache=True).data == {"a": 1}
