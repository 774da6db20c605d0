"""The outbox: one event per transition, whatever the callbacks (twice, late, out of order) and reconciliation do."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from sqlalchemy import select, update

from tests.support.calls import callback_path
from tests.support.webhooks import admin_headers, events, pump, register
from webapp.campaigns.models import Campaign
from webapp.db import get_db, utcnow
from webapp.models import Call
from webapp.webhooks import record_event
from webapp.webhooks.models import WebhookEvent

SID = "c0ffee0000000000000000000000beef"
ANSWERED = {"CallSid": SID, "EventType": "answered", "Status": "in-progress", "DateUpdated": "2026-11-27 14:00:05"}
TERMINAL = {"CallSid": SID, "EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30",
            "EndTime": "2026-11-27 14:01:29", "ConversationDuration": "84"}
NO_ANSWER = {**TERMINAL, "Status": "no-answer", "ConversationDuration": "0"}


def _call(app) -> str:
    with app.app_context(), get_db().transaction() as session:
        call = Call(from_number="+919876543210", caller_id="08047112345", flow_url="http://my.exotel.com/a/exoml/start_voice/1",
                    status="ringing", sid=SID, created_at=utcnow(), placed_at=utcnow())
        session.add(call)
        session.flush()
        return call.id


@pytest.mark.parametrize("order", [
    [ANSWERED, TERMINAL],
    [TERMINAL, ANSWERED],  # the answered callback after the terminal one
    [ANSWERED, ANSWERED, TERMINAL, TERMINAL, ANSWERED, TERMINAL],  # Exotel's redeliveries
])
def test_one_event_per_transition_whatever_the_callbacks(hook_app, receiver, order):
    client = hook_app.test_client()
    endpoint = register(client, admin_headers(hook_app), receiver.url)
    receiver.secrets = [endpoint["secret"]]
    call_id = _call(hook_app)
    for body in order:
        assert client.post(callback_path(call_id), data=body).status_code == 200
    assert sorted(events(hook_app)) == [("call.answered", call_id), ("call.completed", call_id)]

    pump(hook_app)
    got = receiver.delivered()
    assert sorted(r.event["type"] for r in got) == ["call.answered", "call.completed"]
    completed = next(r.event for r in got if r.event["type"] == "call.completed")
    assert completed["data"]["id"] == call_id and completed["data"]["status"] == "completed"
    assert "events" not in completed["data"]
    assert completed["data"]["conversation_duration"] == 84
    assert len({r.webhook_id for r in got}) == 2


def test_two_transactions_ending_one_call_at_once_make_one_event(hook_app, receiver):
    """A call's events rest on its row, not on a unique key: the second writer waits for the first, then sees
    the call already ended, so its trigger writes nothing."""
    from webapp.calls.updates import advance_call

    register(hook_app.test_client(), admin_headers(hook_app), receiver.url)
    call_id = _call(hook_app)
    first_wrote = threading.Event()

    def end(first: bool) -> None:
        if not first:
            assert first_wrote.wait(10)
        with hook_app.app_context(), get_db().transaction() as session:
            advance_call(session, call_id, status="completed", fill={"answered_at": utcnow()})
            if first:
                first_wrote.set()
                time.sleep(0.5)  # the second transaction now waits on this one's row lock (SQLite: its write lock)

    second = threading.Thread(target=end, args=(False,))
    second.start()
    end(True)
    second.join(15)
    assert not second.is_alive()
    assert sorted(events(hook_app)) == [("call.answered", call_id), ("call.completed", call_id)]
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        assert session.scalars(select(WebhookEvent.dedupe_key)).all() == [None, None]  # no unique index page to write


def test_a_call_never_answered_has_only_its_completed_event(hook_app, receiver):
    client = hook_app.test_client()
    register(client, admin_headers(hook_app), receiver.url)
    call_id = _call(hook_app)
    for body in (NO_ANSWER, NO_ANSWER):
        client.post(callback_path(call_id), data=body)
    assert events(hook_app) == [("call.completed", call_id)]


def test_nothing_is_written_while_no_endpoint_exists(hook_app):
    client = hook_app.test_client()
    call_id = _call(hook_app)
    client.post(callback_path(call_id), data=TERMINAL)
    assert events(hook_app) == []


def test_reconciliation_confirming_a_callback_adds_nothing_and_alone_learns_the_answer(live_app, sim, db, receiver):
    """Reconciliation settles calls whose callbacks were dropped: each gets its events once, and a second
    run (or a late callback confirming it) adds none."""
    app, live = live_app
    client = app.test_client()
    headers = admin_headers(app)
    with app.app_context():
        from webapp.config.tuning import with_settings

        with_settings(app, webhook_allow_private=True)
    register(client, headers, receiver.url)
    sim.state.configure(drop_callbacks=1.0, speed=0.002)
    ids = []
    for number in ("+919876543210", "+919876543211"):  # the simulator: ending 0 completes, 1 is busy
        response = requests.post(f"{live.url}/api/calls", json={"app_id": "4242", "from": number}, headers=headers, timeout=10)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    assert sim.state.wait_idle(15)
    assert events(app) == []  # no callback came: nothing moved yet
    runner = app.test_cli_runner()
    assert runner.invoke(args=["calls", "reconcile", "--older-than", "0"]).exit_code == 0
    expected = sorted([("call.answered", ids[0]), ("call.completed", ids[0]), ("call.completed", ids[1])])
    assert sorted(events(app)) == expected
    runner.invoke(args=["calls", "reconcile", "--older-than", "0"])
    with db.transaction(write=False) as session:
        sid = session.scalar(select(Call.sid).where(Call.id == ids[0]))
    client.post(callback_path(ids[0]), data={**TERMINAL, "CallSid": sid})
    client.post(callback_path(ids[0]), data={**ANSWERED, "CallSid": sid})
    assert sorted(events(app)) == expected


def test_campaign_pauses_each_make_an_event_and_completion_one(hook_app, receiver):
    client = hook_app.test_client()
    receiver.secrets = [register(client, admin_headers(hook_app), receiver.url, ["campaign.paused", "campaign.completed"])["secret"]]
    with hook_app.app_context(), get_db().transaction() as session:
        campaign = Campaign(name="c", status="running", flow_url="http://x/y", caller_id="08047112345", created_by="t")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    for status in ("paused", "paused", "running", "paused", "completed", "completed"):
        with hook_app.app_context(), get_db().transaction() as session:
            session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status=status, updated_at=utcnow()))
    subject = str(campaign_id)
    assert events(hook_app) == [("campaign.paused", subject), ("campaign.paused", subject), ("campaign.completed", subject)]
    pump(hook_app)
    got = [(r.event["type"], r.event["data"]["id"]) for r in receiver.delivered()]
    assert sorted(got) == sorted([("campaign.paused", campaign_id)] * 2 + [("campaign.completed", campaign_id)])


def test_record_event_is_idempotent_by_key_and_rolls_back_with_its_transaction(hook_app, receiver):
    receiver.secrets = [register(hook_app.test_client(), admin_headers(hook_app), receiver.url, ["alert.firing"])["secret"]]
    with hook_app.app_context():
        db = get_db()
        with db.transaction() as session:
            assert record_event(session, "alert.firing", {"rule": "worker_down"}, dedupe_key="alert.firing:1", now=utcnow())
            assert not record_event(session, "alert.firing", {"rule": "worker_down"}, dedupe_key="alert.firing:1", now=utcnow())
        with pytest.raises(RuntimeError), db.transaction() as session:
            record_event(session, "alert.firing", {"rule": "x"}, dedupe_key="alert.firing:2", now=utcnow())
            raise RuntimeError("the alert's own transaction fails")
        with db.transaction(write=False) as session:
            assert session.scalars(select(WebhookEvent.dedupe_key)).all() == ["alert.firing:1"]
    pump(hook_app)
    assert [r.event["data"] for r in receiver.delivered()] == [{"rule": "worker_down"}]
