"""The audit log: one row per action with the right actor, a refusal row for a refused one, no secret, append-only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from test_roles import GOOD, place_in_browser

from tests.support.csvfiles import csv_download
from tests.support.signin import page_token, sign_in
from tests.support.teams import audit_rows
from webapp.accounts import Actor
from webapp.accounts.audit import record
from webapp.db import get_db, utcnow


def newest_first(app) -> list[int]:
    return [row.id for row in sorted(audit_rows(app), key=lambda row: (row.at, row.id), reverse=True)]


def story(app) -> list[tuple[str, str, str | None]]:
    return [(row.actor, row.action, row.target) for row in audit_rows(app)]


def test_sign_in_failures_and_sign_out_write_one_row_each(app, client, user):
    assert sign_in(client, password="not the password").status_code == 401
    assert sign_in(client, email="typo-password-here@example.com").status_code == 401
    assert sign_in(client).status_code == 302
    client.post("/logout", data={"csrf_token": page_token(client, "/calls")})
    assert story(app) == [
        ("system", "user.create", "user:ops@example.com"),
        ("user:ops@example.com", "sign_in_failed", "user:ops@example.com"),
        ("system", "sign_in_failed", None),  # an unknown email is not written down: it may be a password
        ("user:ops@example.com", "sign_in", "user:ops@example.com"),
        ("user:ops@example.com", "sign_out", "user:ops@example.com"),
    ]
    assert all(row.ip == "127.0.0.1" for row in audit_rows(app)[1:])
    assert "typo-password-here" not in " ".join(str(row.detail) for row in audit_rows(app))


def test_the_whole_story_reads_in_order_and_holds_no_secret(team, client):
    admin = team.client("admin")
    response = admin.post("/admin/users", data={"csrf_token": page_token(admin, "/admin/users"), "email": "new@example.com", "role": "viewer"})
    link = re.search(r'id="set-password-link" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    created = admin.post("/admin/tokens", data={"csrf_token": page_token(admin, "/admin/tokens"), "name": "crm", "role": "operator"})
    token = re.search(r'id="new-token" value="([^"]+)"', created.get_data(as_text=True)).group(1)
    placed = client.post("/api/calls", json=GOOD, headers={"Authorization": f"Bearer {token}"})
    assert placed.status_code == 201
    operator = team.client("operator")
    assert place_in_browser(operator).status_code == 303
    password = operator.post("/password", data={
        "csrf_token": page_token(operator, "/password"), "current": "agent password 1",
        "password": "agent password 2", "confirm": "agent password 2",
    })
    assert password.status_code == 303
    calls = [row.target for row in audit_rows(team.app, "call.place")]
    assert story(team.app)[-8:] == [
        ("user:ops@example.com", "sign_in", "user:ops@example.com"),
        ("user:ops@example.com", "user.create", "user:new@example.com"),
        ("user:ops@example.com", "token.create", "token:crm"),
        ("token:crm", "call.place", placed.json["id"]),
        ("user:agent@example.com", "sign_in", "user:agent@example.com"),
        ("user:agent@example.com", "call.place", calls[1]),
        ("user:agent@example.com", "user.password", "user:agent@example.com"),
        ("user:agent@example.com", "sign_in", "user:agent@example.com"),  # this browser, signed in anew
    ]
    secrets = [token, link.rsplit("/", 1)[1], link.rsplit(".", 1)[1], "agent password 1", "agent password 2",
               "reader password 1", team.tokens["viewer"], "test-secret-key-not-for-production"]
    with team.app.app_context():
        dump = " ".join(str(row) for row in get_db().session().execute(text("SELECT * FROM audit_log")).all())
    for secret in secrets:
        assert secret not in dump


def test_audit_rows_cannot_be_changed_or_deleted(app, user):
    with app.app_context():
        db = get_db()
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                with db.transaction() as session:
                    session.execute(text(statement))
    assert [row.actor for row in audit_rows(app)] == ["system"]


def test_a_refused_action_writes_only_its_refusal(team, client):
    """Nothing of the action itself is written; a refusal row says who was refused, and bad input is no refusal."""
    before = story(team.app)
    assert client.post("/api/calls", json=GOOD, headers=team.bearer("viewer")).status_code == 403
    assert client.post("/api/calls", json={"from": "bad"}, headers=team.bearer("operator")).status_code in (400, 422)
    admin = team.client("admin")
    token = page_token(admin, "/admin/users")
    admin.post(f"/admin/users/{team.users['admin'].id}/role", data={"csrf_token": token, "role": "viewer"})
    admin.post("/admin/users", data={"csrf_token": token, "email": "ops@example.com", "role": "viewer"})  # exists already
    after = story(team.app)
    assert after[len(before):] == [
        ("token:viewer-token", "access.refused", "/api/calls"),
        ("user:ops@example.com", "sign_in", "user:ops@example.com"),
        ("user:ops@example.com", "user.role_refused", "user:ops@example.com"),
    ]


def _seed(app, count: int):
    start = utcnow() - timedelta(days=3)
    with app.app_context(), get_db().transaction() as session:
        for n in range(count):
            actor = Actor("user:ops@example.com" if n % 2 else "token:crm", "10.0.0.1")
            record(session, actor, "call.place", f"call-{n:03d}", at=start + timedelta(minutes=n))
    return start


def test_the_audit_page_filters_newest_first_a_page_at_a_time(team):
    start = _seed(team.app, 120)
    admin = team.client("admin")
    page = admin.get("/admin/audit?action=call.place").get_data(as_text=True)
    targets = re.findall(r">(call-\d{3})<", page)
    assert targets == [f"call-{n:03d}" for n in range(119, 69, -1)]
    second = admin.get("/admin/audit?action=call.place&page=2").get_data(as_text=True)
    assert re.findall(r">(call-\d{3})<", second)[0] == "call-069"
    by_token = admin.get("/admin/audit?actor=token:crm&action=call.place").get_data(as_text=True)
    assert "call-119" not in by_token and "call-118" in by_token
    day = (start + timedelta(days=10)).date().isoformat()
    assert re.findall(r">(call-\d{3})<", admin.get(f"/admin/audit?since={day}").get_data(as_text=True)) == []
    assert admin.get("/admin/audit?since=yesterday").status_code == 400


def test_the_audit_csv_has_every_matching_row(team):
    _seed(team.app, 70)
    admin = team.client("admin")
    rows = csv_download(admin.get("/admin/audit.csv?actor=token:crm"))
    assert len(rows) == 35 and {row["actor"] for row in rows} == {"token:crm"}
    assert rows[0]["target"] == "call-068" and rows[0]["ip"] == "10.0.0.1"
    assert list(rows[0]) == ["id", "at", "actor", "action", "target", "ip", "detail"]
    everything = csv_download(admin.get("/admin/audit.csv"))
    assert [int(row["id"]) for row in everything] == newest_first(team.app)


def test_the_csv_reads_in_batches_without_losing_or_repeating_a_row(team):
    from webapp.accounts.audit import AuditFilters, iter_entries

    _seed(team.app, 30)
    with team.app.app_context():
        ids = [entry.id for entry in iter_entries(get_db(), AuditFilters(), batch=7)]
    assert ids == newest_first(team.app)
