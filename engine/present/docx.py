"""DOCX from the rendered HTML tree with python-docx: headings, paragraphs, lists and tables in Word's own
styles (a firm restyles them by putting its own `memo.docx` style document in templates/), the privileged
header and page numbers on every page. Case text goes into plain runs, so it is never read as markup.

The file is byte-identical for the same input: fixed document properties and fixed zip timestamps."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from engine.present.markdown import BLOCKS, HEADINGS
from engine.present.tree import Node, parse

FIXED_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _runs(par: Paragraph, children: list[Node | str], bold: bool = False, italic: bool = False, code: bool = False) -> None:
    for c in children:
        if isinstance(c, str):
            text = " ".join(c.split())
            if not text:
                if c and par.runs and not par.text.endswith(" "):
                    par.add_run(" ")
                continue
            if c[:1].isspace() and par.runs and not par.text.endswith(" "):
                text = " " + text
            if c[-1:].isspace():
                text += " "
            run = par.add_run(text)
            run.bold = bold or None
            run.italic = italic or None
            if code:
                run.font.name = "Courier New"
        elif c.tag == "br":
            par.add_run(" ")
        else:
            _runs(par, c.children, bold or c.tag in ("strong", "b", "th"), italic or c.tag in ("em", "i"),
                  code or c.tag == "code")


def _field(par: Paragraph, instr: str) -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instr)
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    r.append(t)
    fld.append(r)
    par._p.append(fld)


def _table(doc: Any, node: Node) -> None:
    rows = [[c for c in tr.elements() if c.tag in ("td", "th")] for tr in node.find_all("tr")]
    rows = [r for r in rows if r]
    if not rows:
        return
    width = max(len(r) for r in rows)
    table = doc.add_table(rows=0, cols=width)
    table.style = "Table Grid"
    for i, cells in enumerate(rows):
        row = table.add_row()
        if i == 0 and all(c.tag == "th" for c in cells):
            tr_pr = row._tr.get_or_add_trPr()
            hdr = OxmlElement("w:tblHeader")
            hdr.set(qn("w:val"), "true")
            tr_pr.append(hdr)
        for j, cell in enumerate(cells):
            target: _Cell = row.cells[j]
            par = target.paragraphs[0]
            _runs(par, cell.children, bold=cell.tag == "th")
            for run in par.runs:
                run.font.size = Pt(9)


def _list(doc: Any, node: Node, depth: int = 0) -> None:
    style = "List Number" if node.tag == "ol" else "List Bullet"
    if depth:
        style += " 2"
    for li in (c for c in node.elements() if c.tag == "li"):
        par = doc.add_paragraph(style=style)
        if "todo" in li.classes:
            par.add_run("☐ ")
        _runs(par, [c for c in li.children if not (isinstance(c, Node) and c.tag in ("ul", "ol"))])
        for sub in li.elements():
            if sub.tag in ("ul", "ol"):
                _list(doc, sub, depth + 1)


def _blocks(doc: Any, node: Node) -> None:
    pending: list[Node | str] = []

    def flush() -> None:
        if "".join(n if isinstance(n, str) else n.text() for n in pending).strip():
            _runs(doc.add_paragraph(), pending)
        pending.clear()

    for c in node.children:
        if isinstance(c, str) or c.tag not in BLOCKS:
            pending.append(c)
            continue
        flush()
        if "screen-only" in c.classes:
            continue
        if "page-break" in c.classes:
            doc.add_page_break()
        elif c.tag in HEADINGS:
            if c.text():
                heading = doc.add_heading(level=min(HEADINGS[c.tag], 9))
                _runs(heading, c.children)
        elif c.tag == "p":
            if c.text():
                _runs(doc.add_paragraph(), c.children)
        elif c.tag in ("ul", "ol"):
            _list(doc, c)
        elif c.tag == "table":
            _table(doc, c)
        elif c.tag == "hr":
            doc.add_paragraph("—" * 20).alignment = WD_ALIGN_PARAGRAPH.CENTER
        else:
            _blocks(doc, c)
    flush()


def _deterministic(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def to_docx(html: str, header: str, title: str, style_document: Path | None = None,
            page_words: tuple[str, str] = ("Page", "of")) -> bytes:
    """HTML (our templates' subset) -> DOCX bytes, with HEADER at the top of every page."""
    doc = Document(str(style_document)) if style_document and style_document.exists() else Document()
    props = doc.core_properties
    props.author = props.last_modified_by = "collateral"
    props.title = title
    props.created = props.modified = props.last_printed = FIXED_TIME
    props.revision = 1
    for section in doc.sections:
        section.header.is_linked_to_previous = False
        hp = section.header.paragraphs[0]
        hp.text = ""
        run = hp.add_run(header)
        run.bold = True
        run.font.size = Pt(8)
        hp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fp = section.footer.paragraphs[0]
        fp.text = ""
        fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
        fp.add_run(f"{page_words[0]} ")
        _field(fp, "PAGE")
        fp.add_run(f" {page_words[1]} ")
        _field(fp, "NUMPAGES")
    _blocks(doc, parse(html))
    buf = io.BytesIO()
    doc.save(buf)
    return _deterministic(buf.getvalue())
