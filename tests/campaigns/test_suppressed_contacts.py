"""A suppressed number is never dialled by a campaign again, whatever stage its contact is at when the
suppression commits: waiting, retry due, claimed and not sent (waiting for a budget slot, or for Exotel's
Retry-After), or in flight. Both databases; a controlled clock; the real simulator where a send happens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.campaigns import all_day_window, us_number
from tests.support.sending import hold_the_budget, send_in_thread
from tests.support.waiting import wait_for
from webapp.campaigns import store, suppressions
from webapp.campaigns.dispatch import NOT_SENT, Claimed, dispatch, send_attempt, settle
from webapp.campaigns.gate import mark_sending
from webapp.campaigns.models import Campaign, CampaignContact, Suppression
from webapp.campaigns.spec import parse_campaign
from webapp.db import get_db, utcnow
from webapp.exotel import ExotelRejected, NotSent
from webapp.models import Call

T0 = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)  # a Tuesday, 10:00 in India
NUMBER = "+919876500001"
RETRIES = {"count": 3, "on": ["busy", "no-answer", "failed"], "delay_minutes": 1}


def _campaign(db, numbers, *, now=T0, window=None, **fields):
    data = {"name": "Reminders", "flow_url": "http://my.exotel.com/acme/exoml/start_voice/1", "caller_id": "08047112345",
            **({"window": window} if window else {}), **fields}
    spec = parse_campaign(data, account_sid="acme", default_caller_id=None, budget=1000)
    rows = [(i, number, None) for i, number in enumerate(numbers, start=1)]
    return store.create_campaign(db, spec, rows, created_by="user:ops@example.com", now=now).campaign.id


def _contact(db, campaign_id, number=NUMBER) -> CampaignContact:
    with db.transaction(write=False) as session:
        return session.scalars(select(CampaignContact).where(
            CampaignContact.campaign_id == campaign_id, CampaignContact.number == number)).one()


def _status(db, campaign_id) -> str:
    with db.transaction(write=False) as session:
        return session.get(Campaign, campaign_id).status


def _suppress(db, number=NUMBER, now=T0):
    assert suppressions.add(db, [number], reason="asked", created_by="user:ops@example.com", now=now) == [number]


def _end(db, call_id, status, at):
    """What the callbacks write: Exotel placed the attempt, and it ended so."""
    with db.transaction() as session:
        call = session.get(Call, call_id)
        call.status, call.sid, call.ended_at = status, f"sid-{call_id[:8]}", at


def _through_the_gate(db):
    """A sender that passes the gate of every send (as the worker's send_campaign_attempt does), then reports
    Exotel's acceptance; the gate's refusal when it refuses."""

    def send(call_id):
        try:
            mark_sending(db, call_id, T0)
        except NotSent as exc:
            return exc
        return None

    return send


@pytest.fixture
def db(app):
    with app.app_context():
        yield get_db()


def test_in_flight_when_suppressed_its_attempt_ends_and_is_never_retried(db):
    campaign_id = _campaign(db, [NUMBER], retries=RETRIES)
    (claimed,) = dispatch(db, T0)
    _suppress(db, now=T0 + timedelta(seconds=2))  # while Exotel rings the number
    assert _contact(db, campaign_id).state == "dialing"  # the call under way runs to its end
    _end(db, claimed.call_id, "no-answer", T0 + timedelta(seconds=30))
    settle(db, T0 + timedelta(seconds=31))
    contact = _contact(db, campaign_id)
    assert (contact.state, contact.next_attempt_at, contact.attempts) == ("suppressed", None, 1)
    assert dispatch(db, T0 + timedelta(hours=1)) == []
    settle(db, T0 + timedelta(hours=1))
    assert _status(db, campaign_id) == "completed"


def test_retry_due_when_suppressed_it_is_never_claimed(db):
    campaign_id = _campaign(db, [NUMBER], retries=RETRIES)
    (claimed,) = dispatch(db, T0)
    _end(db, claimed.call_id, "busy", T0 + timedelta(seconds=10))
    settle(db, T0 + timedelta(seconds=11))
    assert _contact(db, campaign_id).state == "waiting"  # its retry is due a minute after the busy
    _suppress(db, now=T0 + timedelta(minutes=5))  # after the retry fell due, before a round claimed it
    assert dispatch(db, T0 + timedelta(minutes=5, seconds=1)) == []
    assert (_contact(db, campaign_id).state, _contact(db, campaign_id).attempts) == ("suppressed", 1)


def test_a_dnd_refusal_suppresses_the_number_in_every_campaign_at_once(db):
    first = _campaign(db, [NUMBER], retries=RETRIES)
    second = _campaign(db, [NUMBER, "+919876500002"], retries=RETRIES)
    claimed = dispatch(db, T0)
    (attempt,) = [one for one in claimed if one.campaign_id == first]
    dnd = ExotelRejected("Call to a number on the DND (NDNC) registry is not allowed", http_status=403, code="403")

    assert send_attempt(db, attempt, lambda _id: dnd, T0) == "suppressed"
    # The other campaign's attempt for the number, claimed in the same round, is refused at its send.
    (other,) = [one for one in claimed if one.campaign_id == second]
    with db.transaction(write=False) as session:
        assert session.get(Call, other.call_id).from_number == NUMBER

    assert send_attempt(db, other, _through_the_gate(db), T0) == "suppressed"
    with db.transaction(write=False) as session:
        call = session.get(Call, other.call_id)
        assert (call.status, call.error_code, call.sid) == ("rejected", NOT_SENT, None)
    assert _contact(db, second).state == "suppressed"
    assert _contact(db, first).state == "suppressed"


def test_a_number_on_the_list_is_never_claimed_however_it_got_there(db):
    campaign_id = _campaign(db, [NUMBER, "+919876500002"])
    with db.transaction() as session:  # listed by a path that moved no contact (another process, an older version)
        session.add(Suppression(number=NUMBER, reason="dnd", created_by="system", created_at=T0))
    claimed = dispatch(db, T0) + dispatch(db, T0 + timedelta(seconds=2))
    with db.transaction(write=False) as session:
        dialled = {session.get(Call, one.call_id).from_number for one in claimed}
    assert dialled == {"+919876500002"}
    contact = _contact(db, campaign_id)
    assert (contact.state, contact.attempts, contact.last_call_id) == ("suppressed", 0, None)


def test_waiting_contacts_of_every_campaign_are_suppressed_at_the_answer(db):
    first, second = _campaign(db, [NUMBER]), _campaign(db, [NUMBER, "+919876500002"])
    _suppress(db)
    assert _contact(db, first).state == _contact(db, second).state == "suppressed"
    claimed = dispatch(db, T0 + timedelta(seconds=1))
    assert [one.campaign_id for one in claimed] == [second]


# Claimed and not sent yet: the send waits (a budget slot, Exotel's Retry-After) when the suppression commits.


def _claim(app) -> Claimed:
    with app.app_context():
        spec = parse_campaign({"name": "One", "app_id": "1", "window": all_day_window(), "retries": RETRIES},
                              account_sid="testaccount", default_caller_id="08047112345", budget=200)
        store.create_campaign(get_db(), spec, [(1, us_number(1), None)], created_by="user:a@b.c", now=utcnow())
        (claimed,) = dispatch(get_db(), utcnow())
    return claimed


def _refused_and_suppressed(app, claimed) -> bool:
    with app.app_context(), get_db().transaction(write=False) as session:
        call = session.get(Call, claimed.call_id)
        contact = session.get(CampaignContact, call.campaign_contact_id)
        return ((call.status, call.error_code, call.sid, contact.state, contact.next_attempt_at)
                == ("rejected", NOT_SENT, None, "suppressed", None))


def test_suppressed_while_its_send_waits_for_a_budget_slot_the_attempt_is_never_sent(worker_app, sim, monkeypatch):
    claimed = _claim(worker_app)
    waiting, go = hold_the_budget(monkeypatch)  # the budget is spent: a send waits for a slot to free
    thread, outcome = send_in_thread(worker_app, claimed)
    assert waiting.wait(10)
    with worker_app.app_context():
        _suppress(get_db(), us_number(1), now=utcnow())
    go.set()
    thread.join(15)
    assert outcome == ["suppressed"]
    assert sim.state.connects.entries() == []
    assert _refused_and_suppressed(worker_app, claimed)


def test_suppressed_during_exotels_retry_after_the_attempt_is_not_sent_again(worker_app, sim):
    claimed = _claim(worker_app)
    sim.state.add_fault("ratelimit", retry_after=1)  # the client waits 1 s, then would ask again
    thread, outcome = send_in_thread(worker_app, claimed)
    wait_for(lambda: sim.state.connects.entries(), what="the first connect")
    with worker_app.app_context():
        _suppress(get_db(), us_number(1), now=utcnow())
    thread.join(15)
    assert outcome == ["suppressed"]
    assert [entry["status"] for entry in sim.state.connects.entries()] == [429]
    assert _refused_and_suppressed(worker_app, claimed)
