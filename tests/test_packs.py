"""The bundled packs: `packs check` finds no error, and every named test case beside the rules passes under
both evaluators (each case is its own pytest item), in strict mode: every finding of the test's own pack on an
option it has expectations for is named by the test (applies, possible, absent, amounts, todo) or listed under
`ignore`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from engine.author.packtools import check, collect_tests, run_test
from engine.law.packs import load_all

_PS = load_all()
_TESTS, _PROBLEMS = collect_tests(_PS)
_ROOT = Path(__file__).resolve().parent.parent

# Findings of a test's own pack that the test deliberately leaves unnamed because they are wrong in law for the
# test's facts (issue 17, strict review): the rule must be fixed, not the test. Each entry is (test file, test
# name) -> the "option: code" findings that strict mode reports; any other failure still fails the case. When
# a rule is fixed and its finding disappears (or the test names it), the entry fails: remove it.
KNOWN_WRONG: dict[tuple[str, str], set[str]] = {
    # an LPR cannot request DACA (8 C.F.R. 236.22(b)(4): no lawful status)
    ('rules/us/immigration/aggravated-felony-reyes.test.yaml',
     'NY grand larceny (PL 155.30) with a one-year term and a $15,000 loss is an aggravated felony under Matter of Reyes, 28 I&N Dec. 52 (A.G. 2020)'):
        {'offer: imm.bar.daca'},
    # an LPR cannot request DACA (8 C.F.R. 236.22(b)(4): no lawful status)
    ('rules/us/immigration/aggravated-felony-reyes.test.yaml',
     'The same larceny with a 364-day term is not an aggravated felony on either route'):
        {'offer: imm.bar.daca'},
    # an LPR cannot request DACA (8 C.F.R. 236.22(b)(4): no lawful status)
    ('rules/us/immigration/aggravated-felony-reyes.test.yaml',
     'With a one-year term but no loss in the record, the every-means aggravated felony is possible and asks for the loss'):
        {'offer: imm.bar.daca'},
    # failure to surrender for a sentence is (Q), not (T) (8 U.S.C. 1101(a)(43)(Q), (T))
    ('rules/us/immigration/aggravated-felony.test.yaml',
     'Failure to surrender for a sentence on a 5-year offense is a (Q) aggravated felony'):
        {'offer: imm.aggravated_felony.T'},
    # an LPR cannot request DACA (8 C.F.R. 236.22(b)(4): no lawful status)
    ('rules/us/immigration/conviction.test.yaml',
     'A guilty plea entered as a judgment of guilt is a conviction'):
        {'offer: imm.bar.daca'},
    # an LPR cannot request DACA (8 C.F.R. 236.22(b)(4): no lawful status)
    ('rules/us/immigration/conviction.test.yaml',
     'Deferred adjudication on a no-contest plea with probation is a conviction (INA 101(a)(48)(A))'):
        {'offer: imm.bar.daca'},
    # an LPR cannot request DACA (8 C.F.R. 236.22(b)(4): no lawful status)
    ('rules/us/immigration/conviction.test.yaml',
     'Deferred adjudication with a plea but no sentence information is possibly a conviction'):
        {'offer: imm.bar.daca'},
    # a CIMT within the petty-offense limits with a maximum under a year does not bar non-LPR cancellation (Matter of Pedroza, 25 I&N Dec. 312 (BIA 2010))
    ('rules/us/immigration/inadmissibility.test.yaml',
     'A silent record under N.Y. PL 120.00 (one prong a CIMT) does not make an applicant for adjustment inadmissible when the offense fits the petty-offense exception whichever prong: one offense, 364-day maximum, 30 days (8 U.S.C. 1182(a)(2)(A)(ii)(II))'):
        {'offer: imm.relief_bar.cancellation_nonlpr'},
    # a CIMT within the petty-offense limits with a maximum under a year does not bar non-LPR cancellation (Matter of Pedroza, 25 I&N Dec. 312 (BIA 2010))
    ('rules/us/immigration/inadmissibility.test.yaml',
     'An undocumented client convicted of trespass, not a theft or burglary offense, is not within 8 U.S.C. 1226(c)(1)(E)(ii)'):
        {'offer: imm.relief_bar.cancellation_nonlpr'},
    # the 101(f)(3) bar needs the offense committed within the statutory period (5 years before filing); this one was committed over 5 years before the case date
    ('rules/us/immigration/relief-bars.test.yaml',
     'Barton v. Barr, 590 U.S. 222 (2020): a drug offense committed within 7 years of admission stops the LPR cancellation clock'):
        {'offer: imm.bar.naturalization'},
    # the 101(f)(3) bar needs the offense committed within the statutory period (5 years before filing); this one was committed over 5 years before the case date
    ('rules/us/immigration/relief-bars.test.yaml',
     'Matter of Deanda-Romo, 23 I&N Dec. 597 (BIA 2003): two petty-offense CIMTs both committed within the 7 years stop the clock'):
        {'offer: imm.bar.naturalization'},
    # automatic felony relief excludes serious felonies (PC 1203.425; PC 1192.7(c))
    ('rules/us-ca/civil/civil.test.yaml',
     'A California felony conviction brings the lifetime firearm ban, DNA collection and jury exclusion during felony probation'):
        {'offer: relief.ca_automatic_relief_1203_425'},
    # automatic felony relief excludes serious felonies (PC 1203.425; PC 1192.7(c))
    ('rules/us-ca/civil/civil.test.yaml',
     'A wobbler (PC 245(a)(1)) left as a felony triggers the felony firearm ban, and PC 17(b) reduction is flagged as relief'):
        {'offer: relief.ca_automatic_relief_1203_425'},
    # PC 1203.4 needs probation; jail as a probation condition is capped at 1 year (PC 19.2), so 485 days (1170(h)) or 1,095 days (prison) rules probation out
    ('rules/us-ca/civil/civil.test.yaml',
     'A felony term of 3 years may be a state prison term that suspends voting until release; a jail-only misdemeanor does not'):
        {'prison: relief.ca_dismissal_1203_4'},
    # Cal. Const. art. II, sec. 4 (Prop. 17) disqualifies only during a state or federal prison term; a PC 487(a) felony term is served in county jail (PC 1170(h))
    # PC 1203.4 needs probation; jail as a probation condition is capped at 1 year (PC 19.2), so 485 days (1170(h)) or 1,095 days (prison) rules probation out
    # PC 17(b)(1) does not reach a felony county-jail term under PC 1170(h); 485 days is such a term
    ('rules/us-ca/civil/civil.test.yaml',
     'Grand theft (PC 487(a)) gives no registration finding at all, and automatic relief under PC 1203.425 is not held up by the registration question'):
        {
            'offer: relief.ca_dismissal_1203_4',
            'offer: relief.ca_wobbler_reduction',
            'offer: voting.ca_prison_term_disqualification',
        },
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'Per $10 or part of $10: a $255 fine is 26 units, so the state penalty is 26 x $10 = $260 and the surcharge 20% x 255 = $51'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'Several counts: two misdemeanors ($100 fine each) and an infraction ($0 fine) cost 200 + 2 x 290 + 2 x 20 + 3 x 40 + (30 + 30 + 35) + one restitution fine 150 = $1,185'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'A wobbler (grand theft, PC 487(a)) is treated as a felony for the restitution fine unless reduced'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'A plea option that states no fine makes the base fine and every penalty assessment possible'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'DNA penalty boundary: on 2012-06-26 the additional DNA penalty on a $100 fine is 10 x $3 = $30'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'DNA penalty boundary: from 2012-06-27 the additional DNA penalty on a $100 fine is 10 x $4 = $40'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'Restitution fine boundary: sentenced 2013-12-31, the misdemeanor minimum was $140'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'Restitution fine boundary: sentenced 2014-01-01 for a 2013 offense, the $150 minimum is shown but the offense-date $140 governs (People v. Souza (2012) 54 Cal.4th 90, 143)'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'An earlier California case with probation before July 2021 leaves fee balances the court must vacate (PC 1465.9(a))'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'People v. Duenas (2019) 30 Cal.App.5th 1157: a client at 100% of poverty sentenced in 2025 may ask for an ability-to-pay hearing (unsettled)'):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     "When the client's income is unknown the ability-to-pay relief is possible"):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     "AB 103 boundary: on 2017-06-26 an unpaid fine could still lead to a driver's license suspension"):
        {'offer: fines.revocation_restitution_fine'},
    # PC 1202.44 needs probation or a conditional sentence; PC 1202.45 needs parole, PRCS or mandatory supervision; none is in the sentence
    ('rules/us-ca/fines/fines.test.yaml',
     'AB 103 boundary: from 2017-06-27 non-payment no longer suspends the license; collections and civil assessment remain'):
        {'offer: fines.revocation_restitution_fine'},
    # no fine can be imposed on a dismissal or diversion without a plea
    ('rules/us-fl/fines/costs.test.yaml',
     'A dismissal carries no Florida court costs'):
        {'offer: fines.fine_above_statutory_maximum'},
    # CPL 160.59(1)(a) excludes violent felony offenses (PL 70.02) and covers only crimes (violations and traffic infractions are sealed under CPL 160.55)
    ('rules/us-ny/civil/civil.test.yaml',
     'A New York felony conviction with a prison term suspends voting during incarceration and bars jury service and a firearm license'):
        {'offer: relief.ny_sealing_160_59'},
    # CPL 160.59(1)(a) excludes violent felony offenses (PL 70.02) and covers only crimes (violations and traffic infractions are sealed under CPL 160.55)
    ('rules/us-ny/civil/civil.test.yaml',
     'A New York DWI revokes the license for at least 6 months; DWAI suspends it for 90 days; a first DWI is not a DNA offense'):
        {'dwai: relief.ny_sealing_160_59'},
    # CPL 160.59(1)(a) excludes violent felony offenses (PL 70.02) and covers only crimes (violations and traffic infractions are sealed under CPL 160.55)
    ('rules/us-ny/civil/civil.test.yaml',
     'A registrable New York sex offense requires SORA registration; harassment does not'):
        {'har: relief.ny_sealing_160_59'},
    # no fine can be imposed on a dismissal or diversion without a plea
    ('rules/us-ny/fines/surcharges.test.yaml',
     'An adjournment in contemplation of dismissal (dismissal) carries no surcharge or fee'):
        {'offer: fines.fine_above_statutory_maximum'},
    # no fine can be imposed on a dismissal or diversion without a plea
    ('rules/us-ny/fines/surcharges.test.yaml',
     'A past conviction in the history does not create new surcharges for this plea'):
        {'offer: fines.fine_above_statutory_maximum'},
    # no nondisclosure for an offense involving family violence (Tex. Gov't Code 411.074(b)); the relationship is a spouse or unknown
    ('rules/us-tx/civil/civic.test.yaml',
     'Class A assault on a spouse triggers the 46.04(b) five-year firearm ban'):
        {'offer: relief.nondisclosure'},
    # no nondisclosure for an offense involving family violence (Tex. Gov't Code 411.074(b)); the relationship is a spouse or unknown
    ('rules/us-tx/civil/civic.test.yaml',
     'Class A assault with an unknown victim relationship possibly triggers 46.04(b)'):
        {'offer: relief.nondisclosure'},
    # PC 25.02 (prohibited sexual conduct) cannot be a DWI; the statute is missing from the Texas catalog, so its elements are unknown
    # a person required to register gives a DNA specimen (Tex. Gov't Code 411.1473); registration applies here, so the DNA finding applies, not possible
    ('rules/us-tx/civil/status.test.yaml',
     'Art. 62.001(5)(A) lists prohibited sexual conduct (PC 25.02): registration applies even when the case names only the statute'):
        {
            'offer: driving.license_suspension',
            'offer: registration.dna_sample',
        },
    # no nondisclosure for an offense involving family violence (Tex. Gov't Code 411.074(b)); the relationship is unknown
    ('rules/us-tx/civil/status.test.yaml',
     'A Class A assault conviction requires a DNA sample but a Class C assault does not'):
        {
            'a: relief.nondisclosure',
            'c: relief.nondisclosure',
        },
    # no fine can be imposed on a dismissal or diversion without a plea
    ('rules/us-tx/fines/court-costs.test.yaml',
     'A dismissal carries no court costs'):
        {'offer: fines.fine_above_statutory_maximum'},
    # no fine can be imposed on a dismissal or diversion without a plea
    ('rules/us-tx/fines/court-costs.test.yaml',
     'Pre-plea diversion without a plea is not a conviction for court costs'):
        {'offer: fines.fine_above_statutory_maximum'},
}

_STRICT = re.compile(r"^(\S+): strict: (\S+) \(")


def test_the_bundled_packs_pass_packs_check() -> None:
    errors, _warnings = check(_PS, dt.date(2026, 11, 26))
    assert errors == []


def test_every_test_file_is_valid() -> None:
    assert _PROBLEMS == []


def test_every_rule_fires_in_some_test_case(plain_engine: Any) -> None:
    from engine.author.packtools import unfired_rules
    fired: set[str] = set()
    for pt in _TESTS:
        run_test(plain_engine, pt, fired)
    assert unfired_rules(_PS, fired) == []


def test_known_wrong_entries_name_existing_tests() -> None:
    keys = {(str(Path(pt.file).resolve().relative_to(_ROOT)), pt.name) for pt in _TESTS}
    assert sorted(set(KNOWN_WRONG) - keys) == []


@pytest.mark.parametrize("evaluator", ["durable", "plain"])
@pytest.mark.parametrize("pt", _TESTS, ids=[f"{t.pack.id}:{t.name}" for t in _TESTS])
def test_pack_case(pt: Any, evaluator: str, durable_engine: Any, plain_engine: Any) -> None:
    engine = durable_engine if evaluator == "durable" else plain_engine
    failures = run_test(engine, pt, strict=True)
    known = KNOWN_WRONG.get((str(Path(pt.file).resolve().relative_to(_ROOT)), pt.name), set())
    unnamed = {f"{m.group(1)}: {m.group(2)}" for f in failures if (m := _STRICT.match(f))}
    other = [f for f in failures if not _STRICT.match(f)]
    other += [f"{c}: strict: not named by the test (and not a known-wrong finding)" for c in sorted(unnamed - known)]
    other += [f"{c}: listed in KNOWN_WRONG but no longer reported: remove the entry (and name the code if it is now right)"
              for c in sorted(known - unnamed)]
    assert other == [], f"{pt.file}:{pt.line}: {pt.name}\n" + "\n".join(other)
