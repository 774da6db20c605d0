"""POST /api/calls to a suppressed number: refused with 422 `suppressed` naming the reason and the date, nothing
stored or sent; an admin token may override it, audited; another role's override is refused with 403."""

from __future__ import annotations

import json

from tests.support.teams import audit_rows, call_count
from webapp.accounts import create_token
from webapp.campaigns import suppressions
from webapp.db import get_db, utcnow

NUMBER = "+919876543210"
BODY = {"from": "09876543210", "caller_id": "08047112345", "app_id": "1"}


def _suppress(app) -> str:
    """Suppress NUMBER; the day it was suppressed, as the refusal names it."""
    now = utcnow()
    with app.app_context():
        suppressions.add(get_db(), [NUMBER], reason="asked not to be called", created_by="user:ops@example.com", now=now)
    return f"{now:%d %b %Y}"


def _token(app, role: str) -> dict[str, str]:
    with app.app_context():
        return {"Authorization": f"Bearer {create_token(get_db(), f'{role}-tool', role=role)}"}


def test_a_call_to_a_suppressed_number_is_refused_and_nothing_is_sent(app, client, auth_headers, sim):
    day = _suppress(app)
    response = client.post("/api/calls", json=BODY, headers=auth_headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("suppressed", "from")
    assert NUMBER in error["message"] and "asked not to be called" in error["message"] and day in error["message"]
    assert sim.state.connects.entries() == [] and call_count(app) == 0
    assert audit_rows(app, "call.place") == []


def test_an_admin_token_may_override_and_the_override_is_audited(app, client, sim):
    _suppress(app)
    response = client.post("/api/calls", json={**BODY, "override_suppression": True}, headers=_token(app, "admin"))
    assert response.status_code == 201, response.get_data(as_text=True)
    call_id = response.get_json()["id"]
    assert [entry["from"][-10:] for entry in sim.state.connects.entries()] == [NUMBER[-10:]]  # as Exotel is sent it
    (row,) = audit_rows(app, "call.override_suppression")
    assert (row.actor, row.target) == ("token:admin-tool", call_id)
    assert json.loads(row.detail)["number"] == NUMBER and json.loads(row.detail)["reason"] == "asked not to be called"


def test_another_roles_override_is_refused_with_403_and_nothing_is_sent(app, client, auth_headers, sim):
    _suppress(app)
    for number in (NUMBER, "+919876543211"):  # suppressed or not: the role may not ask for it
        response = client.post("/api/calls", json={**BODY, "from": number, "override_suppression": True},
                               headers=auth_headers)  # an operator's token
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    assert sim.state.connects.entries() == [] and call_count(app) == 0
    assert audit_rows(app, "call.override_suppression") == []


def test_override_false_or_absent_changes_nothing_and_a_non_boolean_is_refused(app, client, auth_headers, sim):
    _suppress(app)
    admin = _token(app, "admin")
    refused = client.post("/api/calls", json={**BODY, "override_suppression": False}, headers=admin)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "suppressed"
    wrong = client.post("/api/calls", json={**BODY, "override_suppression": "yes"}, headers=admin)
    assert wrong.status_code == 422 and wrong.get_json()["error"]["field"] == "override_suppression"
    other = client.post("/api/calls", json={**BODY, "from": "+919876543211", "override_suppression": False},
                        headers=auth_headers)
    assert other.status_code == 201
    assert [entry["from"][-10:] for entry in sim.state.connects.entries()] == ["9876543211"]
    assert audit_rows(app, "call.override_suppression") == []


def test_the_openapi_document_names_the_override_and_the_refusal(client):
    document = client.get("/api/openapi.json").get_json()
    field = document["components"]["schemas"]["CallRequest"]["properties"]["override_suppression"]
    assert field["type"] == "boolean"
    responses = document["paths"]["/api/calls"]["post"]["responses"]
    assert "suppressed" in responses["422"]["description"] and "override_suppression" in responses["403"]["description"]
