"""Admins manage the team in the browser: users, set-password links, roles, disabling, tokens."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, text

from tests.support.signin import csrf_token, page_token, sign_in
from tests.support.teams import audit_rows
from webapp import create_app
from webapp.config.tuning import with_clock
from webapp.db import get_db, utcnow
from webapp.models import PasswordLink, User

GOOD = {"from": "+91 98765 43210", "app_id": "4242"}


def add_user(admin, email: str, role: str = "operator"):
    token = page_token(admin, "/admin/users")
    response = admin.post("/admin/users", data={"csrf_token": token, "email": email, "role": role})
    assert response.status_code == 201, response.get_data(as_text=True)
    return re.search(r'id="set-password-link" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def set_password(client, link: str, password: str):
    path = link.removeprefix("http://localhost")
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "password": password, "confirm": password})


def user_row(app, email: str) -> User:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.scalar(select(User).where(User.email == email))


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": page_token(client, "/admin/users"), **data})


def test_a_new_user_sets_a_password_through_a_link_that_works_once(team):
    admin = team.client("admin")
    link = add_user(admin, "new@example.com", "operator")
    assert link.startswith("http://localhost/set-password/")
    newcomer = team.app.test_client()
    assert sign_in(newcomer, "new@example.com", "whatever it is").status_code == 401
    assert set_password(newcomer, link, "my own password").status_code == 303
    assert sign_in(newcomer, "new@example.com", "my own password").status_code == 302
    again = set_password(team.app.test_client(), link, "an attacker's one")
    assert again.status_code == 404
    assert sign_in(team.app.test_client(), "new@example.com", "my own password").status_code == 302
    [created] = audit_rows(team.app, "user.create")[-1:]
    assert (created.actor, created.target, created.detail) == ("user:ops@example.com", "user:new@example.com", '{"role": "operator"}')
    [changed] = audit_rows(team.app, "user.password")
    assert (changed.actor, changed.target) == ("user:new@example.com", "user:new@example.com")


def test_a_link_is_stored_hashed_and_never_audited(team):
    admin = team.client("admin")
    link = add_user(admin, "new@example.com")
    secret = link.rsplit("/", 1)[1].split(".", 1)[1]
    with team.app.app_context(), get_db().transaction(write=False) as session:
        stored = session.scalars(select(PasswordLink.token_hash)).all()
        audit_text = " ".join(str(row) for row in session.execute(text("SELECT * FROM audit_log")).all())
    assert stored and all(secret not in value for value in stored)
    assert secret not in audit_text


def test_a_link_expires_after_24_hours(team):
    start = utcnow()
    with_clock(team.app, lambda: start)
    link = add_user(team.client("admin"), "late@example.com")
    with_clock(team.app, lambda: start + timedelta(hours=24, seconds=1))
    assert set_password(team.app.test_client(), link, "too late now").status_code == 404
    with_clock(team.app, lambda: start + timedelta(hours=23, minutes=59))
    assert set_password(team.app.test_client(), link, "just in time").status_code == 303


def test_a_reset_link_replaces_the_older_one(team):
    admin = team.client("admin")
    first = add_user(admin, "forgetful@example.com")
    user = user_row(team.app, "forgetful@example.com")
    response = post(admin, f"/admin/users/{user.id}/reset")
    assert response.status_code == 200
    second = re.search(r'id="set-password-link" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    assert set_password(team.app.test_client(), first, "the first link").status_code == 404
    assert set_password(team.app.test_client(), second, "the second link").status_code == 303
    [reset] = audit_rows(team.app, "user.reset")
    assert (reset.actor, reset.target) == ("user:ops@example.com", "user:forgetful@example.com")


def test_the_last_admin_can_be_neither_demoted_nor_disabled(team):
    admin = team.client("admin")
    me = team.users["admin"]
    assert post(admin, f"/admin/users/{me.id}/role", role="viewer").status_code == 303
    assert "last admin cannot be demoted" in admin.get("/admin/users").get_data(as_text=True)
    assert post(admin, f"/admin/users/{me.id}/disable").status_code == 303
    assert user_row(team.app, me.email).role == "admin"
    assert user_row(team.app, me.email).disabled_at is None
    assert audit_rows(team.app, "user.role") == [] and audit_rows(team.app, "user.disable") == []
    # With a second admin, the first may step down.
    operator = team.users["operator"]
    assert post(admin, f"/admin/users/{operator.id}/role", role="admin").status_code == 303
    assert post(admin, f"/admin/users/{me.id}/role", role="operator").status_code == 303
    assert user_row(team.app, me.email).role == "operator"
    assert admin.get("/admin/users").status_code == 403  # the role applies on the very next request
    rows = audit_rows(team.app, "user.role")
    assert [(r.actor, r.target, r.detail) for r in rows] == [
        ("user:ops@example.com", "user:agent@example.com", '{"from": "operator", "to": "admin"}'),
        ("user:ops@example.com", "user:ops@example.com", '{"from": "admin", "to": "operator"}'),
    ]


def test_disabling_ends_sessions_and_tokens_at_once_in_every_process(team, database_url, sim):
    admin = team.client("admin")
    operator = team.users["operator"]
    assert post(admin, f"/admin/users/{operator.id}/role", role="admin").status_code == 303
    second_admin = team.client("operator")
    token_page = second_admin.post(
        "/admin/tokens", data={"csrf_token": page_token(second_admin, "/admin/tokens"), "name": "their-backend", "role": "operator"}
    )
    token = re.search(r'id="new-token" value="([^"]+)"', token_page.get_data(as_text=True)).group(1)
    # A second worker process: its own app, engine and memory, the same database.
    other_worker = create_app({**{k: team.app.config[k] for k in ("SECRET_KEY", "DATABASE_URL")}, "TESTING": True,
                               "EXOTEL_API_BASE": sim.base_url})
    try:
        worker_client = other_worker.test_client()
        worker_client.set_cookie("session", second_admin.get_cookie("session").value)
        assert worker_client.get("/admin/users").status_code == 200
        assert worker_client.get("/api/calls", headers={"Authorization": f"Bearer {token}"}).status_code == 200

        assert post(admin, f"/admin/users/{operator.id}/disable").status_code == 303
        assert second_admin.get("/calls").status_code == 302
        assert worker_client.get("/admin/users").status_code == 302
        assert worker_client.get("/api/calls", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert sign_in(team.app.test_client(), "agent@example.com", "agent password 1").status_code == 403
    finally:
        other_worker.extensions["database"].engine.dispose()
    [row] = audit_rows(team.app, "user.disable")
    assert (row.actor, row.target) == ("user:ops@example.com", "user:agent@example.com")


def test_tokens_in_the_browser_shown_once_listed_and_revoked_at_once(team, client):
    admin = team.client("admin")
    response = admin.post("/admin/tokens", data={"csrf_token": page_token(admin, "/admin/tokens"), "name": "crm", "role": "viewer"})
    assert response.status_code == 201
    token = re.search(r'id="new-token" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    listing = admin.get("/admin/tokens").get_data(as_text=True)
    assert token not in listing and 'data-token="crm"' in listing
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/calls", headers=headers).status_code == 200
    assert client.post("/api/calls", json=GOOD, headers=headers).status_code == 403
    with team.app.app_context():
        token_id = get_db().session().execute(text("SELECT id FROM api_tokens WHERE name = 'crm'")).scalar_one()
    assert admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": page_token(admin, "/admin/tokens")}).status_code == 303
    assert client.get("/api/calls", headers=headers).status_code == 401
    assert [(r.actor, r.target) for r in audit_rows(team.app) if r.action.startswith("token.") and r.target == "token:crm"] == [
        ("user:ops@example.com", "token:crm"), ("user:ops@example.com", "token:crm"),
    ]
    assert [r.action for r in audit_rows(team.app) if r.target == "token:crm"] == ["token.create", "token.revoke"]


def test_a_token_stops_at_its_expiry(team):
    from webapp.accounts import authenticate_token, create_token

    with team.app.app_context():
        db = get_db()
        token = create_token(db, "short-lived", role="viewer", expires_at=utcnow() + timedelta(days=1))
        assert authenticate_token(db, token) is not None
        assert authenticate_token(db, token, now=utcnow() + timedelta(days=1, seconds=1)) is None


def test_admin_forms_need_their_csrf_token(team):
    admin = team.client("admin")
    viewer = team.users["viewer"]
    assert admin.post(f"/admin/users/{viewer.id}/disable").status_code == 400
    assert admin.post("/admin/users", data={"email": "x@example.com", "role": "admin"}).status_code == 400
    assert admin.post("/admin/tokens", data={"name": "x", "role": "admin"}).status_code == 400
    assert user_row(team.app, viewer.email).disabled_at is None
    assert user_row(team.app, "x@example.com") is None
