"""`POST /api/calls/<id>/check`: Ask Exotel now for scripts, with the page's rules (one request, audited,
throttled per call, refused for final calls and viewers' tokens)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.support.calls import add_call
from tests.support.teams import audit_rows
from webapp.accounts import create_token
from webapp.config.tuning import with_clock
from webapp.db import get_db

FLOW = "http://my.exotel.com/testaccount/exoml/start_voice/4242"


def _open_call(app, sim, placed_ago: timedelta) -> tuple[str, str]:
    sid = sim.state.place_call(from_number="09876543210", caller_id="08047112345", flow_url=FLOW).sid
    placed = datetime.now(UTC) - placed_ago
    call = add_call(app, id=str(uuid.uuid4()), sid=sid, status="in-progress", placed_at=placed, created_at=placed,
                    time_out=30)
    return call.id, sid


def test_a_script_asks_exotel_about_a_call_whose_callbacks_were_lost(app, client, auth_headers, sim):
    call_id, sid = _open_call(app, sim, timedelta(minutes=3))
    assert sim.state.wait_idle(10)
    response = client.post(f"/api/calls/{call_id}/check", headers=auth_headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["answer"] == "final" and body["exotel_status"] == "completed"
    assert body["call"]["status"] == "completed" and [e["event_type"] for e in body["call"]["events"]] == ["reconcile"]
    assert sim.state.detail_requests == [(sid,)]
    assert [(row.actor, row.target) for row in audit_rows(app, "call.check")] == [("token:tests", call_id)]
    again = client.post(f"/api/calls/{call_id}/check", headers=auth_headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "final"
    assert client.post("/api/calls/no-such-call/check", headers=auth_headers).status_code == 404
    assert len(sim.state.detail_requests) == 1


def test_a_second_ask_within_30_seconds_is_refused_before_anything_leaves(app, client, auth_headers, sim):
    sim.state.configure(speed=1.0)  # still ringing at Exotel
    call_id, sid = _open_call(app, sim, timedelta(seconds=2))
    now = datetime.now(UTC)
    with_clock(app, lambda: now)
    first = client.post(f"/api/calls/{call_id}/check", headers=auth_headers)
    assert first.status_code == 200 and first.get_json()["answer"] == "open"
    assert first.get_json()["call"]["status"] == "in-progress"
    second = client.post(f"/api/calls/{call_id}/check", headers=auth_headers)
    assert second.status_code == 429 and second.headers["Retry-After"] == "30"
    assert second.get_json()["error"]["code"] == "throttled"
    assert sim.state.detail_requests == [(sid,)] and len(audit_rows(app, "call.check")) == 1


def test_a_viewers_token_may_not_ask(app, client, sim):
    call_id, _sid = _open_call(app, sim, timedelta(minutes=3))
    with app.app_context():
        token = create_token(get_db(), "reader", role="viewer")
    response = client.post(f"/api/calls/{call_id}/check", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert sim.state.detail_requests == [] and audit_rows(app, "call.check") == []
