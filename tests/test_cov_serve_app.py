"""The web app's pages and its service (engine/serve/app.py, service.py) on the requests test_serve.py does not
make: damaged forms, cases that cannot be read or evaluated, answers refused, a counter-offer that cannot be
applied, a download that cannot be written, the statute lookups of the intake form, the evaluation cache."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from engine.model.errors import InputError
from engine.serve.app import App
from engine.serve.service import Service
from engine.serve.workspace import Workspace

from .conftest import make_rules

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ca-theft-lpr.yaml"
BASE = "http://127.0.0.1:8642"
TOKEN = "test-token-cov-0123456789"
BAD_STATUTE = "format: 1\njurisdiction: US-CA\noptions: [{id: a, counts: [{offense: {statute: PC 4877}}]}]\n"


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
    with TestClient(app.asgi, base_url=BASE) as c:
        assert c.get(f"/?token={TOKEN}", follow_redirects=False).status_code == 303
        yield c


@pytest.fixture()
def ca(workspace: Path) -> dict[str, Any]:
    shutil.copy(EXAMPLE, workspace / "ca.yaml")
    return dict(yaml.safe_load(EXAMPLE.read_text()))


# ------------------------------------------------------------------------------------------ service: checks


def test_rule_packs_with_problems_are_refused_at_start(tmp_path: Path) -> None:
    rules = make_rules(tmp_path, "- id: t.chain.x\n  this is: not a rule\n")
    with pytest.raises(InputError) as exc:
        Service(tmp_path / "ws", rules)
    assert exc.value.problems and "rule packs" in str(exc.value)


def test_check_refuses_what_is_not_a_mapping(service: Service) -> None:
    assert service.check(["format", 1]).problems == [("", "expected a mapping with format, jurisdiction and options")]
    assert service.check(["x"]).case is None


def test_check_explains_a_bad_option_id_in_plain_words(service: Service, ca: dict[str, Any]) -> None:
    data = copy.deepcopy(ca)
    data["options"][0]["id"] = "offer #1"
    checked = service.check(data)
    assert checked.case is None
    assert checked.problems == [("options[0].id", "letters, digits, dot, dash and underscore only, starting with a letter "
                                                   "or digit (got 'offer #1')")]


def test_check_refuses_a_date_before_the_rule_packs(service: Service, ca: dict[str, Any]) -> None:
    data = copy.deepcopy(ca)
    data["as_of"] = "1899-12-31"
    checked = service.check(data)
    assert checked.case is None
    assert ("as_of", "the law cannot be applied as of 1899-12-31: the rule packs are checked from 1900-01-01") in checked.problems


def test_check_refuses_a_prong_the_catalog_statute_does_not_have(service: Service, ca: dict[str, Any]) -> None:
    data = copy.deepcopy(ca)
    data["options"][0]["counts"][0]["offense"] = {"statute": "PC 459", "prong": "third-degree"}
    checked = service.check(data)
    assert checked.case is None
    msgs = dict(checked.problems)
    assert "'third-degree' is not a prong of PC 459; its prongs: first-degree, second-degree" in msgs["options[0].counts[0].offense.prong"]
    data["options"][0]["counts"][0]["offense"]["prong"] = "second-degree"
    assert service.check(data).case is not None


# ------------------------------------------------------------------------------------------ service: evaluation


def test_a_file_that_is_not_yaml_is_evaluated_to_its_problems(service: Service, workspace: Path) -> None:
    (workspace / "broken.yaml").write_text("format: 1\noptions: [unclosed\n")
    ev = service.evaluate("broken")
    assert ev.result is None and ev.checked.case is None and ev.checked.problems


def test_the_evaluation_cache_keeps_the_latest_64_cases(service: Service, workspace: Path) -> None:
    for i in range(66):
        (workspace / f"c{i}.yaml").write_text(BAD_STATUTE.replace("id: a", f"id: a{i}"))
    first = service.evaluate("c0")
    assert service.evaluate("c0") is first                       # unchanged file, same day: cached
    evs = [service.evaluate(f"c{i}") for i in range(1, 66)]
    assert all("not in the US-CA offense catalog" in ev.checked.problems[0][1] for ev in evs)
    assert service.evaluate("c65") is evs[-1]
    again = service.evaluate("c0")                               # pushed out by 64 newer: evaluated afresh
    assert again is not first and again.checked.problems == first.checked.problems


# ------------------------------------------------------------------------------------------ service: statutes


def test_statute_search_without_a_jurisdiction(service: Service) -> None:
    r = service.statute_search("", "theft")
    assert r["results"] == [] and r["message"] == "no offense catalog for this jurisdiction"
    r = service.statute_search("US-CA", "   ")
    assert r["results"] == [] and r["nearest"] == [] and r["more"] == 0


def test_statute_info_for_the_intake_form(service: Service) -> None:
    on = dt.date(2026, 11, 26)
    assert service.statute_info("US-CA", "  ", on) is None
    r = service.statute_info("", "PC 487(a)", on)
    assert r is not None and not r["found"] and r["message"].startswith("No offense catalog for the jurisdiction (not given yet)")
    r = service.statute_info("US-ZZ", "PC 487(a)", on)
    assert r is not None and r["message"].startswith("No offense catalog for US-ZZ")
    r = service.statute_info("us-ca", "PC 4877", on)
    assert r is not None and not r["found"] and r["nearest"]
    assert r["message"] == "Not in the US-CA offense catalog: give its elements below, or name a catalog statute."
    r = service.statute_info("US-CA", "PC 487(a)", on)
    assert r is not None and r["found"] and r["maximum"] == "3 years" and r["exact"]


# ------------------------------------------------------------------------------------------ service: answers


def test_an_answer_that_is_not_a_yes_or_no_is_refused_and_the_rest_kept(service: Service, ca: dict[str, Any]) -> None:
    pending = service.open_questions(ca, set())
    firearm = next(q for q in pending if q.key == "client.civic.owns_firearm")
    data, errors, skipped = service.apply_answers(ca, [firearm], {firearm.key: "perhaps"})
    assert errors == {firearm.key: "answer yes or no"} and data == ca and skipped == []


def test_licenses_answered_together_are_written_together(service: Service, ca: dict[str, Any]) -> None:
    pending = service.open_questions(ca, set())
    pair = [q for q in pending if q.field == "client.licenses"]
    assert sorted(q.key for q in pair) == ["client.licenses.applying", "client.licenses.held"]
    data, errors, _ = service.apply_answers(ca, pair, {"client.licenses.held": "none", "client.licenses.applying": "cdl"})
    assert errors == {} and data["client"]["licenses"] == [{"type": "cdl", "status": "applying"}]
    data, errors, _ = service.apply_answers(ca, pair, {"client.licenses.held": "none", "client.licenses.applying": "pilot"})
    assert "not valid: pilot" in errors["client.licenses.applying"] and "licenses" not in data["client"]


def test_an_answer_the_case_file_does_not_accept_is_refused(service: Service, ca: dict[str, Any]) -> None:
    pending = service.open_questions(ca, set())
    firearm = next(q for q in pending if q.key == "client.civic.owns_firearm")
    broken = copy.deepcopy(ca)
    broken["options"][0]["counts"][0]["offense"]["statute"] = "PC 4877"   # the file became invalid meanwhile
    data, errors, _ = service.apply_answers(broken, [firearm], {firearm.key: "yes"})
    assert errors[firearm.key].startswith("not accepted: options[0].counts[0].offense.statute: ")
    assert "not in the US-CA offense catalog" in errors[firearm.key] and data == broken


# ------------------------------------------------------------------------------------------ service: counter-offers


def _result_with(alternative: dict[str, Any]) -> dict[str, Any]:
    return {"as_of": "2026-11-26", "options": [{"id": "offer", "alternatives": [alternative]}]}


def test_counter_offer_that_cannot_be_applied(service: Service, ca: dict[str, Any]) -> None:
    with pytest.raises(LookupError, match="no such counter-offer"):
        service.counter_option(ca, _result_with({"patch": {}, "change": "x"}), "offer", 1)
    with pytest.raises(LookupError, match="no such counter-offer"):
        service.counter_option(ca, _result_with({"patch": {}, "change": "x"}), "nowhere", 0)
    gone = copy.deepcopy(ca)
    gone["options"] = [o for o in gone["options"] if o["id"] != "offer"]
    with pytest.raises(LookupError, match="no such option"):
        service.counter_option(gone, _result_with({"patch": {}, "change": "x"}), "offer", 0)
    for key in ("counts[5].sentence.custody_days", "client.name"):
        with pytest.raises(LookupError, match=r"cannot apply"):
            service.counter_option(ca, _result_with({"patch": {key: 1}, "change": "x"}), "offer", 0)


def test_counter_offer_of_a_shorter_term_keeps_suspended_time_within_it(service: Service, ca: dict[str, Any]) -> None:
    data = copy.deepcopy(ca)
    data["options"][0]["counts"][0]["sentence"].update({"custody_days": 485, "suspended_days": 300})
    alt = {"patch": {"counts[0].sentence.custody_days": 180}, "change": "custody 180 days"}
    out = service.counter_option(data, _result_with(alt), "offer", 0)
    new = out["options"][-1]
    assert new["id"] == "offer-counter1" and new["label"] == "Counter-offer to offer: custody 180 days"
    assert new["counts"][0]["sentence"]["custody_days"] == 180 and new["counts"][0]["sentence"]["suspended_days"] == 180
    assert out["options"][0]["counts"][0]["sentence"]["custody_days"] == 485   # the offer itself is unchanged
    again = service.counter_option(out, _result_with(alt), "offer", 0)
    assert again["options"][-1]["id"] == "offer-counter2"


def test_counter_offer_statute_outside_the_catalog_keeps_the_term(service: Service, ca: dict[str, Any]) -> None:
    alt = {"patch": {"counts[0].offense.statute": "PC 9999"}, "change": "plead to PC 9999"}
    out = service.counter_option(ca, _result_with(alt), "offer", 0)
    new = out["options"][-1]
    assert new["counts"][0]["offense"] == {"statute": "PC 9999"}
    assert new["counts"][0]["sentence"]["custody_days"] == ca["options"][0]["counts"][0]["sentence"]["custody_days"]


# ------------------------------------------------------------------------------------------ pages


def test_editing_a_file_that_cannot_be_read(client: TestClient, workspace: Path) -> None:
    (workspace / "broken.yaml").write_text("format: 1\noptions: [unclosed\n")
    r = client.get("/cases/broken/edit")
    assert r.status_code == 422 and "broken cannot be read" in r.text and "line " in r.text
    (workspace / "alist.yaml").write_text("- format\n- options\n")
    r = client.get("/cases/alist/edit")
    assert r.status_code == 422 and "not a case file" in r.text


def test_a_damaged_intake_form_is_refused(client: TestClient, app: App) -> None:
    for draft in ("{not json", "[1, 2]"):
        r = client.post("/intake", data={"csrf": app.csrf, "draft": draft, "action": "check"})
        assert r.status_code == 400 and "The form was damaged" in r.text
    r = client.post("/intake", data={"csrf": app.csrf, "draft": "{}", "name": "missing", "action": "save"})
    assert r.status_code == 404 and "There is no case file named &#39;missing&#39;" in r.text


def test_a_case_with_problems_opens_on_its_problems(client: TestClient, app: App, workspace: Path) -> None:
    (workspace / "bad.yaml").write_text(BAD_STATUTE)
    for r in (client.get("/cases/bad"), client.get("/cases/bad/questions"),
              client.post("/cases/bad/questions", data={"csrf": app.csrf, "action": "save"}),
              client.post("/cases/bad/counter", data={"csrf": app.csrf, "option": "a", "index": "0"}),
              client.get("/cases/bad/download/memo.md")):
        assert r.status_code == 422, r.url
        assert "bad needs attention before it can be evaluated" in r.text
        assert "not in the US-CA offense catalog" in r.text and 'href="/cases/bad/edit"' in r.text
    assert (workspace / "bad.yaml").read_text() == BAD_STATUTE


def test_a_counter_offer_must_be_chosen(client: TestClient, app: App, ca: dict[str, Any], workspace: Path) -> None:
    before = (workspace / "ca.yaml").read_bytes()
    r = client.post("/cases/ca/counter", data={"csrf": app.csrf, "option": "offer", "index": "first"})
    assert r.status_code == 400 and "No counter-offer was chosen." in r.text
    assert (workspace / "ca.yaml").read_bytes() == before


def test_none_and_a_license_ticked_together_is_refused(client: TestClient, app: App, ca: dict[str, Any],
                                                       workspace: Path) -> None:
    r = client.post("/cases/ca/questions", data={"csrf": app.csrf, "action": "save",
                                                 "answer:client.licenses.held": ["__none__", "cdl"],
                                                 "answer:client.licenses.applying": ["__none__"]})
    assert r.status_code == 422 and "choose “None” or some of the others, not both" in r.text
    assert "licenses" not in (yaml.safe_load((workspace / "ca.yaml").read_text())["client"])


def test_a_document_that_cannot_be_written_is_a_server_error(client: TestClient, ca: dict[str, Any],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)   # as on a machine without WeasyPrint
    r = client.get("/cases/ca/download/memo.pdf")
    assert r.status_code == 500 and "The memo could not be written" in r.text and "WeasyPrint" in r.text


def test_statute_search_ignores_a_date_it_cannot_read(client: TestClient) -> None:
    r = client.get("/api/statutes", params={"jurisdiction": "US-CA", "q": "PC 487(a)", "as_of": "26/11/2026"}).json()
    assert r["results"][0]["statute"] == "PC 487(a)" and r["results"][0]["maximum"] == "3 years"
