"""PDF from the self-contained HTML with WeasyPrint (Python, with pango from the distribution:
libpango-1.0-0 and libpangoft2-1.0-0 on Debian). Nothing is fetched: every URL is refused."""

from __future__ import annotations

import warnings
from typing import Any, NoReturn

from engine.model.errors import InputError, Problem


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"refusing to fetch {url}: the document is self-contained")


def _fetcher(weasyprint: Any) -> Any:
    """A URL fetcher that refuses every URL. WeasyPrint 70 and later take an object (it reads the fetcher's
    `_fail_on_errors`): a URLFetcher whose fetch refuses; earlier versions a plain function."""
    base = getattr(getattr(weasyprint, "urls", None), "URLFetcher", None)
    if base is None:
        return _no_fetch

    class NoFetch(base):  # type: ignore[misc,valid-type]
        def fetch(self, url: str, headers: Any = None) -> NoReturn:
            _no_fetch(url)
    return NoFetch()


def to_pdf(html: str) -> bytes:
    with warnings.catch_warnings():   # WeasyPrint warns about optional system libraries it can do without
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import weasyprint  # type: ignore[import-untyped]
        except (ImportError, OSError) as exc:   # OSError: pango missing from the system
            raise InputError("pdf", [Problem("weasyprint", 0, "", f"PDF output needs WeasyPrint and pango: {exc}")]) from None
        out = weasyprint.HTML(string=html, url_fetcher=_fetcher(weasyprint)).write_pdf()
    assert isinstance(out, bytes)
    return out
