"""The letter to the client: plain language (about grade 8), English and Spanish from the same result, every
sentence in the message catalog, case text escaped, every format."""

from __future__ import annotations

import io
import re
from pathlib import Path

import docx
import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from click.testing import CliRunner

from cli import main
from engine.present import letter_document
from engine.present.i18n import catalog_path
from engine.present.render import TEMPLATES_DIR

from .memo_support import CA, EXAMPLES, HOSTILE_NAME, hostile, result


def _messages() -> list[str]:
    found = extract_from_file("jinja2", str(TEMPLATES_DIR / "letter.html.j2"), options={"trimmed": "true"})
    return sorted({m[1] if isinstance(m[1], str) else m[1][0] for m in found})


def _syllables(word: str) -> int:
    word = word.lower().strip(".,;:!?\"'()")
    if not word:
        return 0
    groups = re.findall(r"[aeiouy]+", word)
    n = len(groups) - (1 if word.endswith("e") and not word.endswith(("le", "ee")) and len(groups) > 1 else 0)
    return max(1, n)


def grade(text: str) -> float:
    """Flesch-Kincaid grade level."""
    sentences = [s for s in re.split(r"[.!?:]+\s", text) if s.strip()]
    words = [w for w in text.split() if re.search(r"[A-Za-z]", w)]
    return 0.39 * len(words) / len(sentences) + 11.8 * sum(map(_syllables, words)) / len(words) - 15.59


def test_every_message_has_a_spanish_translation() -> None:
    with catalog_path("es", TEMPLATES_DIR).open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id}
    messages = _messages()
    assert len(messages) > 50
    assert [m for m in messages if not translated.get(m)] == []
    assert sorted(translated) == messages            # no stale message either


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_letter_in_two_languages(example: Path) -> None:
    r = result(example)
    en = letter_document(r, "en", "md")
    es = letter_document(r, "es", "md")
    assert isinstance(en, str) and isinstance(es, str)
    assert "## What each offer means for you" in en and "## What you must tell us" in en and "## What to do and not do now" in en
    assert "## Lo que cada oferta significa para usted" in es and "## Lo que usted debe decirnos" in es
    assert es.count("### Oferta ") == en.count("### Offer ") == len(r["options"])
    english = [m for m in _messages() if len(m.split()) > 4]
    assert [m for m in english if m in es] == []      # nothing left in English
    assert "Do not leave the United States" in en       # every example's client is a noncitizen
    assert "No salga de los Estados Unidos" in es


def test_the_english_letter_reads_at_about_grade_eight() -> None:
    for example in EXAMPLES:
        r = result(example)
        for o in r["options"]:
            o["label"] = "the offer"                    # the attorney's label is not the letter's prose
        text = letter_document(r, "en", "md")
        assert isinstance(text, str)
        prose = re.sub(r"(?m)^#+ .*$|^\d+\. |^- |\*\*", "", text)
        assert grade(prose) <= 8.5, (example.stem, round(grade(prose), 1))


def test_the_california_letter_tells_the_client_what_matters() -> None:
    en = letter_document(result(CA), "en", "md")
    assert isinstance(en, str)
    offer = en[en.index("### Offer 1"):en.index("### Offer 2")]
    assert "serious risk of deportation" in offer and "not let back in" in offer
    assert "You would owe at least $12,370" in offer
    assert "**Our view:** Offer 2 is safer" in en
    assert "1. Do you own a gun" in en                 # the most serious question first
    assert "Do not buy, carry or keep a gun" in en


def test_case_text_is_escaped_in_the_letter() -> None:
    r = hostile()
    md = letter_document(r, "en", "md")
    html = letter_document(r, "es", "html")
    assert isinstance(md, str) and isinstance(html, str)
    assert "<script>" not in md and "<b>" not in md and not re.search(r"(?m)^# Injected", md)
    assert "<script>" not in html and "Ann &lt;b&gt;Bold&lt;/b&gt; | #1 &amp; Co" in html
    data = letter_document(r, "es", "docx")
    assert isinstance(data, bytes)
    d = docx.Document(io.BytesIO(data))
    assert any(HOSTILE_NAME in p.text for p in d.paragraphs)
    assert d.sections[0].header.paragraphs[0].text == "CONFIDENCIAL — COMUNICACIÓN ENTRE ABOGADO Y CLIENTE"


def test_letter_command(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["letter", str(CA), "--lang", "es"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("# CONFIDENCIAL — COMUNICACIÓN ENTRE ABOGADO Y CLIENTE")
    out = tmp_path / "carta.pdf"
    r = CliRunner().invoke(main, ["letter", str(CA), "--lang", "es", "--format", "pdf", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF")
    r = CliRunner().invoke(main, ["letter", str(CA), "--format", "docx"])
    assert r.exit_code == 2 and "give -o FILE" in r.stderr
    assert CliRunner().invoke(main, ["letter", str(CA), "--lang", "fr"]).exit_code == 2
