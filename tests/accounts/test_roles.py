"""Roles decide what a session or a token may do; each call names who placed it."""

from __future__ import annotations

import re

from tests.support.csvfiles import csv_download
from tests.support.signin import csrf_token
from tests.support.teams import audit_rows, call_count

GOOD = {"from": "+91 98765 43210", "app_id": "4242", "custom_field": "order-42"}
FORM = {
    "from_number": "+91 98765 43210", "caller_id": "08047112345", "flow": "123456", "call_type": "",
    "time_limit": "", "time_out": "", "custom_field": "", "event_answered": "y", "event_terminal": "y",
}


def place_in_browser(client):
    page = client.get("/calls/new").get_data(as_text=True)
    nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="nonce"', page)
    return client.post("/calls/new", data={**FORM, "csrf_token": csrf_token(page), "nonce": nonce.group(1) or nonce.group(2)})


def test_a_viewer_token_reads_but_cannot_place(team, client):
    refused = client.post("/api/calls", json=GOOD, headers=team.bearer("viewer"))
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"
    assert call_count(team.app) == 0 and audit_rows(team.app, "call.place") == []
    assert client.get("/api/calls", headers=team.bearer("viewer")).status_code == 200


def test_an_operator_token_places_and_the_call_names_it(team, client):
    response = client.post("/api/calls", json=GOOD, headers=team.bearer("operator"))
    assert response.status_code == 201
    call = response.json
    assert call["created_by"] == "token:operator-token"
    [row] = audit_rows(team.app, "call.place")
    assert (row.actor, row.target) == ("token:operator-token", call["id"])
    listed = client.get("/api/calls?created_by=token:operator-token", headers=team.bearer("viewer")).json["calls"]
    assert [c["id"] for c in listed] == [call["id"]]
    assert client.get("/api/calls?created_by=user:nobody@example.com", headers=team.bearer("viewer")).json["calls"] == []


def test_a_viewer_sees_calls_but_is_not_offered_or_allowed_to_place_one(team):
    operator = team.client("operator")
    assert place_in_browser(operator).status_code == 303
    viewer = team.client("viewer")
    page = viewer.get("/calls").get_data(as_text=True)
    assert "user:agent@example.com" in page
    assert 'href="/calls/new"' not in page
    assert viewer.get("/calls/new").status_code == 403
    page = operator.get("/calls/new").get_data(as_text=True)
    refused = viewer.post("/calls/new", data={**FORM, "csrf_token": csrf_token(viewer.get("/settings").get_data(as_text=True))})
    assert refused.status_code == 403
    assert call_count(team.app) == 1
    assert len(audit_rows(team.app, "call.place")) == 1


def test_the_call_page_list_and_csv_show_who_placed_it(team):
    operator = team.client("operator")
    response = place_in_browser(operator)
    assert response.status_code == 303
    viewer = team.client("viewer")
    assert "user:agent@example.com" in viewer.get(response.headers["Location"]).get_data(as_text=True)
    rows = csv_download(viewer.get("/calls.csv"))
    assert [row["created_by"] for row in rows] == ["user:agent@example.com"]
    filtered = viewer.get("/calls?created_by=user:agent@example.com").get_data(as_text=True)
    assert filtered.count('data-call-id="') == 1
    other = viewer.get("/calls?created_by=token:someone").get_data(as_text=True)
    assert 'data-call-id="' not in other
    [row] = audit_rows(team.app, "call.place")
    assert row.actor == "user:agent@example.com" and row.ip == "127.0.0.1"


def test_only_admins_reach_the_admin_pages(team):
    for role in ("operator", "viewer"):
        client = team.client(role)
        for path in ("/admin/users", "/admin/tokens", "/admin/audit", "/admin/audit.csv"):
            assert client.get(path).status_code == 403, (role, path)
        page = client.get("/calls").get_data(as_text=True)
        assert 'href="/admin/users"' not in page
    admin = team.client("admin")
    assert 'href="/admin/users"' in admin.get("/calls").get_data(as_text=True)
    assert admin.get("/admin/users").status_code == 200


def test_users_create_takes_a_role_and_defaults_to_admin_first(app, runner):
    from webapp.db import get_db
    from webapp.models import User

    first = runner.invoke(args=["users", "create", "first@example.com", "--password", "long enough pw"])
    second = runner.invoke(args=["users", "create", "second@example.com", "--password", "long enough pw"])
    third = runner.invoke(args=["users", "create", "third@example.com", "--password", "long enough pw", "--role", "viewer"])
    bad = runner.invoke(args=["users", "create", "fourth@example.com", "--password", "long enough pw", "--role", "boss"])
    assert first.exit_code == second.exit_code == third.exit_code == 0
    assert bad.exit_code != 0
    with app.app_context():
        roles = {u.email: u.role for u in get_db().session().query(User)}
    assert roles == {"first@example.com": "admin", "second@example.com": "operator", "third@example.com": "viewer"}


def test_tokens_create_takes_a_role(app, runner, client):
    result = runner.invoke(args=["tokens", "create", "dashboards", "--role", "viewer"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/calls", headers=headers).status_code == 200
    assert client.post("/api/calls", json=GOOD, headers=headers).status_code == 403
    [row] = audit_rows(app, "token.create")
    assert (row.actor, row.target) == ("system", "token:dashboards")
    assert token not in (row.detail or "")
