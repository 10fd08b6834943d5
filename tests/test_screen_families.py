"""Consequence families (rules/families.yaml): every code a pack concludes belongs to exactly one family."""

from __future__ import annotations

from typing import Any

import pytest

from engine.law.families import Families, load, pack_codes, parse
from engine.model.errors import InputError


def test_every_code_any_pack_concludes_has_exactly_one_family(real_packs: Any) -> None:
    families = load()
    codes = pack_codes(real_packs)
    assert len(codes) > 200
    assert families.check(codes) == []
    assert not [c for c in codes if families.family_of(c).endswith(".unmapped")]


def test_every_family_is_used_by_some_pack_code(real_packs: Any) -> None:
    families = load()
    used = {families.family_of(c) for c in pack_codes(real_packs)}
    assert [n for n in families.names if n not in used] == []


def test_the_result_formats_names_are_families_or_codes_of_one() -> None:
    """The consequence names of the result format's contract resolve the same way in every jurisdiction."""
    f = load()
    assert f.family_of("imm.deportable.aggravated_felony") == "immigration.deportability"
    assert f.family_of("imm.aggravated_felony.G") == "immigration.aggravated_felony"
    for code in ("jury.disqualification", "jury.ny_felony_disqualification", "jury.ca_supervision_disqualification",
                 "jury.federal_disqualification"):
        assert f.family_of(code) == "jury.disqualification"
    assert f.family_of("employment.cdl_disqualification_lifetime") == "employment.cdl_disqualification"
    assert f.family_of("fines.court_costs.state") == "fines.total"
    assert f.family_of("fines.state_traffic_fine.high_bac") == "fines.total"
    assert f.family_of("fines.nonpayment.voting_restoration") == "fines.nonpayment"
    assert f.family_of("licensing.nursing.mandatory_suspension") == "licensing.mandatory_loss"
    assert f.family_of("licensing.real_estate.denial_risk") == "licensing.at_risk"
    for name in ("voting.disenfranchisement", "housing.public_housing", "benefits.snap_tanf", "driving.license_suspension",
                 "registration.sex_offender", "firearms.federal_prohibition", "firearms.mcdv_prohibition",
                 "employment.fdic_section_19", "employment.hazmat_twic", "employment.health_program_exclusion",
                 "fines.ability_to_pay"):
        assert name in f.names


def test_a_code_no_family_names_is_counted_under_its_domain_and_reported_by_check() -> None:
    f = load()
    assert f.family_of("licensing.pilot.revocation", "licensing") == "licensing.unmapped"
    assert f.check(["licensing.pilot.revocation"]) == [
        f"licensing.pilot.revocation: no family in {f.file} names this code"]


def test_patterns_match_one_part_per_star_and_double_star_the_rest() -> None:
    f = parse({"families": {
        "a.one": {"codes": ["x.*"]},
        "a.two": {"codes": ["y.**"]},
        "a.mid": {"codes": ["z.*.risk", "w.pre_*"]},
        "a.dup": {"codes": ["x.b"]}}}, "f.yaml")
    assert f.matches("x.b") == ["a.dup", "a.one"]
    assert f.matches("x.b.c") == []
    assert f.matches("y.b.c") == ["a.two"]
    assert f.matches("y") == []
    assert f.matches("z.nurse.risk") == ["a.mid"]
    assert f.matches("w.pre_x") == ["a.mid"]
    assert f.check(["x.b"]) == ["x.b: named by several families: a.dup, a.one"]


@pytest.mark.parametrize("data, message", [
    ({"families": {"Bad": {"codes": ["x.y"]}}}, "<area>.<consequence>"),
    ({"families": {"a.b": {"codes": []}}}, "expected {title, codes"),
    ({"families": {"a.b": {"codes": ["x y"]}}}, "not a code or pattern: x y"),
    ({"families": {"a.b": {"codes": ["x.**.y"]}}}, "not a code or pattern"),
    ({"families": {"a.b": {"codes": ["x.y"], "colour": 1}}}, "unknown field(s): colour"),
    ({"nothing": 1}, "expected a mapping `families:`"),
])
def test_a_malformed_families_file_is_an_input_error(data: Any, message: str) -> None:
    with pytest.raises(InputError) as exc:
        parse(data, "f.yaml")
    assert message in str(exc.value)


def test_families_keep_the_file_order_and_titles() -> None:
    f = load()
    assert isinstance(f, Families)
    assert f.names[0] == "immigration.deportability"
    assert f.by_name["jury.disqualification"].title == "Jury service disqualification"
    assert f.by_name["immigration.safe_harbor"].harm is False


def test_the_result_format_lists_every_family() -> None:
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "result-format.md").read_text()
    section = text[text.index("Consequence families:"):text.index("Determinism:")]
    bullets = [b.replace("\n  ", " ") for b in ("\n" + section).split("\n- ")[1:]]
    listed = set()
    for bullet in bullets:
        for part in bullet.strip().split(";"):
            area, _, names = part.strip().partition(":")
            listed |= {f"{area.strip()}.{n.strip(' `*')}" for n in names.split(",") if n.strip()}
    assert listed == set(load().names)
