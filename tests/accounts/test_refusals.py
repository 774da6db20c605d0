"""Refused actions are audited: 403s, the last-admin refusal, unknown tokens (one row per address a minute)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

from test_roles import GOOD

from tests.support.signin import page_token
from tests.support.teams import audit_rows
from webapp.accounts.unknown_tokens import UnknownTokens

SPRAYER = {"REMOTE_ADDR": "203.0.113.9"}
OTHER = {"REMOTE_ADDR": "198.51.100.4"}


def _details(rows) -> list[tuple]:
    return [(row.actor, row.target, row.ip, json.loads(row.detail)) for row in rows]


def test_a_403_on_an_admin_route_is_audited_with_who_and_what(team):
    viewer, operator = team.client("viewer"), team.client("operator")
    assert viewer.get("/admin/users").status_code == 403
    target = team.users["admin"].id
    refused = operator.post(f"/admin/users/{target}/role", data={"csrf_token": page_token(operator, "/calls/new"), "role": "viewer"})
    assert refused.status_code == 403
    assert _details(audit_rows(team.app, "access.refused")) == [
        ("user:reader@example.com", "/admin/users", "127.0.0.1", {"method": "GET", "needed": "admin", "role": "viewer"}),
        ("user:agent@example.com", "/admin/users/<int:user_id>/role", "127.0.0.1",
         {"method": "POST", "needed": "admin", "role": "operator"}),
    ]
    assert audit_rows(team.app, "user.role") == []


def test_a_write_refused_to_a_viewer_is_audited(team, client):
    assert client.post("/api/calls", json=GOOD, headers=team.bearer("viewer")).status_code == 403
    viewer = team.client("viewer")
    assert viewer.get("/calls/new").status_code == 403
    assert _details(audit_rows(team.app, "access.refused")) == [
        ("token:viewer-token", "/api/calls", "127.0.0.1", {"method": "POST", "needed": "place", "role": "viewer"}),
        ("user:reader@example.com", "/calls/new", "127.0.0.1", {"method": "GET", "needed": "place", "role": "viewer"}),
    ]


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": page_token(client, "/admin/users"), **data})


def test_the_last_admin_refusal_is_audited(team):
    admin = team.client("admin")
    me = team.users["admin"]
    assert _post(admin, f"/admin/users/{me.id}/role", role="operator").status_code == 303
    assert _post(admin, f"/admin/users/{me.id}/disable").status_code == 303
    assert "last admin cannot be disabled" in admin.get("/admin/users").get_data(as_text=True)
    assert _details(audit_rows(team.app, "user.role_refused")) == [
        ("user:ops@example.com", "user:ops@example.com", "127.0.0.1", {"reason": "last_admin", "from": "admin", "to": "operator"}),
    ]
    assert _details(audit_rows(team.app, "user.disable_refused")) == [
        ("user:ops@example.com", "user:ops@example.com", "127.0.0.1", {"reason": "last_admin"}),
    ]
    assert audit_rows(team.app, "user.role") == [] and audit_rows(team.app, "user.disable") == []


class Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


def test_unknown_tokens_write_one_row_per_address_a_minute_with_their_count(team, client):
    clock = Clock()
    team.app.extensions["unknown_tokens"] = UnknownTokens(clock=clock)
    guesses = [f"exo_guess-{n:03d}-secret" for n in range(50)]
    for guess in guesses:
        answer = client.get("/api/calls", headers={"Authorization": f"Bearer {guess}"}, environ_base=SPRAYER)
        assert answer.status_code == 401
    for guess in guesses[:3]:
        assert client.post("/api/calls", json=GOOD, headers={"Authorization": f"Bearer {guess}"}, environ_base=OTHER).status_code == 401
    rows = audit_rows(team.app, "token.unknown")
    assert [(row.actor, row.target, row.ip, json.loads(row.detail)["count"]) for row in rows] == [
        ("system", None, "203.0.113.9", 1), ("system", None, "198.51.100.4", 1),
    ]

    clock.seconds += 61  # the minute is over: the next API request of any kind writes what was held back
    assert client.get("/api/calls", headers=team.bearer("viewer")).status_code == 200
    rows = audit_rows(team.app, "token.unknown")
    assert [(row.ip, json.loads(row.detail)["count"]) for row in rows[2:]] == [("203.0.113.9", 49), ("198.51.100.4", 2)]
    detail = json.loads(rows[2].detail)
    assert datetime.fromisoformat(detail["first_at"]) <= datetime.fromisoformat(detail["last_at"]) <= datetime.now(UTC)

    # Still one row a minute: the sprayer's next guesses wait for the minute after the row just written.
    for guess in guesses[:10]:
        client.get("/api/calls", headers={"Authorization": f"Bearer {guess}"}, environ_base=SPRAYER)
    assert len(audit_rows(team.app, "token.unknown")) == 4
    clock.seconds += 61
    client.get("/api/calls", headers={"Authorization": f"Bearer {guesses[0]}"}, environ_base=SPRAYER)
    assert [(row.ip, json.loads(row.detail)["count"]) for row in audit_rows(team.app, "token.unknown")[4:]] == [("203.0.113.9", 10)]
    clock.seconds += 61
    assert client.get("/api/calls", headers=team.bearer("viewer")).status_code == 200
    rows = audit_rows(team.app, "token.unknown")
    assert [(row.ip, json.loads(row.detail)["count"]) for row in rows[4:]] == [("203.0.113.9", 10), ("203.0.113.9", 1)]
    assert sum(json.loads(row.detail)["count"] for row in rows) == 50 + 3 + 10 + 1  # every refused request, counted once

    dump = " ".join(f"{row.actor} {row.target} {row.detail}" for row in audit_rows(team.app))
    assert not any(guess in dump for guess in guesses)
    assert "exo_" not in dump


def test_a_request_without_a_token_is_not_an_unknown_token(team, client):
    assert client.get("/api/calls").status_code == 401
    assert client.get("/api/calls", headers={"Authorization": "Bearer "}).status_code == 401
    assert audit_rows(team.app, "token.unknown") == []


def test_a_revoked_token_counts_as_unknown(team, client):
    from webapp.accounts import Actor, revoke_token
    from webapp.db import get_db
    from webapp.models import ApiToken

    with team.app.app_context():
        db = get_db()
        token_id = db.session().query(ApiToken).filter_by(name="operator-token").one().id
        revoke_token(db, token_id, Actor("user:ops@example.com"))
    assert client.get("/api/calls", headers=team.bearer("operator")).status_code == 401
    [row] = audit_rows(team.app, "token.unknown")
    assert json.loads(row.detail)["count"] == 1


def test_past_the_address_limit_the_others_share_one_row():
    """A spray from many addresses writes at most max_addresses + 1 rows a minute."""
    clock = Clock()
    tally = UnknownTokens(max_addresses=2, clock=clock)
    at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    written = []
    for n in range(100):
        written += tally.refused(f"10.0.{n // 250}.{n % 250}", at + timedelta(seconds=n / 10))
    assert [(row.address, row.count) for row in written] == [("10.0.0.0", 1), ("10.0.0.1", 1), (None, 1)]
    assert tally.due() == []
    clock.seconds += 60
    late = tally.due()
    assert [(row.address, row.count) for row in late] == [(None, 97)]
    assert (late[0].first_at, late[0].last_at) == (at + timedelta(seconds=0.3), at + timedelta(seconds=9.9))
    clock.seconds += 60
    assert tally.due() == []  # nothing held: the addresses are forgotten
    assert [(row.address, row.count) for row in tally.refused("10.0.0.1", at)] == [("10.0.0.1", 1)]


def _actions(html: str) -> set[str]:
    """The actions in the page's table (not in the filter's choices)."""
    return set(re.findall(r"<td>(sign_in|token\.create|user\.create|access\.refused|token\.unknown)</td>", html))


def test_the_audit_page_filters_refusals(team, client):
    client.get("/api/calls", headers={"Authorization": "Bearer exo_not-a-token"})
    team.client("viewer").get("/admin/audit")
    admin = team.client("admin")
    refused = admin.get("/admin/audit?outcome=refused")
    assert refused.status_code == 200
    assert _actions(refused.get_data(as_text=True)) == {"access.refused", "token.unknown"}
    assert '<option value="refused" selected>' in refused.get_data(as_text=True)
    assert _actions(admin.get("/admin/audit?outcome=done").get_data(as_text=True)) == {"sign_in", "token.create", "user.create"}
    assert _actions(admin.get("/admin/audit").get_data(as_text=True)) == {
        "sign_in", "token.create", "user.create", "access.refused", "token.unknown",
    }
    rows = list(csv.DictReader(io.StringIO(admin.get("/admin/audit.csv?outcome=refused").get_data(as_text=True))))
    assert sorted(row["action"] for row in rows) == ["access.refused", "token.unknown"]
    assert admin.get("/admin/audit?outcome=maybe").status_code == 400
