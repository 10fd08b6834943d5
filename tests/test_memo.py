"""The memo an attorney signs: the bottom line first, findings in an attorney's words, the trace in an
appendix, possible findings grouped by the question that decides them, dates in the timeline, no `?`
arithmetic, a checklist that bears on the option, and case text that cannot make structure."""

from __future__ import annotations

import re

import pytest

from engine.present import memo_document
from engine.present.memo import build
from engine.present.money import bounds, unknown_function

from .memo_support import CA, EXAMPLES, HOSTILE_LABEL, hostile, page_one, result, words


def md(path=CA, appendix: bool = False) -> str:   # type: ignore[no-untyped-def]
    out = memo_document(result(path), "md", appendix=appendix)
    assert isinstance(out, str)
    return out


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_page_one_answers_what_an_attorney_needs(example) -> None:   # type: ignore[no-untyped-def]
    r = result(example)
    memo = md(example)
    one = page_one(memo)
    m = build(r)
    assert one.startswith("# PRIVILEGED AND CONFIDENTIAL — ATTORNEY WORK PRODUCT")
    assert "## Bottom line" in one and "| Option | Removal | Aggravated felony | Mandatory detention | Relief |" in one
    for o in m.options:
        assert f"| **{o.id}** |" in one                         # a table row per option
        assert 1 <= len(o.sentences) <= 3                       # and at most three sentences
        assert o.sentences[0].split(":")[0][:30] in one.replace("\\", "")
        assert o.row["money"].split(" ")[0] in one               # money owed
    if len(r["options"]) > 1:
        assert f"**Safer for this client's priorities: {r['comparison']['ranked'][0]}.**" in one
    if any(o["alternatives"] for o in r["options"]):
        assert "**Counter-offers to ask for** (verified: every rule re-run" in one
    assert "**Record of conviction**" in one and "**Open questions, most serious first.**" in one
    stakes = [q.stakes for q in m.client_questions]
    assert stakes == sorted(stakes, key=["info", "low", "medium", "high", "critical"].index, reverse=True)
    assert words(one) < 900


def test_california_bottom_line_says_what_each_offer_does() -> None:
    one = page_one(md())
    assert "| **offer** | Deportable: CIMT within 5 years of admission; inadmissible: CIMT; travel unsafe | No | Yes |" in one
    assert "| **counter** | Not deportable | No | No |" in one and "Kept: the petty-offense exception" in one.replace("kept:", "Kept:")
    assert "Barred from working at an FDIC-insured bank" in one                         # the job that matters
    assert "$12,370 (40% of income)" in one                                        # money against income
    assert "plead to PC 484(a)" in one and "triggers nothing new" in one                  # the verified counter-offer
    assert "Ask the client:" in one and "For counsel:" in one                             # questions apart
    assert one.index("Does the client own or possess a firearm?") < one.index("Which licenses is the client applying for?")


def test_the_body_has_no_trace_and_the_appendix_has_it() -> None:
    body = md()
    for internal in ("Derived from", "Facts read", "offer/imm.cimt@0", "us.immigration.deportable-cimt",
                     "client.immigration.admitted", "decides plea/", "= True"):
        assert internal not in body, internal
    full = md(appendix=True)
    assert "## Appendix: how each finding was reached" in full
    assert "`offer/imm.deportable.cimt@0`" in full and "`us.immigration.deportable-cimt`" in full
    assert full.startswith(body[:body.index("## Rule packs applied")])


def test_the_california_memo_is_short() -> None:
    assert words(md()) < 4000


def test_possible_findings_on_one_unknown_are_one_line_with_the_question() -> None:
    memo = md()
    section = memo[memo.index("### Turns on facts not yet known"):]
    section = section[:section.index("\n### ", 5)]
    lines = [x for x in section.splitlines() if x.startswith("- ")]
    assert len(lines) == 3          # 15 possible findings: a firearm question and two license questions
    lic = next(x for x in lines if "Which licenses is the client applying for?" in x)
    assert "(7 findings)" in lic and "barber" in lic and "registered nurse" in lic


def test_unknown_amounts_show_what_decides_them_never_question_mark_arithmetic() -> None:
    memo = md()
    assert "?" not in "".join(re.findall(r"\(\(.*?\)\)", memo)) and "(unknown)" not in memo
    assert "Not yet set: Base fine on this count and 7 items computed from it." in memo
    assert "Each $1,000 of it costs $4,100 in all." in memo


def test_money_arithmetic_is_read_back() -> None:
    fn = unknown_function("((? rounded up to a multiple of 10 ÷ 10) × 7) (unknown)")
    assert fn is not None and fn(1000) == 700 and fn(1001) == 707 and bounds(fn) is None
    capped = unknown_function("min(?, 500)")
    assert capped is not None and bounds(capped) == (0, 500)
    assert unknown_function("12,000 = 12,000.00") is None and unknown_function("nonsense ? here") is None


def test_the_timeline_shows_dates_not_the_findings_again() -> None:
    memo = md()
    timeline = memo[memo.index("### Timeline"):]
    timeline = timeline[:timeline.index("\n### ", 5)]
    rows = [x for x in timeline.splitlines() if x.startswith("| 2")]
    assert rows and all(re.match(r"\| \d{4}-\d{2}-\d{2} \| ", x) for x in rows)
    # 8 U.S.C. 1101(f)(3): the bar runs from the commission of the offense (2026-03-14), not from the conviction
    assert any("| 2031-03-14 | Naturalization" in x and "5 years from the commission of the offense" in x for x in rows)
    assert any("Release from custody" in x for x in rows)
    counter = memo[memo.index("## Option counter"):]
    counter = counter[:counter.index("\n## ", 5)]
    assert "felonies: 4 years" not in counter    # a misdemeanor: the felony rule's date is not its date


def test_the_checklist_bears_on_the_option() -> None:
    memo = md()
    checklists = "".join(x for x in memo.splitlines() if x.startswith("- [ ] "))
    assert checklists and "marijuana" not in checklists.lower()                # a theft case
    assert "Obtain the certified record of every prior conviction" not in memo   # no prior record
    ny = md(next(p for p in EXAMPLES if p.stem.startswith("ny-")))
    assert "prior conviction" in ny.lower()


def test_findings_are_in_an_attorneys_words() -> None:
    memo = md()
    block = memo[memo.index("#### CRITICAL — Deportable: one CIMT"):]
    block = block[:block.index("\n#### ")]
    assert "*Test:* 237(a)(2)(A)(i):" in block
    assert "*Here:*" in block and "admitted 2022-06-01; offense committed 2026-03-14; maximum 3 years" in block
    assert "*Authority:* 8 U.S.C. § 1227(a)(2)(A)(i)" in block
    assert "Padilla risk: advise as a serious risk" in block


def test_hostile_case_text_cannot_make_markdown_structure() -> None:
    out = memo_document(hostile(), "md")
    assert isinstance(out, str)
    assert not re.search(r"(?m)^#+ (Injected|nope)", out)
    assert "<script>" not in out and "<b>" not in out and "<i>" not in out
    assert "\\<script\\>alert('x')\\</script\\>" in out and "\\*\\*bold\\*\\*" in out
    assert "Offer \\| A # Injected heading" in out.replace("\\#", "#")
    for line in out.splitlines():
        if line.startswith("| **offer** |"):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) == 10           # 8 columns, no cell broken by the label's '|'
    assert HOSTILE_LABEL not in out


def test_memo_is_byte_identical_across_runs() -> None:
    assert memo_document(result(CA), "md") == memo_document(result(CA), "md")
    assert memo_document(result(CA), "html") == memo_document(result(CA), "html")
