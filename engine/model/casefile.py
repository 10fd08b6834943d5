"""The case file (input contract, format 1): pydantic model, loading and clear errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Optional, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.model.errors import InputError, Problem, nearest
from engine.model.yamlsrc import Located, dotted, load_file

Status = Literal["us_citizen", "us_national", "lpr", "conditional_lpr", "refugee", "asylee", "nonimmigrant",
                 "daca", "tps", "parolee", "undocumented"]
Goal = Literal["remain", "travel", "naturalize", "adjust", "daca", "tps", "asylum", "u_or_t_visa"]
Conduct = Literal["false_claim_citizenship", "drug_abuse", "drug_trafficking", "prostitution", "alien_smuggling"]
PriorRelief = Literal["cancellation_lpr", "cancellation_nonlpr", "waiver_212h", "section_212c"]
Sector = Literal["banking", "health_care", "child_care", "elder_care", "education", "transportation",
                 "commercial_driving", "aviation", "maritime", "security", "law_enforcement", "government",
                 "military", "legal", "finance", "insurance", "real_estate", "construction", "cosmetology"]
Benefit = Literal["snap", "tanf", "ssi", "medicaid", "public_housing", "section_8", "federal_student_aid", "veterans"]
Priority = Literal["immigration", "employment", "licensing", "fines", "custody", "housing", "benefits", "voting",
                   "firearms", "driving", "family"]
OffenseClass = Literal["felony", "misdemeanor", "infraction", "wobbler"]
MensRea = Literal["strict", "negligent", "reckless", "knowing", "intent"]
Force = Literal["none", "offensive_touching", "violent"]
Inchoate = Literal["none", "attempt", "conspiracy", "solicitation", "aiding_abetting", "accessory_after_the_fact"]
Relationship = Literal["spouse", "former_spouse", "co_parent", "cohabitant", "dating", "household", "family",
                       "child", "other", "none"]
Disposition = Literal["conviction", "deferred_adjudication", "withheld_adjudication", "diversion_no_plea",
                      "juvenile_adjudication", "federal_first_offender", "dismissal"]
HistoryDisposition = Literal["conviction", "deferred_adjudication", "withheld_adjudication", "diversion_no_plea",
                             "juvenile_adjudication", "federal_first_offender", "dismissal",
                             "vacated_legal_defect", "vacated_rehabilitative", "expunged"]
Plea = Literal["guilty", "nolo_contendere", "alford", "trial"]
YesNo = Literal["yes", "no"]
Registration = Literal["none", "sex_offender"]
Certainty = Literal["clear", "likely", "unsettled", "circuit_split"]
Schedule = Literal["federal_match", "broader"]
LicenseStatus = Literal["held", "applying"]

JURISDICTION_PATTERN = r"^US(-[A-Z]{2})?$"
# Bounds of plausible values (docs/limits.md): larger numbers are typing errors, and unbounded ones (10^30 days,
# an infinite loss) would overflow the engine's arithmetic instead of being reported.
MAX_DAYS = 3_652_500          # 10,000 years: custody, suspended time, statutory maxima
MAX_MONTHS = 120_000          # 10,000 years of probation
MAX_DOLLARS = 1e13            # ten trillion dollars: loss, fines, restitution, income
MAX_GRAMS = 1e10              # ten thousand tonnes
MAX_HOUSEHOLD = 100
MAX_OPTIONS = 20              # plea options in one case file
MAX_COUNTS = 200              # counts in one option, prior convictions, charges


class Strict(BaseModel):
    """Unknown field names are errors; the value `unknown` means the fact is not known."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _unknown_is_none(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: (None if isinstance(v, str) and v.strip().lower() == "unknown" else v) for k, v in data.items()}
        return data


class Immigration(Strict):
    status: Optional[Status] = None
    admission_date: Optional[dt.date] = None
    lpr_date: Optional[dt.date] = None
    residence_since: Optional[dt.date] = None
    lpr_admitted_at_port: Optional[bool] = None
    goals: Optional[list[Goal]] = None
    conduct: Optional[list[Conduct]] = None
    prior_relief: Optional[list[PriorRelief]] = None
    prior_removal: Optional[bool] = None


class Employment(Strict):
    occupation: Optional[str] = None
    sectors: Optional[list[Sector]] = None


class License(Strict):
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    issuer: Optional[str] = Field(default=None, pattern=JURISDICTION_PATTERN)
    status: LicenseStatus = "held"


class Finances(Strict):
    annual_income: Optional[float] = Field(default=None, ge=0, le=MAX_DOLLARS, allow_inf_nan=False)
    household_size: Optional[int] = Field(default=None, ge=1, le=MAX_HOUSEHOLD)


class Civic(Strict):
    registered_voter: Optional[bool] = None
    owns_firearm: Optional[bool] = None


class Client(Strict):
    name: Optional[str] = None
    birth_date: Optional[dt.date] = None
    immigration: Immigration = Immigration()
    employment: Employment = Employment()
    licenses: Optional[list[License]] = None
    benefits: Optional[list[Benefit]] = None
    finances: Finances = Finances()
    civic: Civic = Civic()
    priorities: list[Priority] = []


class OffenseProng(Strict):
    """One alternative of a divisible statute outside the catalog, as the case file describes it."""
    id: str = Field(min_length=1)
    title: Optional[str] = None
    elements: Optional[list[str]] = None
    mens_rea: Optional[MensRea] = None
    force: Optional[Force] = None
    cimt: Optional[bool] = None
    max_days: Optional[int] = Field(default=None, ge=0, le=MAX_DAYS)
    min_days: Optional[int] = Field(default=None, ge=0, le=MAX_DAYS)
    substance_schedule: Optional[Schedule] = None   # an alternative naming a substance: its definition against federal law

    @field_validator("id", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v


class Offense(Strict):
    statute: str = Field(min_length=1)
    jurisdiction: Optional[str] = Field(default=None, pattern=JURISDICTION_PATTERN)
    title: Optional[str] = None
    class_: Optional[OffenseClass] = Field(default=None, alias="class")
    max_days: Optional[int] = Field(default=None, ge=0, le=MAX_DAYS)
    min_days: Optional[int] = Field(default=None, ge=0, le=MAX_DAYS)   # a mandatory minimum term
    elements: Optional[list[str]] = None
    mens_rea: Optional[MensRea] = None
    force: Optional[Force] = None
    divisible: Optional[bool] = None
    prong: Optional[str] = None
    inchoate: Optional[Inchoate] = None
    cimt: Optional[bool] = None
    substance_schedule: Optional[Schedule] = None
    certainty: Optional[Certainty] = None
    # a divisible statute outside the catalog: its alternatives (with `divisible: true`); `prong` names the one the
    # record identifies, and with none named each alternative is weighed as for a catalog statute
    prongs: Optional[list[OffenseProng]] = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    @field_validator("statute", "prong", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v


class Record(Strict):
    loss_amount: Optional[float] = Field(default=None, ge=0, le=MAX_DOLLARS, allow_inf_nan=False)
    substance: Optional[str] = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    quantity_grams: Optional[float] = Field(default=None, ge=0, le=MAX_GRAMS, allow_inf_nan=False)
    personal_use: Optional[bool] = None
    remuneration: Optional[YesNo] = None
    recidivism_found: Optional[bool] = None
    victim_age: Optional[int] = Field(default=None, ge=0, le=130)
    victim_relationship: Optional[Relationship] = None
    firearm: Optional[bool] = None
    commercial_vehicle: Optional[bool] = None
    bac: Optional[float] = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    on_public_housing_premises: Optional[bool] = None
    protection_order_violation_found: Optional[bool] = None
    underlying_max_days: Optional[int] = Field(default=None, ge=0, le=MAX_DAYS)
    underlying_felony: Optional[bool] = None
    # the scheme of criminal misconduct the count arose from, as the record shows it: counts with the same
    # value arose from a single scheme (8 U.S.C. § 1227(a)(2)(A)(ii)); any short label, e.g. "incident-1"
    scheme: Optional[str] = Field(default=None, min_length=1, max_length=80)


class Sentence(Strict):
    custody_days: Optional[int] = Field(default=None, ge=0, le=MAX_DAYS)
    suspended_days: Optional[int] = Field(default=None, ge=0, le=MAX_DAYS)
    probation_months: Optional[int] = Field(default=None, ge=0, le=MAX_MONTHS)
    fine: Optional[float] = Field(default=None, ge=0, le=MAX_DOLLARS, allow_inf_nan=False)
    restitution: Optional[float] = Field(default=None, ge=0, le=MAX_DOLLARS, allow_inf_nan=False)
    registration: Optional[Registration] = None

    @model_validator(mode="after")
    def _suspended_within_custody(self) -> Sentence:
        if self.custody_days is not None and self.suspended_days is not None and self.suspended_days > self.custody_days:
            raise ValueError("suspended_days cannot exceed custody_days (custody_days includes the suspended part)")
        return self


class Count(Strict):
    offense: Offense
    committed_on: Optional[dt.date] = None
    convicted_on: Optional[dt.date] = None
    record: Record = Record()
    disposition: Optional[Disposition] = None
    plea: Optional[Plea] = None
    sentence: Sentence = Sentence()


class HistoryItem(Count):
    disposition: Optional[HistoryDisposition] = None  # type: ignore[assignment]


class Option(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    label: Optional[str] = None
    counts: list[Count] = Field(min_length=1, max_length=MAX_COUNTS)
    # the terms on the counts run one after another (true) or at the same time (false); unknown: the exposure
    # adds them up (the worst case) and says so
    consecutive: Optional[bool] = None


class CaseFile(Strict):
    format: Literal[1]
    case_id: Optional[str] = None
    jurisdiction: str = Field(pattern=JURISDICTION_PATTERN)
    circuit: Optional[int] = Field(default=None, ge=1, le=12)
    as_of: Optional[dt.date] = None
    client: Client = Client()
    history: list[HistoryItem] = Field(default=[], max_length=MAX_COUNTS)
    # the counts as charged: with them the result gains a `trial` option, convicted as charged with the sentence
    # open up to each count's maximum, to weigh each offer against
    charges: list[Count] = Field(default=[], max_length=MAX_COUNTS)
    options: list[Option] = Field(min_length=1, max_length=MAX_OPTIONS)

    @field_validator("case_id", mode="before")
    @classmethod
    def _case_id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="after")
    def _unique_option_ids(self) -> CaseFile:
        seen: set[str] = set()
        for o in self.options:
            if o.id in seen:
                raise ValueError(f"option id '{o.id}' is used twice; option ids must be unique")
            seen.add(o.id)
        if self.charges and "trial" in seen:
            raise ValueError("option id 'trial' is reserved for the trial baseline built from `charges`; rename the option")
        return self


# The circuit whose immigration case law applies, by the state where the case is prosecuted (28 U.S.C. § 41).
CIRCUIT_OF_STATE = {
    "ME": 1, "MA": 1, "NH": 1, "RI": 1, "PR": 1, "CT": 2, "NY": 2, "VT": 2, "DE": 3, "NJ": 3, "PA": 3, "VI": 3,
    "MD": 4, "NC": 4, "SC": 4, "VA": 4, "WV": 4, "LA": 5, "MS": 5, "TX": 5, "KY": 6, "MI": 6, "OH": 6, "TN": 6,
    "IL": 7, "IN": 7, "WI": 7, "AR": 8, "IA": 8, "MN": 8, "MO": 8, "NE": 8, "ND": 8, "SD": 8, "AK": 9, "AZ": 9,
    "CA": 9, "HI": 9, "ID": 9, "MT": 9, "NV": 9, "OR": 9, "WA": 9, "GU": 9, "MP": 9, "CO": 10, "KS": 10,
    "NM": 10, "OK": 10, "UT": 10, "WY": 10, "AL": 11, "FL": 11, "GA": 11, "DC": 12,
}


def default_circuit(jurisdiction: str) -> Optional[int]:
    return CIRCUIT_OF_STATE.get(jurisdiction[3:]) if jurisdiction.startswith("US-") else None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def model_at(root: type[BaseModel]) -> Callable[[tuple[Any, ...]], Optional[type[BaseModel]]]:
    """A function giving the model class that owns the mapping at a location under `root` (for 'did you
    mean'); a mapping of names to models (`dict[str, Model]`) is walked through its keys."""
    def at(loc: tuple[Any, ...]) -> Optional[type[BaseModel]]:
        model: Any = root
        keyed = False   # the previous field was a dict of models: this part is one of its keys
        for part in loc:
            if isinstance(part, int):
                continue
            if keyed:
                keyed = False
                continue
            fields = {f.alias or n: f for n, f in model.model_fields.items()}
            if part not in fields:
                return None
            ann = fields[part].annotation
            keyed = get_origin(ann) is dict
            for cand in (ann, *get_args(ann)):
                for inner in (cand, *get_args(cand)):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        model = inner
                        break
                else:
                    continue
                break
            else:
                return None
        return model if isinstance(model, type) else None
    return at


_model_at = model_at(CaseFile)


def problems_from_validation(exc: ValidationError, src: Located,
                             model_at: Optional[Callable[[tuple[Any, ...]], Optional[type[BaseModel]]]] = None) -> list[Problem]:
    """pydantic's errors as problems with file, line, field, what was expected and the nearest valid name.
    `model_at` gives the model of the mapping at a location (for "did you mean"; default: the case file's)."""
    model_at = model_at or _model_at
    out: list[Problem] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and (p.startswith("function-") or "[" in p)))
        loc = tuple(p for p in loc if p not in ("str", "int", "float", "bool", "date", "list"))
        path = dotted(loc)
        kind = err["type"]
        suggestion = ""
        if kind == "extra_forbidden":
            model = model_at(loc[:-1])
            valid = _field_names(model) if model else []
            suggestion = nearest(str(loc[-1]), valid)
            msg = "unknown field" + (f"; expected one of: {', '.join(valid)}" if valid else "")
        elif kind in ("literal_error", "enum"):
            expected = err.get("ctx", {}).get("expected", "")
            choices = [c.strip().strip("'") for c in expected.replace(" or ", ",").split(",") if c.strip()]
            suggestion = nearest(str(err.get("input")), choices)
            msg = f"'{err.get('input')}' is not valid; expected one of: {', '.join(choices)}"
        elif kind == "missing":
            msg = "required field is missing"
        else:
            msg = f"{err['msg']} (got {err.get('input')!r})" if "input" in err and not isinstance(err.get("input"), (dict, list)) else err["msg"]
        out.append(Problem(src.file, src.line(loc), path, msg, suggestion))
    return out


def parse_case(src: Located) -> CaseFile:
    if not isinstance(src.data, dict):
        raise InputError("case file", [Problem(src.file, 1, "", "expected a mapping with format, jurisdiction and options")])
    try:
        return CaseFile.model_validate(src.data)
    except ValidationError as exc:
        raise InputError("case file", problems_from_validation(exc, src)) from None


def load_case(path: Path) -> CaseFile:
    return parse_case(load_file(path))


# ---------------------------------------------------------------- checks that need more than the schema
def _counts_at(case: CaseFile) -> list[tuple[tuple[Any, ...], Count, str]]:
    """Every count with its location in the case file and how the memo names it."""
    out: list[tuple[tuple[Any, ...], Count, str]] = []
    for i, o in enumerate(case.options):
        out += [(("options", i, "counts", j), c, f"option {o.id}, count {j + 1}") for j, c in enumerate(o.counts)]
    out += [(("history", i), c, f"prior conviction {i + 1}") for i, c in enumerate(case.history)]
    out += [(("charges", i), c, f"charge {i + 1}") for i, c in enumerate(getattr(case, "charges", None) or [])]
    return out


def check_vocabulary(case: CaseFile, src: Located, elements: Any, licenses: Any,
                     prongs_of: Any = None) -> list[Problem]:
    """Values from the packs' closed vocabularies (rules/vocabulary.yaml): element tags (offense.elements and
    offense.prongs[].elements) and license types, each unknown one with the nearest valid name; and a `prong`
    that the statute (catalog entry, or the prongs the case file describes) does not have. A misspelt value
    must never make a finding disappear silently. prongs_of(jurisdiction, statute) -> the catalog's prong ids
    of a divisible statute, or None."""
    out: list[Problem] = []
    elements, licenses = set(elements), set(licenses)

    def bad(loc: tuple[Any, ...], value: str, what: str, valid: set[str]) -> None:
        near = nearest(value, valid)
        out.append(Problem(src.file, src.line(loc), dotted(loc), f"unknown {what} '{value}'"
                           + ("" if near else f"; see rules/vocabulary.yaml ({len(valid)} {what}s)"), near))

    for loc, count, _name in _counts_at(case):
        off = count.offense
        for k, tag in enumerate(off.elements or []):
            if tag not in elements:
                bad(loc + ("offense", "elements", k), tag, "element tag", elements)
        for m, p in enumerate(getattr(off, "prongs", None) or []):
            for k, tag in enumerate(p.elements or []):
                if tag not in elements:
                    bad(loc + ("offense", "prongs", m, "elements", k), tag, "element tag", elements)
        if off.prong is not None:
            described = [p.id for p in getattr(off, "prongs", None) or []]
            ids = described or (prongs_of(off.jurisdiction or case.jurisdiction, off.statute) if prongs_of else None)
            if ids and off.prong not in ids:
                near = nearest(off.prong, ids)
                out.append(Problem(src.file, src.line(loc + ("offense", "prong")), dotted(loc + ("offense", "prong")),
                                   f"'{off.prong}' is not a prong of {off.statute}; its prongs: {', '.join(ids)}", near))
    for i, lic in enumerate(case.client.licenses or []):
        if lic.type not in licenses:
            bad(("client", "licenses", i, "type"), lic.type, "license type", licenses)
    return out


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def plausibility(case: CaseFile, src: Located, on: dt.date) -> tuple[list[Problem], list[str]]:
    """Facts that cannot be true (errors) or that are unusual enough to check (warnings, shown at the top of the
    memo), for the law applied on `on` (as_of or --as-of)."""
    errors: list[Problem] = []
    warnings: list[str] = []

    def err(loc: tuple[Any, ...], msg: str) -> None:
        errors.append(Problem(src.file, src.line(loc), dotted(loc), msg))

    when = f"the date the law is applied ({on.isoformat()}: as_of or --as-of)"
    client = case.client
    birth = client.birth_date
    if birth is not None:
        if birth > on:
            err(("client", "birth_date"), f"{birth.isoformat()} is after {when}: the client is not born yet")
        elif _age(birth, on) > 110:
            warnings.append(f"The client's birth date {birth.isoformat()} makes the client {_age(birth, on)} "
                            f"years old on {on.isoformat()}: check client.birth_date.")
    im = client.immigration
    for name in ("admission_date", "lpr_date", "residence_since"):
        d = getattr(im, name)
        if d is None:
            continue
        if d > on:
            err(("client", "immigration", name), f"{d.isoformat()} is after {when}")
        elif birth is not None and d < birth:
            err(("client", "immigration", name), f"{d.isoformat()} is before the client's birth date ({birth.isoformat()})")
    for loc, count, name in _counts_at(case):
        done, conv = count.committed_on, count.convicted_on
        if done is not None and done > on:
            err(loc + ("committed_on",), f"the offense ({done.isoformat()}) is after {when}")
        if done is not None and conv is not None and conv < done:
            err(loc + ("convicted_on",), f"the conviction ({conv.isoformat()}) is before the offense ({done.isoformat()})")
        if loc[0] == "history" and conv is not None and conv > on:
            err(loc + ("convicted_on",), f"a prior conviction ({conv.isoformat()}) is after {when}")
        if birth is not None and done is not None and done < birth:
            err(loc + ("committed_on",), f"the offense ({done.isoformat()}) is before the client's birth date ({birth.isoformat()})")
        elif birth is not None and done is not None and _age(birth, done) < 18 and count.disposition != "juvenile_adjudication":
            warnings.append(f"The client was under 18 at the offense of {name} ({done.isoformat()}): if it is (or was) "
                            "in juvenile court, give disposition: juvenile_adjudication.")
    return errors, warnings
