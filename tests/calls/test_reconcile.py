"""`calls reconcile`: missed callbacks are settled from Exotel's Call Details API."""

from __future__ import annotations

import requests
from sqlalchemy import select

from tests.support.waiting import wait_until
from webapp.models import Call, CallEvent

GOOD = {"app_id": "4242"}


def test_reconcile_settles_calls_whose_callbacks_were_dropped(live_app, auth_headers, sim, db):
    app, live = live_app
    sim.state.configure(drop_callbacks=1.0, speed=0.002)
    numbers = ["+919876543210", "+919876543211", "+919876543212", "+919876543213", "+919876543215"]
    ids = []
    for number in numbers:
        response = requests.post(f"{live.url}/api/calls", json={**GOOD, "from": number}, headers=auth_headers, timeout=10)
        assert response.status_code == 201
        ids.append(response.json()["id"])
    # One call never reached Exotel's answer: it has no Sid and must be reported.
    sim.state.add_fault(mode="status", status=503, place=False)
    lost = requests.post(f"{live.url}/api/calls", json={**GOOD, "from": "+919876543216"}, headers=auth_headers, timeout=10)
    assert lost.status_code == 502
    assert sim.state.wait_idle(15)

    runner = app.test_cli_runner()
    result = runner.invoke(args=["calls", "reconcile", "--older-than", "0"])
    assert result.exit_code == 0, result.output
    assert "5 call(s) now final" in result.output
    assert lost.json()["call"]["id"] in result.output and "no Exotel Sid" in result.output

    truth = {c["sid"]: c for c in sim.state.calls.values()}
    with db.transaction(write=False) as session:
        calls = {c.id: c for c in session.scalars(select(Call).where(Call.id.in_(ids)))}
        events = session.scalars(select(CallEvent)).all()
    for call_id in ids:
        call = calls[call_id]
        assert call.status == truth[call.sid]["status"], call
    completed = calls[ids[0]]
    assert completed.conversation_duration == truth[completed.sid]["conversation_duration"]
    assert completed.answered_at is not None and completed.ended_at is not None
    assert sorted(e.event_type for e in events) == ["reconcile"] * 5

    # A second run asks nothing more and adds no row.
    again = runner.invoke(args=["calls", "reconcile", "--older-than", "0"])
    assert "0 new reconcile event(s)" in again.output
    with db.transaction(write=False) as session:
        assert len(session.scalars(select(CallEvent)).all()) == 5


def test_reconcile_reports_an_exotel_failure(live_app, auth_headers, sim, db):
    app, live = live_app
    sim.state.configure(drop_callbacks=1.0)
    requests.post(f"{live.url}/api/calls", json={**GOOD, "from": "+919876543210"}, headers=auth_headers, timeout=10)
    app.extensions["exotel"].base_url = "http://127.0.0.1:9"  # Exotel unreachable now
    result = app.test_cli_runner().invoke(args=["calls", "reconcile", "--older-than", "0"])
    assert result.exit_code != 0, result.output
    assert "Call Details API failed" in result.output


def test_reconcile_skips_recent_calls(live_app, auth_headers, sim):
    app, live = live_app
    sim.state.configure(drop_callbacks=1.0)
    requests.post(f"{live.url}/api/calls", json={**GOOD, "from": "+919876543210"}, headers=auth_headers, timeout=10)
    # The call has ended at Exotel and its callbacks are lost: only its age keeps it out.
    assert wait_until(lambda: len(sim.state.dropped_callbacks) == 2)
    result = app.test_cli_runner().invoke(args=["calls", "reconcile", "--older-than", "10"])
    assert "0 open call(s)" in result.output
