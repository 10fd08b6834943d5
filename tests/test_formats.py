"""The memo in Word, HTML and PDF: the same content as the Markdown, case text escaped for each format, the
privileged header on every page, no network, and byte-identical output for the same input."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from cli import main
from engine.present import memo_document
from engine.present.memo import build
from engine.present.tree import parse

from .memo_support import CA, HOSTILE_LABEL, HOSTILE_NAME, hostile, plain, result

HEADER = "PRIVILEGED AND CONFIDENTIAL — ATTORNEY WORK PRODUCT"


def _docx_text(data: bytes) -> str:
    d = docx.Document(io.BytesIO(data))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts.extend(c.text for c in row.cells)
    return " ".join(" ".join(parts).split())


def test_html_is_self_contained_printable_and_escaped() -> None:
    html = memo_document(hostile(), "html")
    assert isinstance(html, str)
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "@page" in html and "@media print" in html
    assert not re.search(r"""(src|href)\s*=|@import|url\(|https?://(?!evil\.example)""", html)   # nothing to fetch
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Ann &lt;b&gt;Bold&lt;/b&gt; | #1 &amp; Co" in html
    body = parse(html)
    assert not body.find_all("script") and not body.find_all("b")
    assert " ".join(HOSTILE_LABEL.split()) in body.text()      # shown as text, exactly
    assert HOSTILE_NAME in body.text()


def test_docx_has_headings_tables_header_on_every_page_and_page_numbers() -> None:
    data = memo_document(result(CA), "docx")
    assert isinstance(data, bytes) and data[:2] == b"PK"
    d = docx.Document(io.BytesIO(data))
    headings = [p.text for p in d.paragraphs if p.style is not None and p.style.name.startswith("Heading")]
    assert "Bottom line" in headings and "Option offer: Prosecution offer: PC 487(a) grand theft, felony, 16 months" in headings
    assert len(d.tables) >= 4
    assert [c.text for c in d.tables[0].rows[0].cells][:3] == ["Option", "Removal", "Aggravated felony"]
    for section in d.sections:
        assert section.header.paragraphs[0].text == HEADER and not section.header.is_linked_to_previous
        assert 'w:instr="PAGE"' in section.footer._element.xml
    assert d.core_properties.author == "collateral"
    xml = d.element.xml
    assert 'w:type="page"' in xml           # page one ends with a page break


def test_docx_text_is_plain_runs_with_the_hostile_text_intact() -> None:
    data = memo_document(hostile(), "docx")
    assert isinstance(data, bytes)
    text = _docx_text(data)
    assert " ".join(HOSTILE_LABEL.split()) in text and HOSTILE_NAME in text


def test_docx_is_byte_identical_across_runs() -> None:
    assert memo_document(result(CA), "docx") == memo_document(result(CA), "docx")


def test_same_content_in_every_format() -> None:
    r = result(CA)
    m = build(r)
    md = memo_document(r, "md")
    html = memo_document(r, "html")
    data = memo_document(r, "docx")
    assert isinstance(md, str) and isinstance(html, str) and isinstance(data, bytes)
    texts = {"md": plain(md), "html": parse(html).text(), "docx": _docx_text(data)}
    for o in m.options:
        for sentence in o.sentences:
            for fmt, text in texts.items():
                assert " ".join(sentence.split()) in text, (fmt, sentence)
        for v in o.major_new:
            for fmt, text in texts.items():
                assert v.test in text, (fmt, v.test)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed (.ci/run installs it)")
def test_pdf_renders_with_the_header_and_the_escaped_case_text(tmp_path: Path) -> None:
    pdf = memo_document(hostile(), "pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    f = tmp_path / "memo.pdf"
    f.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    assert flat.count(HEADER) >= 2                      # on every page, not only the first
    assert "Bottom line" in flat and "<script>alert('x')</script>" in flat
    pages = subprocess.run(["pdfinfo", str(f)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", pages).group(1)) >= 3   # type: ignore[union-attr]


def test_pdf_starts_as_a_pdf() -> None:
    pdf = memo_document(result(CA), "pdf")
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


def test_binary_formats_need_an_output_file(tmp_path: Path) -> None:
    for fmt in ("docx", "pdf"):
        r = CliRunner().invoke(main, ["advise", str(CA), "--format", fmt])
        assert r.exit_code == 2
        assert f"--format {fmt} is a binary file and is not written to the terminal: give -o FILE" in r.stderr
    out = tmp_path / "memo.docx"
    r = CliRunner().invoke(main, ["advise", str(CA), "--format", "docx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert r.stderr == f"wrote {out}\n" and docx.Document(str(out)).sections[0].header.paragraphs[0].text == HEADER
    html = CliRunner().invoke(main, ["advise", str(CA), "--format", "html", "--appendix"])
    assert html.exit_code == 0 and "Appendix: how each finding was reached" in html.stdout
