"""A token never outranks its maker: it acts with the lesser of its own role and the maker's current role."""

from __future__ import annotations

import json
import re

from test_roles import GOOD

from tests.support.signin import page_token
from tests.support.teams import audit_rows, call_count
from webapp.accounts import Actor, authenticate_token, change_role, create_token
from webapp.db import get_db

ADMIN = Actor("user:ops@example.com")


def _token(team, role: str, maker: str | None) -> str:
    with team.app.app_context():
        maker_id = team.users[maker].id if maker else None
        return create_token(get_db(), f"{role}-by-{maker}", role=role, created_by_user_id=maker_id)


def _set_role(team, who: str, role: str) -> None:
    with team.app.app_context():
        change_role(get_db(), team.users[who].id, role, ADMIN)


def test_demoting_the_maker_demotes_the_token_at_its_next_request(team, client):
    token = _token(team, "operator", maker="operator")
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/calls", json=GOOD, headers=bearer).status_code == 201

    _set_role(team, "operator", "viewer")
    refused = client.post("/api/calls", json=GOOD, headers=bearer)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert call_count(team.app) == 1
    assert client.get("/api/calls", headers=bearer).status_code == 200  # it still reads, as its maker may

    _set_role(team, "operator", "operator")  # promoted again: the token's own role applies again
    assert client.post("/api/calls", json=GOOD, headers=bearer).status_code == 201
    assert call_count(team.app) == 2

    [row] = audit_rows(team.app, "access.refused")
    assert (row.actor, row.target) == ("token:operator-by-operator", "/api/calls")
    assert json.loads(row.detail) == {"method": "POST", "needed": "place", "role": "viewer", "token_role": "operator"}


def test_a_token_is_the_lesser_of_its_role_and_its_makers(team):
    admin_token = _token(team, "admin", maker="admin")
    viewer_token = _token(team, "viewer", maker="admin")
    operators_admin_token = _token(team, "admin", maker="operator")
    with team.app.app_context():
        db = get_db()
        assert authenticate_token(db, admin_token).role == "admin"
        assert authenticate_token(db, viewer_token).role == "viewer"  # never raised to the maker's role
        caller = authenticate_token(db, operators_admin_token)
        assert (caller.role, caller.own_role, caller.maker_role) == ("operator", "admin", "operator")


def test_a_command_line_token_keeps_its_own_role(team, client):
    """No user made it: demoting anyone changes nothing for it."""
    cli_admin = team.tokens["admin"]
    _set_role(team, "operator", "admin")
    _set_role(team, "admin", "viewer")
    with team.app.app_context():
        assert authenticate_token(get_db(), cli_admin).role == "admin"
    assert client.post("/api/calls", json=GOOD, headers=team.bearer("admin")).status_code == 201


def test_a_token_made_in_the_browser_follows_its_maker(team, client):
    """The admin page records the maker: an admin's operator token stops placing once the admin is a viewer."""
    admin = team.client("admin")
    created = admin.post("/admin/tokens", data={"csrf_token": page_token(admin, "/admin/tokens"), "name": "crm", "role": "operator"})
    token = re.search(r'id="new-token" value="([^"]+)"', created.get_data(as_text=True)).group(1)
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/calls", json=GOOD, headers=bearer).status_code == 201
    _set_role(team, "operator", "admin")  # someone must stay admin
    _set_role(team, "admin", "viewer")
    assert client.post("/api/calls", json=GOOD, headers=bearer).status_code == 403
    assert call_count(team.app) == 1
