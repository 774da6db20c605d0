"""Early checks: calls past their expected end are asked about in bulk at +2 and +5 minutes, never more,
one worker at a time, and settled as reconciliation settles them (callbacks dropped, the simulator over HTTP)."""

from __future__ import annotations

import threading
from datetime import timedelta

import requests
from sqlalchemy import select

from webapp.calls.early_checks import run_early_checks
from webapp.calls.overdue import GRACE, overdue_since
from webapp.exotel_access import exotel_client
from webapp.models import Call, CallEvent

GOOD = {"app_id": "4242"}
ZONE = "Asia/Kolkata"


def _place(live, headers, number: str, **extra) -> str:
    response = requests.post(f"{live.url}/api/calls", json={**GOOD, "from": number, **extra}, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _calls(db, ids) -> dict[str, Call]:
    with db.transaction(write=False) as session:
        return {call.id: call for call in session.scalars(select(Call).where(Call.id.in_(ids)))}


def _check(app, db, now):
    from zoneinfo import ZoneInfo

    return run_early_checks(db, exotel_client(app), tz=ZoneInfo(ZONE), now=now)


def _asked(sim, sid: str) -> int:
    return sum(sid in sids for sids in sim.state.detail_requests)


def test_overdue_calls_are_asked_in_one_request_two_minutes_after_and_settled(live_app, auth_headers, sim, db):
    app, live = live_app
    sim.state.configure(drop_callbacks=1.0)
    ids = [_place(live, auth_headers, f"+91987654321{digit}", time_out=30) for digit in (0, 1, 2, 3)]
    assert sim.state.wait_idle(15)
    calls = _calls(db, ids)
    assert {call.status for call in calls.values()} == {"in-progress"}  # every callback was lost
    due = max(overdue_since(call) for call in calls.values())
    assert due == max(call.placed_at for call in calls.values()) + timedelta(seconds=30) + GRACE

    # Before the first check's time nothing is asked, however often the worker looks.
    for now in (due - timedelta(minutes=1), due + timedelta(minutes=1, seconds=55)):
        report = _check(app, db, now)
        assert report.asked == 0 and sim.state.detail_requests == []

    report = _check(app, db, due + timedelta(minutes=2, seconds=1))
    assert report.asked == 4 and sorted(report.settled) == sorted(ids)
    assert len(sim.state.detail_requests) == 1  # in bulk: one Call Details request for all four
    truth = {c["sid"]: c["status"] for c in sim.state.calls.values()}
    calls = _calls(db, ids)
    assert {call.sid: call.status for call in calls.values()} == truth
    assert {call.checks for call in calls.values()} == {1}
    with db.transaction(write=False) as session:
        events = session.execute(select(CallEvent.call_id, CallEvent.event_type)).all()
    assert sorted(events) == sorted((call_id, "reconcile") for call_id in ids)

    # Final calls are never asked about again.
    assert _check(app, db, due + timedelta(minutes=6)).asked == 0 and len(sim.state.detail_requests) == 1


def test_a_call_exotel_does_not_list_is_asked_twice_and_never_more(live_app, auth_headers, sim, db):
    app, live = live_app
    sim.state.configure(drop_callbacks=1.0)
    call_id = _place(live, auth_headers, "+919876543210", time_out=20)
    assert sim.state.wait_idle(15)
    # A Sid Exotel does not list (as for a call still in progress there): every ask leaves the call open.
    with db.transaction() as session:
        session.get(Call, call_id).sid = "not-listed-sid"
    since = overdue_since(_calls(db, [call_id])[call_id])

    asks = []
    for minutes in (1, 2, 2.5, 3, 4, 4.9, 5, 5.5, 6, 9, 15, 60):
        report = _check(app, db, since + timedelta(minutes=minutes))
        asks.append((minutes, report.asked))
    assert [minutes for minutes, asked in asks if asked] == [2, 5]
    assert _asked(sim, "not-listed-sid") == 2
    call = _calls(db, [call_id])[call_id]
    assert call.status == "in-progress" and call.checks == 2
    assert call.checked_at == since + timedelta(minutes=5)


def test_an_answered_call_is_due_after_its_time_limit(live_app, auth_headers, sim, db):
    app, live = live_app
    sim.state.configure(drop_callbacks=1.0)
    call_id = _place(live, auth_headers, "+919876543210", time_limit=600, time_out=30)
    assert sim.state.wait_idle(15)
    answered = _calls(db, [call_id])[call_id].placed_at + timedelta(seconds=5)
    with db.transaction() as session:  # the answered callback arrived, the terminal one was lost
        session.get(Call, call_id).answered_at = answered
    # Past its ring timeout but talking: not due until its TimeLimit has run out too.
    assert _check(app, db, answered + timedelta(minutes=9)).asked == 0
    assert _check(app, db, answered + timedelta(minutes=10) + GRACE + timedelta(minutes=2)).asked == 1
    assert _calls(db, [call_id])[call_id].status == "completed"


def test_two_workers_at_the_same_minute_ask_about_each_call_once(live_app, auth_headers, sim, db):
    app, live = live_app
    sim.state.configure(drop_callbacks=1.0)
    ids = [_place(live, auth_headers, f"+91987654{index:03d}0", time_out=30) for index in range(6)]
    assert sim.state.wait_idle(15)
    with db.transaction() as session:  # none of them listed: only the claims stop a second ask
        for index, call_id in enumerate(ids):
            session.get(Call, call_id).sid = f"open-{index}"
    now = max(overdue_since(call) for call in _calls(db, ids).values()) + timedelta(minutes=2)
    start = threading.Barrier(3)
    reports = []

    def worker() -> None:
        with app.app_context():
            start.wait()
            reports.append(_check(app, db, now))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(report.asked for report in reports) == 6
    assert all(_asked(sim, f"open-{index}") == 1 for index in range(6))
    assert {call.checks for call in _calls(db, ids).values()} == {1}
