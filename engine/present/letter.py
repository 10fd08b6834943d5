"""What the client letter says, computed from the result document: for each offer a few plain facts
(flags and amounts) that the letter template turns into sentences in the client's language, the questions
only the client can answer, and what to do and not do now. No sentence is written here: every sentence is in
templates/letter.html.j2 and translated in templates/locale/<lang>/LC_MESSAGES/letter.po."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.present.common import money, rank, unique

CITIZEN = {"us_citizen", "us_national"}
# client facts the letter knows how to ask about, in the client's words (templates/letter.html.j2)
CLIENT_FACTS = ("client.civic.owns_firearm", "client.licenses.held", "client.licenses.applying", "client.benefits",
                "client.employment.sectors", "client.finances.annual_income", "client.finances.household_size",
                "client.immigration.status", "client.immigration.admitted", "client.immigration.admission_date",
                "client.immigration.lpr_date", "client.immigration.residence_since", "client.immigration.lpr_admitted_at_port",
                "client.immigration.prior_relief", "client.immigration.prior_removal", "client.immigration.conduct",
                "client.immigration.goals", "client.birth_date", "client.age", "client.civic.registered_voter",
                "client.immigration.age_at_lpr")


@dataclass
class OfferFacts:
    number: int
    id: str
    label: str
    deportable: str = "no"          # yes / maybe / no / na
    certain: bool = False           # Padilla: clear
    inadmissible: bool = False
    aggravated_felony: bool = False
    detention: bool = False
    lose_citizenship_path: bool = False
    lose_defenses: bool = False
    keep_defense: bool = False
    travel: bool = False
    green_card_blocked: bool = False
    guns: bool = False
    guns_maybe: bool = False
    work: bool = False
    license_maybe: bool = False
    vote: bool = False
    jury: bool = False
    benefits: bool = False
    housing: bool = False
    driving: bool = False
    dna: bool = False
    owed: str = ""
    more_owed: bool = False
    ask_lower: bool = False
    safer: bool = False


@dataclass
class Letter:
    name: str
    case_id: str
    noncitizen: bool
    offers: list[OfferFacts]
    safer: int
    questions: list[str]
    other_questions: int
    guns: bool
    work: bool
    benefits: bool
    lpr: bool
    extra: dict[str, Any] = field(default_factory=dict)


def _offer(n: int, o: dict[str, Any], status: str, safer: str) -> OfferFacts:
    live = [f for f in o["findings"] if f["status"] in ("applies", "possible") and f["kind"] != "classification"]
    app = {f["code"] for f in live if f["status"] == "applies"}
    maybe = {f["code"] for f in live if f["status"] == "possible"}
    of = OfferFacts(number=n, id=o["id"], label=o.get("label") or o["id"], safer=o["id"] == safer)
    if status in CITIZEN:
        of.deportable = "na"
    else:
        dep = [f for f in live if f["code"].startswith("imm.deportable.") and f["status"] == "applies"]
        if dep:
            of.deportable = "yes"
            of.certain = any(f.get("padilla") == "clear" for f in dep)
        elif any(c.startswith("imm.deportable.") for c in maybe):
            of.deportable = "maybe"
        of.inadmissible = any(c.startswith("imm.inadmissible.") for c in app)
        of.aggravated_felony = "imm.aggravated_felony" in app or "imm.deportable.aggravated_felony" in app
        of.detention = "imm.detention.mandatory" in app
        of.lose_citizenship_path = "imm.bar.naturalization" in app
        of.lose_defenses = any(c.startswith("imm.relief_bar.") for c in app)
        of.keep_defense = "imm.lpr_cancellation_available" in app
        of.travel = "imm.travel_risk" in app
        of.green_card_blocked = of.inadmissible and status != "lpr"
    client_level = [f for f in live if f.get("audience") == "client" or rank(f["severity"]) >= rank("high")]
    of.guns = any(f["domain"] == "firearms" and f["status"] == "applies" and f["kind"] == "consequence" for f in live)
    of.guns_maybe = not of.guns and any(f["domain"] == "firearms" and f["kind"] == "consequence" for f in live)
    of.work = any(f["domain"] in ("employment", "licensing") and f["status"] == "applies" and f["kind"] == "consequence"
                  and rank(f["severity"]) >= rank("medium") for f in client_level)
    of.license_maybe = any(f["domain"] == "licensing" and f["status"] == "possible" for f in live)
    of.vote = any(f["domain"] == "voting" and f["status"] == "applies" for f in live)
    of.jury = any(f["domain"] == "jury" and f["status"] == "applies" for f in live)
    of.benefits = any(f["domain"] == "benefits" and f["status"] == "applies" and f["kind"] == "consequence" for f in live)
    of.housing = any(f["domain"] == "housing" and f["status"] == "applies" and f["kind"] == "consequence" for f in live)
    of.driving = any(f["domain"] == "driving" and f["status"] == "applies" and f["kind"] == "consequence" for f in live) or \
        any("license_suspension" in f["code"] for f in live if f["status"] == "applies")
    of.dna = any(f["code"] == "registration.dna_sample" for f in live if f["status"] == "applies")
    fin = o.get("financial") or {}
    of.owed = money(fin.get("total") or 0.0)
    of.more_owed = bool(fin.get("unknown_items") or fin.get("possible_additional"))
    of.ask_lower = any(f["kind"] == "relief" and f["domain"] == "fines" for f in live)
    return of


def build_letter(result: dict[str, Any], lang: str = "en") -> Letter:
    client = result.get("client") or {}
    status = str(client.get("immigration_status") or "unknown")
    ranked = (result.get("comparison") or {}).get("ranked") or []
    safer = ranked[0] if len(ranked) > 1 else ""
    offers = [_offer(i + 1, o, status, safer) for i, o in enumerate(result["options"])]
    facts: dict[str, str] = {}
    for o in result["options"]:
        for q in o.get("questions") or []:
            if q["fact"] not in facts or rank(q["stakes"]) > rank(facts[q["fact"]]):
                facts[q["fact"]] = q["stakes"]
    ordered = sorted(facts, key=lambda f: (-rank(facts[f]), f))
    known = [f for f in ordered if f in CLIENT_FACTS]
    return Letter(name=str(client.get("name") or ""), case_id=str(result.get("case_id") or ""),
                  noncitizen=status not in CITIZEN, offers=offers,
                  safer=next((o.number for o in offers if o.safer), 0), questions=unique(known),
                  other_questions=len(ordered) - len(known), guns=any(o.guns or o.guns_maybe for o in offers),
                  work=any(o.work or o.license_maybe for o in offers), benefits=any(o.benefits or o.housing for o in offers),
                  lpr=status == "lpr")
