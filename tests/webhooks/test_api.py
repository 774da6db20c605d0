"""The webhook endpoints' API: admins only, the secret shown once, every change audited, replay by id or range
(rate-limited, same webhook-id), bad input refused with a 4xx and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support.webhooks import admin_headers, pump, register
from webapp.accounts import create_token
from webapp.db import get_db, utcnow
from webapp.models import AuditEntry
from webapp.webhooks import record_event
from webapp.webhooks.endpoints import REPLAYS_PER_MINUTE
from webapp.webhooks.models import WebhookEndpoint


@pytest.fixture
def admin(hook_app):
    return admin_headers(hook_app)


def _audit(app) -> list[tuple[str, str]]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return [(a.action, a.target) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("webhook.%")).order_by(AuditEntry.id))]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_an_admins_token_manages_webhooks(hook_app, role):
    client = hook_app.test_client()
    with hook_app.app_context():
        headers = {"Authorization": f"Bearer {create_token(get_db(), f'not-admin-{role}', role=role)}"}
    for method, path in (("get", "/api/webhooks"), ("post", "/api/webhooks"), ("get", "/api/webhooks/1"),
                         ("patch", "/api/webhooks/1"), ("delete", "/api/webhooks/1"), ("post", "/api/webhooks/1/rotate"),
                         ("post", "/api/webhooks/1/replay")):
        response = getattr(client, method)(path, json={"url": "http://127.0.0.1/x", "events": ["call.completed"]}, headers=headers)
        assert response.status_code == 403, (method, path)
    assert client.get("/api/webhooks").status_code == 401
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_the_secret_is_shown_once_and_changes_are_audited(hook_app, admin, receiver):
    client = hook_app.test_client()
    created = register(client, admin, f"{receiver.url}/catch/tok-in-path?token=tok-in-query",
                       ["call.completed", "call.answered", "call.completed"])
    assert created["secret"].startswith("whsec_") and created["events"] == ["call.answered", "call.completed"]
    endpoint_id = created["id"]
    listed = client.get("/api/webhooks", headers=admin).get_json()["webhooks"]
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    shown = client.get(f"/api/webhooks/{endpoint_id}", headers=admin).get_json()
    assert "secret" not in shown and shown["deliveries"] == []
    changed = client.patch(f"/api/webhooks/{endpoint_id}", json={"enabled": False, "description": "CRM",
                                                                  "url": f"{receiver.url}/catch/tok-new"}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["enabled"] is False and changed.get_json()["description"] == "CRM"
    assert client.post(f"/api/webhooks/{endpoint_id}/rotate", headers=admin).status_code == 200
    assert client.delete(f"/api/webhooks/{endpoint_id}", headers=admin).status_code == 204
    assert client.get(f"/api/webhooks/{endpoint_id}", headers=admin).status_code == 404
    target = f"webhook:{endpoint_id}"
    assert _audit(hook_app) == [("webhook.create", target), ("webhook.update", target), ("webhook.rotate", target),
                                ("webhook.delete", target)]
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        details = " ".join(a.detail or "" for a in session.scalars(select(AuditEntry)))
    assert created["secret"] not in details
    # The receiver's host, never the path or query where receivers keep their own tokens.
    assert receiver.url.split("/")[2] in details and "tok-" not in details


@pytest.mark.parametrize("body, status, field", [
    (None, 400, None),
    ([], 400, None),
    ({"url": "http://127.0.0.1/x"}, 422, "events"),
    ({"url": "http://127.0.0.1/x", "events": []}, 422, "events"),
    ({"url": "http://127.0.0.1/x", "events": ["call.ringing"]}, 422, "events"),
    ({"url": "ftp://127.0.0.1/x", "events": ["call.completed"]}, 422, "url"),
    ({"url": "http://user:pw@127.0.0.1/x", "events": ["call.completed"]}, 422, "url"),
    ({"url": "http://[::1/x", "events": ["call.completed"]}, 422, "url"),
    ({"url": 42, "events": ["call.completed"]}, 422, "url"),
    ({"url": "http://127.0.0.1/x", "events": ["call.completed"], "description": "d" * 501}, 422, "description"),
    ({"url": "http://127.0.0.1/x", "events": ["call.completed"], "enabled": False}, 422, "enabled"),
])
def test_bad_input_is_refused_and_nothing_is_written(hook_app, admin, body, status, field):
    client = hook_app.test_client()
    response = client.post("/api/webhooks", data=b"not json" if body is None else None, json=body if body is not None else None,
                           headers={**admin, "Content-Type": "application/json"})
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"].get("field") == field
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_replay_resends_under_the_same_id_and_is_rate_limited(hook_app, admin, receiver):
    client = hook_app.test_client()
    endpoint = register(client, admin, receiver.url, ["alert.firing"])
    receiver.secrets = [endpoint["secret"]]
    with hook_app.app_context(), get_db().transaction() as session:
        for n in range(3):
            record_event(session, "alert.firing", {"n": n}, dedupe_key=f"alert.firing:{n}", now=utcnow())
    pump(hook_app)
    first = {r.event["data"]["n"]: r.webhook_id for r in receiver.delivered()}
    assert sorted(first) == [0, 1, 2]
    shown = client.get(f"/api/webhooks/{endpoint['id']}", headers=admin).get_json()
    one = next(d["event_id"] for d in shown["deliveries"] if d["webhook_id"] == first[1])

    replayed = client.post(f"/api/webhooks/{endpoint['id']}/replay", json={"event_ids": [one]}, headers=admin)
    assert replayed.status_code == 202 and replayed.get_json() == {"queued": 1}
    pump(hook_app)
    assert [(r.event["data"]["n"], r.webhook_id) for r in receiver.delivered()[3:]] == [(1, first[1])]

    since, until = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"
    ranged = client.post(f"/api/webhooks/{endpoint['id']}/replay", json={"since": since, "until": until}, headers=admin)
    assert ranged.get_json() == {"queued": 3}
    pump(hook_app)
    assert sorted(r.webhook_id for r in receiver.delivered()[4:]) == sorted(first.values())

    for _ in range(REPLAYS_PER_MINUTE - 2):
        assert client.post(f"/api/webhooks/{endpoint['id']}/replay", json={"event_ids": [one]}, headers=admin).status_code == 202
    limited = client.post(f"/api/webhooks/{endpoint['id']}/replay", json={"event_ids": [one]}, headers=admin)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    assert _audit(hook_app).count(("webhook.replay", f"webhook:{endpoint['id']}")) == REPLAYS_PER_MINUTE


@pytest.mark.parametrize("body", [{}, {"since": "yesterday", "until": "2100-01-01T00:00:00Z"},
                                  {"since": "2100-01-01T00:00:00Z", "until": "2000-01-01T00:00:00Z"},
                                  {"since": "2000-01-01T00:00:00", "until": "2100-01-01T00:00:00Z"},
                                  {"event_ids": []}, {"event_ids": ["1"]}, {"event_ids": [True]}])
def test_bad_replays_are_refused(hook_app, admin, receiver, body):
    endpoint = register(hook_app.test_client(), admin, receiver.url)
    response = hook_app.test_client().post(f"/api/webhooks/{endpoint['id']}/replay", json=body, headers=admin)
    assert response.status_code == 422
    assert _audit(hook_app) == [("webhook.create", f"webhook:{endpoint['id']}")]
