"""Case-file input that is not the expected shape (engine/casefile.parse_case): each a problem with the line and
the field, never a crash or a silently empty case; `unknown` reads as not known at every level."""

from __future__ import annotations

import pytest

from engine.model.casefile import parse_case
from engine.model.errors import InputError
from engine.model.yamlsrc import load_text

OPTIONS = "options: [{id: o, counts: [{offense: {statute: T}}]}]\n"


def problems(text: str) -> list[str]:
    with pytest.raises(InputError) as exc:
        parse_case(load_text(text, "c.yaml"))
    return [str(p) for p in exc.value.problems]


def test_a_case_file_that_is_not_a_mapping() -> None:
    assert problems("- a list\n") == ["c.yaml:1: expected a mapping with format, jurisdiction and options"]
    assert problems("") == ["c.yaml:1: expected a mapping with format, jurisdiction and options"]


def test_a_section_that_is_not_a_mapping() -> None:
    assert problems("format: 1\njurisdiction: US\nclient: 5\n" + OPTIONS) == [
        "c.yaml:3: client: Input should be a valid dictionary or instance of Client (got 5)"]
    assert problems("format: 1\njurisdiction: US\noptions: [{id: o, counts: [{offense: {statute: T}, sentence: 30}]}]\n") == [
        "c.yaml:3: options[0].counts[0].sentence: Input should be a valid dictionary or instance of Sentence (got 30)"]


def test_unknown_is_not_known_at_every_level() -> None:
    c = parse_case(load_text("format: 1\njurisdiction: US\nclient: {immigration: {status: unknown}}\n"
                             "options: [{id: o, counts: [{offense: {statute: T, cimt: Unknown}, sentence: {custody_days: unknown}}]}]\n",
                             "c.yaml"))
    count = c.options[0].counts[0]
    assert c.client.immigration.status is None and count.offense.cimt is None and count.sentence.custody_days is None
