"""The web app as a person uses it: `collateral serve` started as on the command line, Debian's Chromium driven by
Playwright (never a downloaded browser) through intake (the California example typed by hand, statutes found by
the search as one types) -> the decisive questions -> the memo -> a Word download, with screenshots; and the
accessibility basics on each page: every input labelled, keyboard order that follows the page, text contrast."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest

from engine.model.casefile import load_case

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium): "
                                                               "apt-get install -y --no-install-recommends chromium")

UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map(e => e.name || e.id)"""
POSITIVE_TABINDEX = "() => Array.from(document.querySelectorAll('[tabindex]')).filter(e => e.tabIndex > 0).length"
RECORD_FOCUS = "() => { window.__focus = []; document.addEventListener('focusin', e => window.__focus.push(e.target)); }"
FOCUS_ORDER = """() => {
  const all = window.__focus, wrap = all.findIndex((e, i) => all.indexOf(e) < i);   // past the end, Tab wraps around
  const f = wrap < 0 ? all : all.slice(0, wrap);
  const inOrder = f.every((e, i) => i === 0 || (f[i - 1].compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING));
  const visible = f.every(e => e.getClientRects().length > 0);
  return {n: f.length, inOrder, visible, names: f.map(e => e.tagName + ':' + (e.name || e.id || e.textContent.trim().slice(0, 30)))};
}"""
# WCAG contrast of the text of labels, hints, errors, links, buttons and table cells against its background
CONTRAST = """(selectors) => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
                     return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                    if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; };
  const out = [];
  for (const sel of selectors) for (const e of document.querySelectorAll(sel)) {
    if (!e.getClientRects().length || !e.textContent.trim()) continue;
    const a = lum(rgb(getComputedStyle(e).color)), b = lum(bg(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) out.push(sel + ' "' + e.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2));
  }
  return out;
}"""
TEXT = ["p", "label", "legend", ".hint", ".error", "a", "button", "th", "td", "summary", "h1", "h2", "h3", "li", "dd"]


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`collateral serve` on a free port, as a person starts it; (the printed address, the workspace)."""
    workspace = tmp_path / "cases"
    workspace.mkdir()
    cmd = [sys.executable, "-c", "from cli import main; main()", "serve", "--workspace", str(workspace), "--port", "0", "--no-open"]
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        url, printed = "", []
        for _ in range(20):
            line = proc.stdout.readline()
            printed.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
            if m:
                url = m.group(1)
                break
            if not line:
                break
        try:
            assert url, "".join(printed)
            yield url, workspace
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def check_page(page: Any, name: str) -> None:
    """Accessibility basics on the page shown."""
    assert page.evaluate(UNLABELLED) == [], f"{name}: inputs without a label"
    assert page.evaluate(POSITIVE_TABINDEX) == 0, f"{name}: a positive tabindex breaks the keyboard order"
    assert page.evaluate(CONTRAST, TEXT) == [], f"{name}: text below 4.5:1 contrast"
    page.evaluate(RECORD_FOCUS)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(12):
        page.keyboard.press("Tab")
    order = page.evaluate(FOCUS_ORDER)
    assert order["n"] >= 4 and order["inOrder"] and order["visible"], f"{name}: {order}"


def test_intake_questions_memo_download(server: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, workspace = server
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
            page.set_default_timeout(30_000)
            refused: list[str] = []
            # a failed request, but for a statute search cut short by leaving the page
            page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "") else refused.append(r.url))
            page.on("request", lambda r: None if r.url.startswith(url.split("?")[0]) else refused.append(r.url))

            page.goto(url)
            assert page.url.endswith("/") and "token" not in page.url   # the token left the address
            assert page.get_by_role("heading", name="Cases").is_visible()
            check_page(page, "cases")
            # the keyboard: the skip link first, then into the page
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.keyboard.press("Tab")
            assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
            page.get_by_role("link", name="New case").first.focus()
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/cases/new$"))

            # ---------------------------------------------------------------- intake, by hand
            fill = page.fill
            fill("#f-case-id", "LA-2026-CR-0142")
            fill("#f-jurisdiction", "US-CA")
            fill("#f-as-of", "2026-11-26")
            fill("#f-client-name", "M. Example")
            fill("#f-client-birth-date", "1994-02-03")
            page.select_option("#f-client-immigration-status", "lpr")
            for f in ("admission-date", "lpr-date", "residence-since"):
                fill(f"#f-client-immigration-{f}", "2022-06-01")
            page.select_option("#f-client-immigration-lpr-admitted-at-port", "yes")
            page.select_option("#f-client-immigration-prior-removal", "no")
            for goal in ("remain", "travel", "naturalize"):
                page.check(f"input[name='client.immigration.goals'][value='{goal}']")
            page.check("input[name='client.immigration.conduct'][value='__none__']")
            page.check("input[name='client.immigration.prior_relief'][value='__none__']")
            fill("#f-client-employment-occupation", "bank teller")
            page.check("input[name='client.employment.sectors'][value='banking']")
            fill("#f-client-finances-annual-income", "31000")
            fill("#f-client-finances-household-size", "3")
            fill("#f-client-priorities", "immigration, employment, fines")
            check_page(page, "intake")
            page.get_by_role("button", name="Add a charge").click()
            fill("#f-charges-0-offense-statute", "PC 487(a)")
            fill("#f-charges-0-committed-on", "2026-03-14")
            page.get_by_role("button", name="Add a charge").click()
            fill("#f-charges-1-offense-statute", "PC 459/460(b)")
            fill("#f-charges-1-committed-on", "2026-03-14")
            assert page.input_value("#f-client-name") == "M. Example"   # kept across the round trip

            # the statute, found as one types and chosen with the keyboard
            statute = page.locator("#f-options-0-counts-0-offense-statute")
            statute.click()
            statute.press_sequentially("grand theft", delay=20)
            first = page.locator("#f-options-0-counts-0-offense-statute-results button").first
            first.wait_for()
            assert "PC 487(a)" in first.inner_text() and "maximum 3 years" in first.inner_text()
            page.keyboard.press("Tab")
            assert page.evaluate("() => document.activeElement.classList.contains('pick')")
            page.keyboard.press("Enter")
            assert statute.input_value() == "PC 487(a)"
            assert "Chosen: PC 487(a)" in page.inner_text("#f-options-0-counts-0-offense-statute-results")
            page.screenshot(path=str(shots / "statute-search.png"))

            def option(i: int, values: dict[str, str], loss: str) -> None:
                pre = f"#f-options-{i}-counts-0-"
                for k, v in values.items():
                    if k in ("disposition", "plea"):
                        page.select_option(pre + k, v)
                    else:
                        fill(pre + k if not k.startswith("#") else k, v)
                page.click(f"#g-options-{i}-counts-0-record > summary")
                fill(pre + "record-loss-amount", loss)

            fill("#f-options-0-label", "Prosecution offer: PC 487(a) grand theft, felony, 16 months")
            option(0, {"committed-on": "2026-03-14", "disposition": "conviction", "plea": "guilty",
                       "sentence-custody-days": "485", "sentence-probation-months": "0", "sentence-restitution": "12000"}, "12000")
            page.get_by_role("button", name="Add a plea option").click()
            fill("#f-options-1-id", "counter")
            fill("#f-options-1-label", "Counter-offer: PC 490.2 petty theft, misdemeanor, 90 days")
            option(1, {"offense-statute": "PC 490.2", "committed-on": "2026-03-14", "disposition": "conviction",
                       "plea": "guilty", "sentence-custody-days": "90", "sentence-suspended-days": "60",
                       "sentence-probation-months": "24", "sentence-restitution": "900"}, "900")
            fill("#f-file-name", "la-theft")
            page.screenshot(path=str(shots / "intake.png"), full_page=True)
            page.get_by_role("button", name="Save and continue").first.click()

            # ---------------------------------------------------------------- the decisive questions
            page.wait_for_url(re.compile(r"/cases/la-theft/questions"))
            assert load_case(workspace / "la-theft.yaml") == load_case(EXAMPLE)   # what the command line reads
            check_page(page, "questions")
            page.get_by_label("Does the client own or possess a firearm?").select_option("no")
            page.screenshot(path=str(shots / "questions.png"), full_page=True)
            page.get_by_role("button", name="Save answers and show the memo").click()

            # ---------------------------------------------------------------- the memo
            page.wait_for_url(re.compile(r"/cases/la-theft$"))
            page.screenshot(path=str(shots / "memo.png"))
            assert page.get_by_role("heading", name="Bottom line").is_visible()
            assert "Safer for this client's priorities: counter" in page.inner_text(".safer")
            finding = page.locator("#f-offer-imm-deportable-cimt-0")
            finding.locator("summary").first.focus()
            page.keyboard.press("Enter")                      # a finding opens from the keyboard
            assert finding.evaluate("d => d.open")
            assert "8 U.S.C. § 1227(a)(2)(A)(i)" in finding.inner_text()
            page.screenshot(path=str(shots / "finding.png"))
            check_page(page, "result")
            with page.expect_download() as dl:
                page.get_by_role("link", name="Memo (Word)").click()
            word = tmp_path / "memo.docx"
            dl.value.save_as(word)
            assert dl.value.suggested_filename == "la-theft-memo.docx"
            text = "\n".join(p.text for p in docx.Document(str(word)).paragraphs)
            assert "Bottom line" in text and "LA-2026-CR-0142" in text
            # a counter-offer, added as an option and re-run
            page.get_by_role("button", name=re.compile("Add as a new option and re-run: .*PC 484")).first.click()
            page.wait_for_url(re.compile(r"/cases/la-theft#o-offer-counter\d"))
            assert page.locator("article.option").count() == 4
            assert refused == [], f"requests outside the app: {refused}"
        finally:
            browser.close()
    assert all((shots / n).stat().st_size > 10_000 for n in ("intake.png", "questions.png", "memo.png", "finding.png", "statute-search.png"))
