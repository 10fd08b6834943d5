"""The intake form's reading of what was typed (engine/serve/form.py) and the guard's refusals
(engine/serve/security.py) on inputs test_serve.py does not type: numbers that are not numbers, element lists,
"None" ticked with others, licenses with their issuer, blocks added and removed by hand-made actions, errors
placed on the block they concern; a websocket, a token posted in a form, a form sent from another site."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.datastructures import FormData
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from engine.serve import form as fm
from engine.serve.security import Guard

LICENSES = {"cdl": "Commercial driver's license", "rn": "Registered nurse"}


def _fields(draft: dict[str, Any]) -> dict[str, fm.Field]:
    return {f.name: f for f in fm.build(draft, {}, LICENSES, ["US-CA"]).walk()}


@pytest.fixture(scope="module")
def fields() -> dict[str, fm.Field]:
    return _fields(fm.blank())


def _convert(fields: dict[str, fm.Field], name: str, *raw: str) -> tuple[Any, str]:
    return fm.convert(fields[name], list(raw))


def test_numbers_as_typed(fields: dict[str, fm.Field]) -> None:
    income = "client.finances.annual_income"
    assert _convert(fields, income, " $31,000 ") == (31000, "")
    assert _convert(fields, income, "1500.50") == (1500.5, "")
    for odd in ("nan", "inf", "-inf", "a lot"):   # left as typed, for the schema to report next to the field
        assert _convert(fields, income, odd) == (odd, "")
    days = "options[0].counts[0].sentence.custody_days"
    assert _convert(fields, days, "90.5") == ("90.5", "")   # a whole number was expected: not rounded
    assert _convert(fields, days, "90.0") == (90, "")
    assert _convert(fields, days, "unknown") == (None, "")


def test_elements_typed_as_words(fields: dict[str, fm.Field]) -> None:
    elements = "options[0].counts[0].offense.elements"
    assert _convert(fields, elements, "") == (None, "")             # unknown
    assert _convert(fields, elements, "None") == ([], "")           # said: no elements
    assert _convert(fields, elements, "theft; intent_to_deprive, , entry") == (["theft", "intent_to_deprive", "entry"], "")


def test_none_of_these_ticked(fields: dict[str, fm.Field]) -> None:
    goals = "client.immigration.goals"
    assert _convert(fields, goals, fm.NONE) == ([], "")
    assert _convert(fields, goals) == (None, "")
    assert _convert(fields, goals, "remain", fm.NONE) == (None, "choose “None” or some of the others, not both")
    assert _convert(fields, "client.priorities", "immigration; fines") == (["immigration", "fines"], "")
    assert _convert(fields, "client.civic.owns_firearm", "Yes") == (True, "")
    assert _convert(fields, "as_of", "2026-02-30") == (None, "'2026-02-30' is not a date (YYYY-MM-DD)")


def test_licenses_keep_their_issuer_when_ticked_again() -> None:
    draft = {"format": 1, "client": {"licenses": [{"type": "rn", "status": "held", "issuer": "CA Board of Nursing"}]},
             "options": [{"id": "offer", "counts": [{}]}]}
    fields = list(fm.build(draft, {}, LICENSES, ["US-CA"]).walk())
    form = FormData([("client.licenses.held", "rn"), ("client.licenses.applying", "cdl")])
    errors, _ = fm.overlay(draft, form, [f for f in fields if f.name in fm.LICENSE_FIELDS])
    assert errors == {}
    assert draft["client"]["licenses"] == [{"type": "rn", "status": "held", "issuer": "CA Board of Nursing"},
                                           {"type": "cdl", "status": "applying"}]
    form = FormData([("client.licenses.held", ""), ("client.licenses.applying", "")])   # both unknown again
    errors, _ = fm.overlay(draft, form, [f for f in fields if f.name in fm.LICENSE_FIELDS])
    assert errors == {} and "licenses" not in draft["client"]


def test_actions_add_and_remove_blocks() -> None:
    draft: dict[str, Any] = {"format": 1, "options": [{"id": "option2", "counts": [{}]}]}
    fm.act(draft, "add:history")
    assert draft["history"] == [{}]
    fm.act(draft, "add:options")
    assert [o["id"] for o in draft["options"]] == ["option2", "option3"]   # never a duplicate id
    before = repr(draft)
    for action in ("remove:history[5]", "remove:history", "remove:client[0]", "add:", "remove:", "delete:options[0]"):
        fm.act(draft, action)
    assert repr(draft) == before
    fm.act(draft, "remove:history[0]")
    assert draft["history"] == []


def test_reading_and_writing_paths_of_a_draft() -> None:
    draft: dict[str, Any] = {"client": {"name": "A"}, "options": [{"id": "offer"}]}
    assert fm.get(draft, "client.name.first") is None
    assert fm.get(draft, "options[3].id") is None and fm.get(draft, "client[0]") is None
    fm._set(draft, "client.civic.owns_firearm", None)   # clearing what is not there makes nothing
    assert draft["client"] == {"name": "A"}
    fm._set(draft, "options[1].counts[0].offense.statute", "PC 487(a)")
    assert draft["options"][1] == {"counts": [{"offense": {"statute": "PC 487(a)"}}]}


def test_paths_outside_the_case_file_model() -> None:
    assert fm.model_at("client.name.first") is None   # a text field has no fields
    assert fm.model_at("client.nickname") is None
    with pytest.raises(KeyError):
        fm.widget_for("client.nickname")


def test_errors_are_placed_on_their_input_block_or_the_top() -> None:
    draft = {"format": 1, "options": [{"id": "offer", "counts": [{"offense": {"statute": "PC 487(a)"}}]}]}
    root = fm.build(draft, {}, LICENSES, ["US-CA"])
    placed = fm.place_errors(root, [("options[0].counts[0]", "Field required"), ("nowhere", "odd"),
                                    ("client.licenses", "recorded together")])
    assert placed == [("options[0].counts[0]", "Field required", "g-options-0-counts-0"),
                      ("nowhere", "odd", "g-case"),
                      ("client.licenses", "recorded together", "f-client-licenses-held")]
    assert root.error == "odd"


# ------------------------------------------------------------------------------------------ the guard


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_a_websocket_is_closed() -> None:
    c = TestClient(Guard(_ok, "tok", "c"), base_url="http://127.0.0.1")
    with pytest.raises(WebSocketDisconnect) as exc, c.websocket_connect("/ws"):
        pass
    assert exc.value.code == 1008


def test_the_token_is_never_taken_from_a_form_post() -> None:
    c = TestClient(Guard(_ok, "tok", "c"), base_url="http://127.0.0.1")
    r = c.post("/intake?token=tok", headers={"origin": "http://127.0.0.1"})
    assert r.status_code == 403 and r.text == "refused: the token goes in the address of a page, not in a form"
    assert "set-cookie" not in r.headers


def test_a_form_sent_from_another_site_by_navigation_is_refused() -> None:
    c = TestClient(Guard(_ok, "tok", "c"), base_url="http://127.0.0.1")
    r = c.post("/intake", headers={"sec-fetch-site": "same-site", "sec-fetch-mode": "navigate"})
    assert r.status_code == 403 and r.text == "refused: a request from another site"
    r = c.get("/?token=tok", headers={"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"},
              follow_redirects=False)
    assert r.status_code == 303   # a link from elsewhere may open the app, with the token
