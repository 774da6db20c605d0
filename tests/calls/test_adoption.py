"""Calls without a Sid find their Exotel call by From number, ExoPhone and creation time (or are settled)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.workers import CALLER_ID, number
from webapp.calls.reconcile import reconcile
from webapp.db import utcnow
from webapp.exotel_access import exotel_client
from webapp.models import Call, CallEvent

FLOW = "http://my.exotel.com/testaccount/exoml/start_voice/7"


def _lost_call(db, from_number: str) -> str:
    """A call whose connect answer was lost: `unknown`, no Sid."""
    with db.transaction() as session:
        call = Call(from_number=from_number, caller_id=CALLER_ID, flow_url=FLOW, status="unknown",
                    error_code="504", error_message="Exotel gave no answer within 30 s", created_at=utcnow())
        session.add(call)
    return call.id


def _at_exotel(sim, from_number: str, caller_id: str = CALLER_ID):
    return sim.state.place_call(from_number="0" + from_number[3:], caller_id=caller_id, flow_url=FLOW)


def _run(app, db, *, now=None):
    with app.app_context():
        return reconcile(db, exotel_client(), older_than_minutes=0, tz=app.extensions["settings"].tz,
                         now=now or utcnow() + timedelta(seconds=1))


@pytest.fixture
def lost(db):
    return _lost_call(db, number(1))


def test_exactly_one_match_adopts_its_sid_and_status(app, db, sim, lost):
    at_exotel = _at_exotel(sim, number(1))
    _at_exotel(sim, number(2))  # another customer
    _at_exotel(sim, number(1), caller_id="08000000000")  # the same customer through another ExoPhone
    assert sim.state.wait_idle(10)
    report = _run(app, db)
    assert report.adopted == [lost]
    with db.transaction(write=False) as session:
        call = session.get(Call, lost)
        events = session.query(CallEvent).filter_by(call_id=lost).all()
    assert call.sid == at_exotel.sid and call.status == sim.state.calls[at_exotel.sid]["status"] == "completed"
    assert [e.event_type for e in events] == ["reconcile"]
    # A second run finds nothing left to do and claims no other call's Sid.
    assert _run(app, db).adopted == []


def test_a_sid_another_call_already_has_is_not_adopted_twice(app, db, sim, lost):
    twin = _lost_call(db, number(1))
    _at_exotel(sim, number(1))
    assert sim.state.wait_idle(10)
    report = _run(app, db)
    assert len(report.adopted) == 1 and report.adopted[0] in (lost, twin)
    with db.transaction(write=False) as session:
        other = session.get(Call, twin if report.adopted[0] == lost else lost)
    assert other.sid is None and other.status == "unknown"


def test_none_listed_waits_then_settles_as_never_placed(app, db, sim, lost):
    report = _run(app, db, now=utcnow() + timedelta(minutes=5))
    assert report.never_placed == [] and report.without_sid == [(lost, "unknown")]
    with db.transaction(write=False) as session:
        assert session.get(Call, lost).status == "unknown"

    report = _run(app, db, now=utcnow() + timedelta(minutes=61))
    assert report.never_placed == [lost]
    with db.transaction(write=False) as session:
        call = session.get(Call, lost)
    assert call.status == "rejected" and call.sid is None
    assert call.error_code == "not_placed" and "Never placed" in call.error_message


def test_several_matches_stay_unknown_and_say_why(app, db, sim, lost):
    first, second = _at_exotel(sim, number(1)), _at_exotel(sim, number(1))
    assert sim.state.wait_idle(10)
    report = _run(app, db, now=utcnow() + timedelta(minutes=61))
    assert report.ambiguous == [lost] and report.never_placed == []
    with db.transaction(write=False) as session:
        call = session.get(Call, lost)
    assert call.status == "unknown" and call.sid is None
    assert "2 calls" in call.error_message and first.sid in call.error_message and second.sid in call.error_message


def test_the_never_placed_threshold_is_the_settings(database_url, sim):
    """RECONCILE_NEVER_PLACED_AFTER_MINUTES decides when the worker's reconciliation gives up on a sid-less call."""
    from tests.support.apps import make_app
    from webapp.db import get_db
    from webapp.jobs.reconciling import run_reconcile

    outcomes = {}
    for minutes in ("60", "2"):
        app = make_app(database_url, sim.base_url, RECONCILE_OLDER_THAN_MINUTES="0",
                       RECONCILE_NEVER_PLACED_AFTER_MINUTES=minutes)
        try:
            with app.app_context():
                call_id = _lost_call(get_db(), number(int(minutes)))
                with get_db().transaction() as session:
                    session.get(Call, call_id).created_at = utcnow() - timedelta(minutes=3)
            report = run_reconcile(app, lock_seconds=5)
            outcomes[minutes] = (call_id in report.never_placed, (call_id, "unknown") in report.without_sid)
        finally:
            app.extensions["jobs"].close()
            app.extensions["database"].engine.dispose()
    assert outcomes == {"60": (False, True), "2": (True, False)}
