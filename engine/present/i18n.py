"""Message catalogs of the client letter: templates/locale/<lang>/LC_MESSAGES/letter.po, read at run time
with Babel (no compiled file to go stale, nothing fetched, the same text every run). English is the source
language: its messages are the msgids themselves."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from engine.model.errors import InputError, Problem

LANGUAGES = ("en", "es")
DOMAIN = "letter"


def catalog_path(lang: str, folder: Path) -> Path:
    return folder / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def translations(lang: str, folder: Path) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    path = catalog_path(lang, folder)
    if lang not in LANGUAGES or not path.exists():
        raise InputError("letter", [Problem(str(path), 0, "", f"no message catalog for language '{lang}'")])
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    missing = [m.id for m in catalog if m.id and not m.string]
    if missing:
        raise InputError("letter", [Problem(str(path), 0, "", f"untranslated message: {missing[0]!r}")])
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)
