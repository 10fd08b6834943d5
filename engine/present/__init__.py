"""The memo and the client letter in every format, from the result document.

Each document is one Jinja HTML template (templates/); Markdown and DOCX are written from the rendered HTML,
PDF is printed from it, so every format has the same content and case text is escaped for each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FORMATS = ("md", "html", "docx", "pdf")
BINARY = ("docx", "pdf")
MEMO_HEADER = "PRIVILEGED AND CONFIDENTIAL — ATTORNEY WORK PRODUCT"


def convert(html: str, fmt: str, header: str, title: str, folder: Path, style_document: str,
            page_words: tuple[str, str] = ("Page", "of")) -> str | bytes:
    if fmt == "html":
        return html
    if fmt == "md":
        from engine.present.markdown import to_markdown
        return to_markdown(html)
    if fmt == "docx":
        from engine.present.docx import to_docx
        return to_docx(html, header, title, folder / style_document, page_words)
    if fmt == "pdf":
        from engine.present.pdf import to_pdf
        return to_pdf(html)
    raise ValueError(f"unknown format {fmt}")


def memo_document(result: dict[str, Any], fmt: str = "md", appendix: bool = False, template: str = "memo.html.j2",
                  folder: Path | None = None) -> str | bytes:
    from engine.present.memo import build
    from engine.present.render import TEMPLATES_DIR, render_template
    folder = folder or TEMPLATES_DIR
    m = build(result, appendix=appendix)
    html = render_template(template, folder, m=m, r=result)
    return convert(html, fmt, MEMO_HEADER, f"Pre-plea memo {m.case_id}".strip(), folder, "memo.docx")


def letter_document(result: dict[str, Any], lang: str = "en", fmt: str = "md", template: str = "letter.html.j2",
                    folder: Path | None = None) -> str | bytes:
    from engine.present.i18n import translations
    from engine.present.letter import build_letter
    from engine.present.render import TEMPLATES_DIR, render_template
    folder = folder or TEMPLATES_DIR
    tr = translations(lang, folder)
    letter = build_letter(result, lang)
    html = render_template(template, folder, translations=tr, l=letter, lang=lang)
    header = tr.gettext("CONFIDENTIAL — ATTORNEY-CLIENT COMMUNICATION")
    return convert(html, fmt, header, header, folder, "letter.docx", (tr.gettext("Page"), tr.gettext("of")))
