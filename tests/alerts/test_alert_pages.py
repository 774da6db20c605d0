"""The alerts in the API and the UI: the contract's JSON, the banner on every page while one fires, the alerts
page and one alert's page with the calls behind it, and an admin's acknowledgement (audited; others refused)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.support.calls import add_call
from tests.support.signin import csrf_token, sign_in
from webapp.accounts import create_token, create_user
from webapp.alerts import Alert
from webapp.db import get_db
from webapp.models import AuditEntry

STARTED = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _alerts(app):
    call = add_call(app, id="0b7d7b8e-0000-4000-8000-000000000001", sid="sid-1", status="in-progress")
    with app.app_context(), get_db().transaction() as session:
        firing = Alert(rule="callbacks_missing", state="firing", severity="critical",
                       summary="3 calls Exotel accepted in the last hour got no status callback",
                       detail=json.dumps({"calls": 3, "call_ids": [call.id]}), started_at=STARTED, last_held_at=STARTED,
                       notify_attempts=0)
        old = Alert(rule="budget_saturated", state="resolved", severity="warning", summary="Requests waited",
                    started_at=STARTED - timedelta(days=1), resolved_at=STARTED - timedelta(hours=20),
                    last_held_at=STARTED - timedelta(hours=21), notify_attempts=0)
        session.add_all([firing, old])
        session.flush()
        return firing.id, old.id, call.id


def test_the_api_lists_alerts_in_the_contracts_shape(app, client, auth_headers):
    firing_id, old_id, _call = _alerts(app)
    everything = client.get("/api/alerts", headers=auth_headers)
    assert everything.status_code == 200
    assert [a["id"] for a in everything.get_json()["alerts"]] == [firing_id, old_id]
    firing = client.get("/api/alerts?state=firing", headers=auth_headers).get_json()["alerts"]
    assert firing == [{"id": firing_id, "rule": "callbacks_missing", "state": "firing", "severity": "critical",
                       "summary": "3 calls Exotel accepted in the last hour got no status callback",
                       "started_at": STARTED.isoformat(), "resolved_at": None, "acknowledged_by": None}]
    resolved = client.get("/api/alerts?state=resolved", headers=auth_headers).get_json()["alerts"]
    assert [a["rule"] for a in resolved] == ["budget_saturated"] and resolved[0]["resolved_at"]
    refused = client.get("/api/alerts?state=sometimes", headers=auth_headers)
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "state"
    assert client.get("/api/alerts").status_code == 401


def test_a_banner_shows_on_every_page_while_an_alert_fires(app, client, user):
    sign_in(client)
    assert "alert-banner" not in client.get("/calls").get_data(as_text=True)
    firing_id, _old, _call = _alerts(app)
    for path in ("/", "/calls", "/campaigns", "/reports", "/alerts"):
        page = client.get(path).get_data(as_text=True)
        assert "1 alert firing" in page and f'href="/alerts/{firing_id}"' in page, path


def test_the_alerts_page_shows_what_fires_and_the_history(app, client, user):
    firing_id, old_id, call_id = _alerts(app)
    sign_in(client)
    page = client.get("/alerts").get_data(as_text=True)
    assert page.index("Firing now") < page.index(f'data-alert="{firing_id}"') < page.index("History") \
        < page.index(f'data-alert="{old_id}"')
    one = client.get(f"/alerts/{firing_id}").get_data(as_text=True)
    assert "got no status callback" in one and f"/calls/{call_id}" in one and "Acknowledge" in one
    assert client.get("/alerts/999999").status_code == 404


def test_an_admin_acknowledges_audited_and_others_are_refused(app, client, user):
    firing_id, _old, _call = _alerts(app)
    with app.app_context():
        create_user(get_db(), "op@example.com", "correct horse battery", role="operator")
    operator = app.test_client()
    sign_in(operator, "op@example.com", "correct horse battery")
    page = operator.get(f"/alerts/{firing_id}").get_data(as_text=True)
    assert "Acknowledge</button>" not in page
    assert operator.post(f"/alerts/{firing_id}/acknowledge", data={"csrf_token": csrf_token(page)}).status_code == 403

    sign_in(client)
    token = csrf_token(client.get(f"/alerts/{firing_id}").get_data(as_text=True))
    assert client.post(f"/alerts/{firing_id}/acknowledge", data={}).status_code == 400  # no CSRF token
    answer = client.post(f"/alerts/{firing_id}/acknowledge", data={"csrf_token": token})
    assert answer.status_code == 303
    assert "acknowledged by user:ops@example.com" in client.get(answer.headers["Location"]).get_data(as_text=True)
    with app.app_context(), get_db().transaction(write=False) as session:
        alert = session.get(Alert, firing_id)
        assert alert.acknowledged_by == "user:ops@example.com" and alert.acknowledged_at is not None
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.acknowledge")).all()
        assert [(r.actor, r.target) for r in rows] == [("user:ops@example.com", f"alert:{firing_id}")]
    with app.app_context():
        viewer_token = create_token(get_db(), "reader", role="viewer")
    assert client.get("/api/alerts", headers={"Authorization": f"Bearer {viewer_token}"}).status_code == 200
