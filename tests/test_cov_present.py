"""The presentation layer at its edges (found by branch coverage): the shared helpers of the memo and letter
(money, dates, sentences), the message catalogs, the HTML tree, the Markdown and Word writers on the HTML shapes
the templates can produce, the PDF printer's refusals, the arithmetic reader of unknown amounts and the letter's
deportation line. Every expected value is written by hand."""

from __future__ import annotations

import datetime as dt
import io
import logging
import sys
from pathlib import Path
from typing import Any

import docx
import pytest

from engine.model.errors import InputError
from engine.present import convert, letter_document
from engine.present.common import add_months, add_years, money, parse_date, sentences
from engine.present.docx import to_docx
from engine.present.i18n import translations
from engine.present.letter import build_letter
from engine.present.markdown import to_markdown
from engine.present.money import parse, unknown_function
from engine.present.pdf import to_pdf
from engine.present.render import TEMPLATES_DIR
from engine.present.tree import parse as parse_tree

# ------------------------------------------------------------------------------------------ common


def test_money_unknown_and_negative() -> None:
    assert money(None) == "unknown"
    assert money(1234.5) == "$1,234.50"
    assert money(250.0) == "$250"
    assert money(-75.0) == "−$75"


def test_parse_date_accepts_dates_and_iso_text_only() -> None:
    assert parse_date(dt.date(2026, 3, 14)) == dt.date(2026, 3, 14)
    assert parse_date("2026-03-14T10:00:00") == dt.date(2026, 3, 14)
    assert parse_date("14 March 2026") is None
    assert parse_date(20260314) is None


def test_add_years_from_29_february_lands_on_28_february() -> None:
    assert add_years(dt.date(2024, 2, 29), 5) == dt.date(2029, 2, 28)
    assert add_years(dt.date(2024, 2, 29), 4) == dt.date(2028, 2, 29)


def test_add_months_past_a_short_month_takes_its_last_day() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2026, 3, 31), 1) == dt.date(2026, 4, 30)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    with pytest.raises(ValueError):   # past the calendar's last year
        add_months(dt.date(9999, 12, 15), 1)


def test_sentences_end_at_question_and_exclamation_marks_not_at_abbreviations() -> None:
    text = "Is the client a U.S. citizen? Ask first! See 8 U.S.C. § 1227. Then decide."
    assert sentences(text, 1) == "Is the client a U.S. citizen?"
    assert sentences(text, 2) == "Is the client a U.S. citizen? Ask first!"
    assert sentences(text, 3) == "Is the client a U.S. citizen? Ask first! See 8 U.S.C. § 1227. Then decide."
    assert sentences(text, 9) == text
    assert sentences("", 2) == ""


# ------------------------------------------------------------------------------------------ i18n


def _catalog(folder: Path, lang: str, body: str) -> None:
    path = folder / "locale" / lang / "LC_MESSAGES" / "letter.po"
    path.parent.mkdir(parents=True)
    path.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n' + body, encoding="utf-8")


def test_a_language_without_a_catalog_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        translations("fr", TEMPLATES_DIR)
    assert "no message catalog for language 'fr'" in str(exc.value.problems[0])
    with pytest.raises(InputError) as exc:   # a language the tool knows, but this template folder has no catalog
        translations("es", tmp_path)
    assert "no message catalog for language 'es'" in str(exc.value.problems[0])


def test_an_untranslated_message_is_refused_naming_it(tmp_path: Path) -> None:
    _catalog(tmp_path, "es", 'msgid "Page"\nmsgstr "Página"\n\nmsgid "of"\nmsgstr ""\n')
    with pytest.raises(InputError) as exc:
        translations("es", tmp_path)
    assert "untranslated message: 'of'" in str(exc.value.problems[0])


def test_a_complete_catalog_translates(tmp_path: Path) -> None:
    _catalog(tmp_path, "es", 'msgid "Page"\nmsgstr "Página"\n')
    assert translations("es", tmp_path).gettext("Page") == "Página"
    assert translations("en", tmp_path).gettext("Page") == "Page"


# ------------------------------------------------------------------------------------------ tree


def test_tree_text_reads_a_line_break_as_a_space_and_skips_styles() -> None:
    body = parse_tree("<html><head><title>T</title><style>p {color: red}</style></head>"
                      "<body><p>one<br>two<br/>three</p><script>alert(1)</script><p>four &amp; five</p></body></html>")
    assert [p.text() for p in body.find_all("p")] == ["one two three", "four & five"]
    assert "red" not in body.text() and "alert" not in body.text() and "T" not in body.text().split()


def test_tree_ignores_stray_end_tags_and_self_closed_skipped_elements() -> None:
    root = parse_tree("<div><p>a</span>b</br></p><style/>c</div></em><p>d</p>")
    assert [p.text() for p in root.find_all("p")] == ["ab", "d"]
    assert root.find_all("div")[0].text() == "abc"


def test_tree_elements_inside_a_skipped_element_are_dropped() -> None:
    root = parse_tree("<template><p>hidden</p><br/></template><p>shown</p>")
    assert [p.text() for p in root.find_all("p")] == ["shown"]
    assert root.find_all("br") == []


# ------------------------------------------------------------------------------------------ markdown


def test_markdown_guards_a_line_that_would_become_a_list_or_underline() -> None:
    md = to_markdown("<p>- not a list</p><p>= not an underline</p><p>+ plus</p><p>3. not numbered</p>")
    assert md == "\\- not a list\n\n\\= not an underline\n\n\\+ plus\n\n3\\. not numbered\n"


def test_markdown_inline_elements() -> None:
    md = to_markdown("<p>a<br>b <strong> </strong>c <span>d</span> <a href='x'>e</a><div>f</div></p>")
    assert md == "a b c d e f\n"


def test_markdown_loose_text_between_blocks_is_a_paragraph() -> None:
    md = to_markdown("<div>before<p>inside</p>after <em>this</em></div>")
    assert md == "before\n\ninside\n\nafter *this*\n"


def test_markdown_drops_empty_blocks() -> None:
    md = to_markdown("<h2> </h2><p>  </p><ul></ul><p>kept</p>")
    assert md == "kept\n"


def test_markdown_rule_quote_table_without_header_and_nested_list() -> None:
    html = ("<hr><blockquote><p>quoted</p><p>twice</p></blockquote>"
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"
            "<ol><li>first<ul><li>inner</li></ul></li><li class='todo'>second</li></ol>")
    assert to_markdown(html) == ("---\n\n> quoted\n\n> twice\n\n"
                                 "| a | b |\n|---|---|\n| c |   |\n\n"
                                 "1. first\n  - inner\n2. [ ] second\n")


def test_markdown_empty_table_has_one_blank_header_cell() -> None:
    assert to_markdown("<table></table>") == "|   |\n|---|\n"


# ------------------------------------------------------------------------------------------ docx


def _doc(html: str) -> Any:
    return docx.Document(io.BytesIO(to_docx(html, "HEADER", "Title")))


def test_docx_lists_line_breaks_and_spaces_between_runs() -> None:
    d = _doc("<p><b>bold</b> <i>it</i><br>next</p>"
             "<ul><li>top<ol><li>inner</li></ol></li><li class='todo'>to do</li></ul>")
    paragraphs = [(p.text, p.style.name) for p in d.paragraphs]
    assert paragraphs == [("bold it next", "Normal"), ("top", "List Bullet"), ("inner", "List Number 2"),
                          ("☐ to do", "List Bullet")]


def test_docx_page_break_rule_and_empty_blocks() -> None:
    d = _doc("<h2></h2><p> </p><table></table><p>one</p><div class='page-break'></div><hr><p>two</p>"
             "<div class='screen-only'><p>not printed</p></div>")
    texts = [p.text for p in d.paragraphs]
    assert texts == ["one", "", "—" * 20, "two"]
    assert d.tables == []
    assert 'w:br w:type="page"' in d.paragraphs[1]._p.xml


def test_docx_loose_text_in_a_block_becomes_a_paragraph() -> None:
    d = _doc("<div>loose <code>x=1</code><p>para</p>tail</div>")
    assert [p.text for p in d.paragraphs] == ["loose x=1", "para", "tail"]
    code = [r for r in d.paragraphs[0].runs if r.text == "x=1"]
    assert code and code[0].font.name == "Courier New"


def test_docx_style_document_that_does_not_exist_falls_back_to_the_default(tmp_path: Path) -> None:
    out = convert("<p>x</p>", "docx", "H", "T", tmp_path, "missing.docx")
    assert isinstance(out, bytes)
    d = docx.Document(io.BytesIO(out))
    assert [p.text for p in d.paragraphs] == ["x"] and d.sections[0].header.paragraphs[0].text == "H"


# ------------------------------------------------------------------------------------------ formats and pdf


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format rtf"):
        convert("<p>x</p>", "rtf", "H", "T", TEMPLATES_DIR, "memo.docx")


def test_pdf_without_weasyprint_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)   # as if it were not installed
    with pytest.raises(InputError) as exc:
        to_pdf("<p>x</p>")
    assert "PDF output needs WeasyPrint and pango" in str(exc.value.problems[0])


def test_pdf_never_fetches_a_url(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("weasyprint")
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        out = to_pdf('<p>x</p><img src="http://tracker.example/pixel.png">')
    assert out.startswith(b"%PDF-")
    assert "refusing to fetch http://tracker.example/pixel.png" in caplog.text


# ------------------------------------------------------------------------------------------ money


@pytest.mark.parametrize(("text", "message"), [("? + @", "cannot read the arithmetic at"),
                                               ("(? + 1", "expected ) in"), ("? 5", "unexpected '5'"),
                                               ("? +", "expected more in"), ("foo(?)", "unexpected 'foo'")])
def test_arithmetic_that_cannot_be_read(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)
    assert unknown_function(text) is None


def test_arithmetic_of_an_unknown_is_read() -> None:
    fn = unknown_function("(max(?, 100) rounded down to a multiple of 10 − 5) (unknown)")
    assert fn is not None and fn(57) == 95 and fn(1234) == 1225
    assert unknown_function("250 + 10") is None   # nothing unknown
    assert unknown_function("? ÷ 0") is None       # cannot be evaluated


# ------------------------------------------------------------------------------------------ letter


def _result(status: str, findings: list[dict[str, Any]]) -> dict[str, Any]:
    return {"case_id": "T-1", "client": {"name": "A. Client", "immigration_status": status},
            "options": [{"id": "offer", "label": "The offer", "findings": findings, "financial": {"total": 0}}]}


def _finding(code: str, status: str) -> dict[str, Any]:
    return {"code": code, "status": status, "kind": "consequence", "severity": "critical", "domain": "immigration"}


def test_letter_to_a_citizen_says_nothing_about_deportation() -> None:
    r = _result("us_citizen", [_finding("imm.deportable.cimt", "applies")])
    assert build_letter(r).offers[0].deportable == "na"
    text = str(letter_document(r, "en", "md"))
    assert "deport" not in text.lower()


def test_letter_with_only_a_possible_ground_says_it_could_lead_to_deportation() -> None:
    r = _result("lpr", [_finding("imm.deportable.cimt", "possible")])
    assert build_letter(r).offers[0].deportable == "maybe"
    text = str(letter_document(r, "en", "md"))
    assert "This offer could lead to deportation. It depends on facts we still need to check." in text
    assert "almost surely" not in text and "serious risk of deportation" not in text
