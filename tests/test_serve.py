"""The web app (engine/serve/, `collateral serve`) through Starlette's test client: the access token, CSRF and
origin checks, intake with validation next to the field, unknown staying unknown, a saved case file identical
to what the command line reads, the questions, the result page, counter-offers and downloads."""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from click.testing import CliRunner
from starlette.testclient import TestClient

from cli import main
from engine.model.casefile import load_case
from engine.serve.app import App
from engine.serve.service import Service
from engine.serve.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"
BASE = "http://127.0.0.1:8642"
TOKEN = "test-token-0123456789"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    s = Service(tmp_path_factory.mktemp("ws"))
    yield s
    s.close()


@pytest.fixture()
def workspace(tmp_path: Path, service: Service) -> Path:
    service.workspace = Workspace(tmp_path)
    return tmp_path


@pytest.fixture()
def app(service: Service, workspace: Path) -> App:
    return App(service, TOKEN)


@pytest.fixture()
def client(app: App) -> Iterator[TestClient]:
    """A browser that opened the printed address (the token set its cookie)."""
    with TestClient(app.asgi, base_url=BASE) as c:
        r = c.get(f"/?token={TOKEN}", follow_redirects=False)
        assert r.status_code == 303
        yield c


@pytest.fixture()
def ca_case(workspace: Path) -> str:
    shutil.copy(EXAMPLE, workspace / "ca.yaml")
    return "ca"


# ------------------------------------------------------------------------------------------ a browser's form

class _Form(HTMLParser):
    """The fields of the first form (or the form posting to ACTION) as a browser would submit them."""

    def __init__(self, action: str | None) -> None:
        super().__init__()
        self.action, self.inside, self.done = action, False, False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and (self.action is None or a.get("action") == self.action):
            self.inside = True
        if not self.inside:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind == "checkbox":
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif "name" in a:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select, self.options = a["name"], []
        elif tag == "option" and self.select is not None:
            self.options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside, self.done = False, True
        if tag == "select" and self.select is not None:
            chosen = next((v for v, s in self.options if s), self.options[0][0] if self.options else "")
            self.fields.append((self.select, chosen))
            self.select = None


def form_fields(page: str, action: str | None = None) -> list[tuple[str, str]]:
    p = _Form(action)
    p.feed(page)
    return p.fields


def submit(client: TestClient, page: str, values: dict[str, Any], action: str, url: str = "/intake",
           **kw: Any) -> Any:
    """Post the form on PAGE as a browser would, with VALUES typed over it (a list: the boxes ticked)."""
    fields = [(k, v) for k, v in form_fields(page, url) if k not in values and k != "action"]
    for k, v in values.items():
        fields += [(k, x) for x in v] if isinstance(v, list) else [(k, str(v))]
    fields.append(("action", action))
    headers = {"content-type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
    return client.post(url, content=urlencode(fields), headers=headers, **kw)


def errors_of(page: str) -> dict[str, str]:
    """Error messages by the id of the element they are next to."""
    return {m.group(1): html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()
            for m in re.finditer(r'<p class="error" id="([^"]+)-error">(.*?)</p>', page, re.S)}


CA_BY_HAND: list[tuple[str, dict[str, Any]]] = [
    # (the button pressed after typing, what was typed): the California example entered field by field
    ("add:charges", {"case_id": "LA-2026-CR-0142", "jurisdiction": "US-CA", "as_of": "2026-11-26", "client.name": "M. Example",
                     "client.birth_date": "1994-02-03", "client.immigration.status": "lpr",
                     "client.immigration.admission_date": "2022-06-01", "client.immigration.lpr_date": "2022-06-01",
                     "client.immigration.lpr_admitted_at_port": "yes", "client.immigration.residence_since": "2022-06-01",
                     "client.immigration.goals": ["remain", "travel", "naturalize"], "client.immigration.conduct": ["__none__"],
                     "client.immigration.prior_relief": ["__none__"], "client.immigration.prior_removal": "no",
                     "client.employment.occupation": "bank teller", "client.employment.sectors": ["banking"],
                     "client.finances.annual_income": "31,000", "client.finances.household_size": "3",
                     "client.priorities": "immigration, employment, fines"}),
    ("add:charges", {"charges[0].offense.statute": "PC 487(a)", "charges[0].committed_on": "2026-03-14"}),
    ("add:options", {"charges[1].offense.statute": "PC 459/460(b)", "charges[1].committed_on": "2026-03-14",
                     "options[0].label": "Prosecution offer: PC 487(a) grand theft, felony, 16 months",
                     "options[0].counts[0].offense.statute": "PC 487(a)", "options[0].counts[0].committed_on": "2026-03-14",
                     "options[0].counts[0].disposition": "conviction", "options[0].counts[0].plea": "guilty",
                     "options[0].counts[0].record.loss_amount": "12000", "options[0].counts[0].sentence.custody_days": "485",
                     "options[0].counts[0].sentence.probation_months": "0", "options[0].counts[0].sentence.restitution": "$12,000"}),
    ("save", {"options[1].id": "counter", "options[1].label": "Counter-offer: PC 490.2 petty theft, misdemeanor, 90 days",
              "options[1].counts[0].offense.statute": "PC 490.2", "options[1].counts[0].committed_on": "2026-03-14",
              "options[1].counts[0].disposition": "conviction", "options[1].counts[0].plea": "guilty",
              "options[1].counts[0].record.loss_amount": "900", "options[1].counts[0].sentence.custody_days": "90",
              "options[1].counts[0].sentence.suspended_days": "60", "options[1].counts[0].sentence.probation_months": "24",
              "options[1].counts[0].sentence.restitution": "900", "file_name": "by-hand"}),
]


def enter_by_hand(client: TestClient) -> Any:
    page = client.get("/cases/new").text
    r: Any = None
    for action, values in CA_BY_HAND:
        r = submit(client, page, values, action, follow_redirects=False)
        page = r.text
        if action != "save":
            assert r.status_code == 200, errors_of(page)
    return r


# ------------------------------------------------------------------------------------------ access

def test_every_request_needs_the_token(app: App, ca_case: str) -> None:
    with TestClient(app.asgi, base_url=BASE) as c:
        for url in ("/", "/cases/new", f"/cases/{ca_case}", f"/cases/{ca_case}/download/result.json", "/static/app.css",
                    "/api/statutes?jurisdiction=US-CA&q=theft", "/no-such-page"):
            r = c.get(url)
            assert r.status_code == 403 and "access token" in r.text, url
        assert c.get("/?token=wrong").status_code == 403
        assert c.post("/intake", data={"csrf": app.csrf}).status_code == 403
        r = c.get(f"/cases/{ca_case}?token={TOKEN}&x=1", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/cases/{ca_case}?x=1"   # the token leaves the address
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and TOKEN not in cookie
        assert c.get("/").status_code == 200   # then the cookie is enough
        assert c.get("/static/app.js").status_code == 200
    with TestClient(app.asgi, base_url=BASE, cookies={"collateral_session": "forged"}) as c:
        assert c.get("/").status_code == 403


def test_only_loopback_host_names(client: TestClient) -> None:
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 403   # DNS rebinding
    assert client.get("/", headers={"host": "localhost:8642"}).status_code == 200


def test_security_headers_on_every_response(client: TestClient, app: App) -> None:
    for r in (client.get("/"), client.get("/static/app.css"), TestClient(app.asgi, base_url=BASE).get("/")):
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["referrer-policy"] == "same-origin"


def test_csrf_token_required_on_every_form(client: TestClient, app: App, workspace: Path, ca_case: str) -> None:
    posts = [("/intake", {"draft": "{}", "action": "check"}), (f"/cases/{ca_case}/questions", {"action": "save"}),
             (f"/cases/{ca_case}/counter", {"option": "offer", "index": "0"})]
    before = (workspace / "ca.yaml").read_bytes()
    for url, data in posts:
        assert client.post(url, data=data).status_code == 403, url
        r = client.post(url, data={**data, "csrf": "forged"})
        assert r.status_code == 403 and "security token" in r.text, url
    assert (workspace / "ca.yaml").read_bytes() == before
    page = client.get("/cases/new").text
    assert page.count(f'name="csrf" value="{app.csrf}"') == 1
    assert submit(client, page, {}, "check").status_code in (200, 422)
    result = client.get(f"/cases/{ca_case}").text
    forms = re.findall(r"<form\b.*?</form>", result, re.S)
    assert forms and all(f'name="csrf" value="{app.csrf}"' in f for f in forms)


def test_cross_origin_requests_refused(client: TestClient, app: App, ca_case: str) -> None:
    page = client.get("/cases/new").text
    for headers in ({"origin": "http://attacker.example"}, {"origin": "http://127.0.0.1:9999"},
                    {"referer": "http://attacker.example/page"}, {"sec-fetch-site": "cross-site"},
                    {"origin": "null"}):
        r = submit(client, page, {}, "check", headers=headers)
        assert r.status_code == 403, headers
    assert client.get("/api/statutes?jurisdiction=US-CA&q=theft", headers={"sec-fetch-site": "cross-site",
                                                                            "sec-fetch-mode": "cors"}).status_code == 403
    assert client.get(f"/cases/{ca_case}/download/result.json", headers={"sec-fetch-site": "cross-site",
                                                                         "sec-fetch-mode": "no-cors"}).status_code == 403
    assert submit(client, page, {}, "check", headers={"origin": BASE, "sec-fetch-site": "same-origin"}).status_code in (200, 422)


def test_no_external_requests(client: TestClient, ca_case: str) -> None:
    """Every script and style is the app's own: no address of another host in any page, script or style."""
    pages = [client.get(u).text for u in ("/", "/cases/new", f"/cases/{ca_case}/edit", f"/cases/{ca_case}",
                                          f"/cases/{ca_case}/questions")]
    for page in pages:
        refs = re.findall(r'(?:src|href|action)="([^"]*)"', page)
        assert refs and all(r.startswith(("/", "#")) for r in refs), [r for r in refs if not r.startswith(("/", "#"))]
        assert "<style" not in page and " style=" not in page and "<script>" not in page and " on" + "click=" not in page
    assert re.findall(r"<script[^>]*>", pages[0]) == ['<script src="/static/app.js" defer>']
    for asset in ("/static/app.js", "/static/app.css"):
        assert not re.search(r"https?://|//[a-z]|@import", client.get(asset).text), asset


# ------------------------------------------------------------------------------------------ intake

def test_intake_enters_the_california_example_by_hand(client: TestClient, workspace: Path) -> None:
    r = enter_by_hand(client)
    assert r.status_code == 303 and r.headers["location"] == "/cases/by-hand/questions", errors_of(r.text)
    saved = workspace / "by-hand.yaml"
    assert oct(saved.stat().st_mode & 0o777) == "0o600"   # privileged: private to the user
    assert load_case(saved) == load_case(EXAMPLE)          # exactly what the command line reads from the example
    data = yaml.safe_load(saved.read_text())
    assert data["client"]["finances"] == {"annual_income": 31000, "household_size": 3}
    assert data["client"]["immigration"]["conduct"] == [] and data["client"]["immigration"]["prior_removal"] is False
    assert "history" not in data and list(data)[:3] == ["format", "case_id", "jurisdiction"]
    # the command line reads it and writes the same memo as for the example
    run = [sys.executable, "-c", "from cli import main; main()", "advise"]
    a = subprocess.run(run + [str(saved)], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    b = subprocess.run(run + [str(EXAMPLE)], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert a == b


def test_empty_field_is_unknown_never_no(client: TestClient, workspace: Path) -> None:
    page = client.get("/cases/new").text
    assert 'name="client.immigration.prior_removal"' in page
    r = submit(client, page, {"jurisdiction": "US-CA", "options[0].counts[0].offense.statute": "PC 487(a)",
                              "client.civic.owns_firearm": "no", "client.benefits": ["__none__"], "file_name": "unknowns"},
               "save", follow_redirects=False)
    assert r.status_code == 303, errors_of(r.text)
    data = yaml.safe_load((workspace / "unknowns.yaml").read_text())
    assert data["client"] == {"benefits": [], "civic": {"owns_firearm": False}}   # said "no" and "none": written
    assert data["options"] == [{"id": "offer", "counts": [{"offense": {"statute": "PC 487(a)"}}]}]   # the rest: unknown
    # an existing file keeps what the form does not show, and a cleared field goes back to unknown
    page = client.get("/cases/unknowns/edit").text
    assert re.search(r'<option value="no" selected>No</option>', page)
    r = submit(client, page, {"client.civic.owns_firearm": ""}, "save", follow_redirects=False)
    assert r.status_code == 303
    assert "civic" not in yaml.safe_load((workspace / "unknowns.yaml").read_text())["client"]


def test_intake_validation_next_to_the_field(client: TestClient, workspace: Path) -> None:
    page = client.get("/cases/new").text
    r = submit(client, page, {"jurisdiction": "California", "client.birth_date": "1994-02-31",
                              "options[0].counts[0].offense.statute": "PC 487(a)",
                              "options[0].counts[0].sentence.custody_days": "90",
                              "options[0].counts[0].sentence.suspended_days": "120",
                              "options[0].counts[0].sentence.probation_months": "two years",
                              "client.immigration.goals": ["remain", "__none__"], "client.licenses.held": ["cdl"]},
               "save")
    assert r.status_code == 422
    errors = errors_of(r.text)
    assert "not a date" in errors["f-client-birth-date"]
    assert "e.g. US-CA (got 'California')" in errors["f-jurisdiction"]
    assert "integer" in errors["f-options-0-counts-0-sentence-probation-months"]
    assert "not both" in errors["f-client-immigration-goals"]
    assert "recorded together" in errors["f-client-licenses-applying"]
    assert 'aria-invalid="true"' in r.text and 'aria-describedby="f-client-birth-date-error"' in r.text
    assert 'role="alert"' in r.text and 'href="#f-client-birth-date"' in r.text   # the summary links to the field
    assert "two years" in r.text   # what was typed is shown again
    assert list(workspace.iterdir()) == []   # nothing saved
    # a rule across fields: on the block it concerns
    r = submit(client, r.text, {"options[0].counts[0].sentence.probation_months": "24"}, "check")
    assert "suspended_days cannot exceed custody_days" in errors_of(r.text)["g-options-0-counts-0-sentence"]
    # a statute no catalog resolves: next to the statute, with the nearest catalog keys
    r = submit(client, r.text, {"jurisdiction": "US-CA", "client.birth_date": "", "options[0].counts[0].offense.statute": "PC 4877",
                                "options[0].counts[0].sentence.suspended_days": "",
                                "client.immigration.goals": ["remain"], "client.licenses.held": []}, "check")
    assert r.status_code == 422
    assert "not in the US-CA offense catalog" in errors_of(r.text)["f-options-0-counts-0-offense-statute"]
    # a required field missing: on its input
    r = submit(client, r.text, {"options[0].counts[0].offense.statute": "", "options[0].id": ""}, "check")
    errors = errors_of(r.text)
    assert "required" in errors["f-options-0-id"] and "required" in errors["f-options-0-counts-0-offense-statute"]


def test_intake_blocks_and_statute_info(client: TestClient, workspace: Path, ca_case: str) -> None:
    page = client.get(f"/cases/{ca_case}/edit").text
    assert "rewrites the file without its comments" in page
    assert "Catalog:</strong> PC 487(a) — Grand theft" in page and "maximum 3 years" in page
    r = submit(client, page, {}, "add:options[0].counts")
    assert 'name="options[0].counts[1].offense.statute"' in r.text
    r = submit(client, r.text, {}, "remove:options[0].counts[1]")
    assert 'name="options[0].counts[1].offense.statute"' not in r.text
    r = submit(client, r.text, {}, "check")
    assert r.status_code == 200 and "No problems found" in r.text
    before = (workspace / "ca.yaml").read_text()
    (workspace / "ca.yaml").write_text(before + "\n# changed by the command line\n")
    r = submit(client, r.text, {}, "save")
    assert r.status_code == 422 and "changed on disk" in r.text
    r = submit(client, client.get(f"/cases/{ca_case}/edit").text, {}, "save", follow_redirects=False)
    assert r.status_code == 303
    assert load_case(workspace / "ca.yaml") == load_case(EXAMPLE)   # an edit that changes nothing changes nothing
    new = client.get("/cases/new").text
    r = submit(client, new, {"jurisdiction": "US-CA", "options[0].counts[0].offense.statute": "PC 487(a)", "file_name": "ca"},
               "save")
    assert r.status_code == 422 and "already exists" in errors_of(r.text)["f-file-name"]


def test_statute_search(client: TestClient) -> None:
    r = client.get("/api/statutes", params={"jurisdiction": "US-CA", "q": "grand theft", "as_of": "2026-11-26"}).json()
    first = r["results"][0]
    assert first["statute"] == "PC 487(a)" and first["title"].startswith("Grand theft")
    assert first["maximum"] == "3 years" and first["class"] == "wobbler" and "citation:" in first["detail"]
    r = client.get("/api/statutes", params={"jurisdiction": "us-ca", "q": "Cal. Penal Code § 459/460(b)"}).json()
    assert [x["statute"] for x in r["results"]] == ["PC 459"] and r["results"][0]["exact"] and r["results"][0]["prong"]
    r = client.get("/api/statutes", params={"jurisdiction": "US-CA", "q": "PC 4877"}).json()
    assert r["results"] == [] and r["nearest"]
    assert "no offense catalog" in client.get("/api/statutes", params={"jurisdiction": "US-ZZ", "q": "x"}).json()["message"]


# ------------------------------------------------------------------------------------------ questions

def test_questions_only_decisive_and_unknown_stays_unknown(client: TestClient, workspace: Path, ca_case: str) -> None:
    page = client.get(f"/cases/{ca_case}/questions").text
    asked = re.findall(r'name="answer:([^"]+)"', page)
    assert "client.civic.owns_firearm" in asked and "client.licenses.held" in asked and "client.licenses.applying" in asked
    assert not any("immigration.status" in a for a in asked)   # known facts are never asked
    url = f"/cases/{ca_case}/questions"
    # one half of the licenses: refused, nothing saved
    r = submit(client, page, {"answer:client.licenses.held": ["__none__"]}, "save", url=url)
    assert r.status_code == 422 and "recorded together" in r.text
    assert yaml.safe_load((workspace / "ca.yaml").read_text())["client"].get("licenses") is None
    # a firearm answer and nothing else: the rest stays unknown and is not asked again
    r = submit(client, page, {"answer:client.civic.owns_firearm": "no"}, "save", url=url, follow_redirects=False)
    assert r.status_code == 303 and "skip=client.licenses.held" in r.headers["location"]
    data = yaml.safe_load((workspace / "ca.yaml").read_text())
    assert data["client"]["civic"] == {"owns_firearm": False} and "licenses" not in data["client"]
    assert client.get(r.headers["location"], follow_redirects=False).status_code == 303   # nothing left: the memo
    # both halves of the licenses
    page = client.get(url).text
    r = submit(client, page, {"answer:client.licenses.held": ["__none__"], "answer:client.licenses.applying": ["cdl"]},
               "memo", url=url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{ca_case}"
    assert yaml.safe_load((workspace / "ca.yaml").read_text())["client"]["licenses"] == [{"type": "cdl", "status": "applying"}]


# ------------------------------------------------------------------------------------------ result and downloads

def test_case_list(client: TestClient, workspace: Path, ca_case: str) -> None:
    (workspace / "broken.yaml").write_text("format: 1\njurisdiction: US-CA\noptions: [{id: a, counts: [{offense: {statute: PC 4877}}]}]\n")
    (workspace / "notes.yaml").write_text("just: notes\n")
    (workspace / "ca.review.yaml").write_text("format: 1\noptions: []\n")
    page = client.get("/").text
    assert "LA-2026-CR-0142" in page and "Worst consequence per area" in page
    assert "Prosecution offer" in page and "safer for the client" in page
    row = re.search(r"<th scope=\"row\">Immigration</th>(.*?)</tr>", page, re.S)
    assert row and row.group(1).count("Critical") == 2 and "Deportable" in row.group(1)
    assert "broken.yaml" in page and "not in the US-CA offense catalog" in page
    assert "notes.yaml" not in page and "ca.review" not in page


def test_result_page(client: TestClient, ca_case: str) -> None:
    page = client.get(f"/cases/{ca_case}").text
    assert page.index('id="bottom-line"') < page.index('id="side-by-side"') < page.index('id="downloads"')
    assert "Safer for this client's priorities: counter" in page
    assert all(f'id="o-{o}"' in page for o in ("offer", "counter", "trial"))
    finding = re.search(r'<details class="finding sev-critical" id="f-offer-imm-deportable-cimt-0">(.*?)</details>\s*</li>',
                        page, re.S)
    assert finding, "the deportability finding is expandable"
    body = finding.group(1)
    assert "8 U.S.C. § 1227(a)(2)(A)(i)" in body and "237(a)(2)(A)(i)" in body                    # test and citation
    assert "us.immigration.deportable-cimt" in body and "client.immigration.admission_date" in body   # trace
    assert page.count('action="/cases/ca/counter"') >= 2


def test_counter_offer_added_as_option_and_rerun(client: TestClient, workspace: Path, app: App, ca_case: str) -> None:
    ev = app.service.evaluate(ca_case)
    assert ev.result is not None
    offer = next(o for o in ev.result["options"] if o["id"] == "offer")
    index = next(i for i, a in enumerate(offer["alternatives"]) if a["patch"] == {"counts[0].offense.statute": "PC 484(a)"})
    avoided = set(offer["alternatives"][index]["avoids"])
    r = client.post(f"/cases/{ca_case}/counter", data={"csrf": app.csrf, "option": "offer", "index": str(index)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cases/ca#o-offer-counter1"
    case = load_case(workspace / "ca.yaml")
    new = case.options[-1]
    assert new.id == "offer-counter1" and new.counts[0].offense.statute == "PC 484(a)"
    assert new.counts[0].sentence.custody_days == 180 and "capped" in (new.label or "")   # the term capped at the maximum
    page = client.get("/cases/ca").text
    assert 'id="o-offer-counter1"' in page
    ev = app.service.evaluate(ca_case)
    assert ev.result is not None
    rerun = next(o for o in ev.result["options"] if o["id"] == "offer-counter1")
    applying = {f["code"] for f in rerun["findings"] if f["status"] == "applies"}
    assert avoided and not (avoided & applying)   # re-run: what the counter-offer avoids is gone
    assert client.post(f"/cases/{ca_case}/counter", data={"csrf": app.csrf, "option": "offer", "index": "99"}).status_code == 404


def test_downloads_are_what_the_command_line_writes(client: TestClient, workspace: Path, ca_case: str) -> None:
    def cli(*args: str) -> bytes:
        out = workspace / "cli.out"
        r = CliRunner().invoke(main, [*args, "-o", str(out)])
        assert r.exit_code == 0, r.output
        return out.read_bytes()

    r = client.get(f"/cases/{ca_case}/download/memo.md")
    assert r.headers["content-disposition"] == 'attachment; filename="ca-memo.md"'
    assert r.content == cli("advise", str(workspace / "ca.yaml"))
    r = client.get(f"/cases/{ca_case}/download/result.json")
    assert r.content == cli("advise", str(workspace / "ca.yaml"), "--format", "json")
    assert json.loads(r.content)["seal"]["inputs"]["alternatives"] is True
    assert client.get(f"/cases/{ca_case}/download/memo.html").content == cli("advise", str(workspace / "ca.yaml"), "--format", "html")
    docx = client.get(f"/cases/{ca_case}/download/memo.docx")
    assert docx.status_code == 200 and docx.content[:2] == b"PK" and docx.headers["content-type"].endswith("wordprocessingml.document")
    letter = client.get(f"/cases/{ca_case}/download/letter-es.docx")
    assert letter.status_code == 200 and letter.content[:2] == b"PK"
    assert client.get(f"/cases/{ca_case}/download/other.txt").status_code == 404


def test_pdf_download(client: TestClient, ca_case: str) -> None:
    pytest.importorskip("weasyprint", reason="PDF needs WeasyPrint and pango")
    r = client.get(f"/cases/{ca_case}/download/memo.pdf")
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"


def test_names_never_leave_the_workspace(client: TestClient, workspace: Path, ca_case: str) -> None:
    (workspace.parent / "outside.yaml").write_text(EXAMPLE.read_text())
    for url in ("/cases/..%2Foutside", "/cases/.hidden/edit", f"/cases/{ca_case}.yaml",
                "/cases/missing/questions", "/cases/%2E%2E%2Foutside/download/result.json"):
        assert client.get(url).status_code == 404, url


def test_serve_command_binds_loopback_only(workspace: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        r = CliRunner().invoke(main, ["serve", "--workspace", str(workspace), "--port", str(busy.getsockname()[1]), "--no-open"])
        assert r.exit_code == 2 and "choose another --port" in r.output
    finally:
        busy.close()
    assert "127.0.0.1" in CliRunner().invoke(main, ["serve", "--help"]).output
