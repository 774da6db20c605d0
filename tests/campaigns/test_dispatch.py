"""The dispatcher on both databases with a controlled clock: pace, window, retries, control, refusals."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from webapp.campaigns import store
from webapp.campaigns.dispatch import NOT_SENT, Claimed, dispatch, send_attempt, settle
from webapp.campaigns.models import CampaignContact, Suppression
from webapp.campaigns.spec import parse_campaign
from webapp.exotel import ExotelRejected
from webapp.models import Call

# A Tuesday, 10:00 in India (04:30 UTC).
T0 = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)


def make_campaign(db, count=10, *, start=True, **fields):
    data = {"name": "Reminders", "flow_url": "http://my.exotel.com/acme/exoml/start_voice/1", "caller_id": "08047112345",
            **fields}  # the default window: 09:00-21:00 India time, every day
    spec = parse_campaign(data, account_sid="acme", default_caller_id=None, budget=1000)
    rows = [(i, f"+9198765{i:05d}", None) for i in range(1, count + 1)]
    return store.create_campaign(db, spec, rows, created_by="user:ops@example.com", now=T0, start=start).campaign


def calls_of(db, campaign_id):
    with db.transaction(write=False) as session:
        return session.scalars(select(Call).where(Call.campaign_id == campaign_id).order_by(Call.created_at)).all()


def finish(db, call_id, status, at, answered=False):
    """What the callbacks would write: the call's final status and times."""
    with db.transaction() as session:
        call = session.get(Call, call_id)
        call.status, call.ended_at, call.sid = status, at, f"sid-{call_id[:8]}"
        call.answered_at = at - timedelta(seconds=5) if answered else None


def sent(db, claimed):
    """What sending writes: Exotel accepted these attempts."""
    with db.transaction() as session:
        for one in claimed:
            call = session.get(Call, one.call_id)
            call.status, call.sid = "in-progress", f"sid-{one.call_id[:8]}"
    return claimed


def test_pace_holds_calls_per_minute(db):
    campaign = make_campaign(db, 500, calls_per_minute=120)
    claimed = 0
    for tick in range(241):  # two minutes, a round every half second
        claimed += len(sent(db, dispatch(db, T0 + timedelta(seconds=tick / 2))))
    # 120 a minute for 2 minutes, plus the first slot at t=0.
    assert 240 * 0.95 <= claimed <= 240 * 1.05
    assert len(calls_of(db, campaign.id)) == claimed


def test_claims_wait_while_ten_seconds_of_pace_are_claimed_and_not_sent(db):
    """When sending falls behind (the Exotel budget is the limit, or no worker sends), claimed attempts do not pile
    up in the queue: the dispatcher claims again as they are sent."""
    make_campaign(db, 300, calls_per_minute=600)  # ten seconds' worth: 100 attempts
    held = [c for tick in range(15) for c in dispatch(db, T0 + timedelta(seconds=tick))]
    assert len(held) == 100
    sent(db, held[:5])
    assert len(dispatch(db, T0 + timedelta(seconds=15))) == 5
    assert dispatch(db, T0 + timedelta(seconds=16)) == []
    # Attempts lost with their worker (pending past LOST_AFTER: settling marks them) no longer hold it back.
    assert len(dispatch(db, T0 + timedelta(minutes=11))) == 20


def test_a_late_round_does_not_burst_past_two_seconds_of_pace(db):
    make_campaign(db, 100, calls_per_minute=60)
    assert len(dispatch(db, T0)) == 1
    # Ten minutes without a round: at most two seconds' worth (2 attempts) now.
    assert len(dispatch(db, T0 + timedelta(minutes=10))) <= 2


def test_nothing_dials_outside_the_window(db):
    # 2026-12-01 04:00 UTC is 09:30 IST; the window opens at 10:00 IST.
    make_campaign(db, 5, window={"start": "10:00", "end": "12:00", "timezone": "Asia/Kolkata"})
    before = datetime(2026, 12, 1, 4, 29, 59, tzinfo=UTC)
    assert dispatch(db, before) == []
    assert len(dispatch(db, datetime(2026, 12, 1, 4, 30, tzinfo=UTC))) == 1
    assert dispatch(db, datetime(2026, 12, 1, 6, 30, tzinfo=UTC)) == []  # 12:00 IST: closed


def test_nothing_dials_before_start_at_or_after_end_at(db):
    campaign = make_campaign(db, 3, start_at=(T0 + timedelta(hours=1)).isoformat(), end_at=(T0 + timedelta(hours=2)).isoformat())
    assert campaign.status == "scheduled"
    assert dispatch(db, T0 + timedelta(minutes=59)) == []
    assert len(dispatch(db, T0 + timedelta(hours=1))) == 1
    assert dispatch(db, T0 + timedelta(hours=2)) == []
    with db.transaction(write=False) as session:
        states = sorted(session.scalars(select(CampaignContact.state)).all())
    assert states == ["dialing", "exhausted", "exhausted"]


def test_max_in_flight_caps_attempts_not_yet_final(db):
    make_campaign(db, 10, calls_per_minute=600, max_in_flight=2)
    claimed = [c for tick in range(20) for c in dispatch(db, T0 + timedelta(seconds=tick))]
    assert len(claimed) == 2


def test_retries_come_at_their_scheduled_times(db):
    campaign = make_campaign(db, 1, retries={"count": 2, "on": ["busy"], "delay_minutes": 10})
    (first,) = dispatch(db, T0)
    finish(db, first.call_id, "busy", T0 + timedelta(seconds=30))
    settle(db, T0 + timedelta(seconds=31))
    assert dispatch(db, T0 + timedelta(minutes=10)) == []  # 10 minutes after the END, not the claim
    (second,) = dispatch(db, T0 + timedelta(minutes=10, seconds=30))
    finish(db, second.call_id, "busy", T0 + timedelta(minutes=11))
    settle(db, T0 + timedelta(minutes=11))
    assert dispatch(db, T0 + timedelta(minutes=30, seconds=59)) == []  # linear: 20 minutes after the second
    (third,) = dispatch(db, T0 + timedelta(minutes=31))
    finish(db, third.call_id, "busy", T0 + timedelta(minutes=32))
    settle(db, T0 + timedelta(minutes=32))
    assert [c.attempt for c in calls_of(db, campaign.id)] == [1, 2, 3]
    with db.transaction(write=False) as session:
        contact = session.scalars(select(CampaignContact)).one()
    assert (contact.state, contact.attempts) == ("exhausted", 3)


def test_outcomes_move_contacts_and_complete_the_campaign(db):
    campaign = make_campaign(db, 3, calls_per_minute=600)
    claimed = dispatch(db, T0) + dispatch(db, T0 + timedelta(seconds=1))
    assert len(claimed) == 3
    finish(db, claimed[0].call_id, "completed", T0 + timedelta(seconds=40), answered=True)
    finish(db, claimed[1].call_id, "no-answer", T0 + timedelta(seconds=40))
    settle(db, T0 + timedelta(seconds=41))
    with db.transaction(write=False) as session:
        assert store.counts(session, campaign.id)["completed"] == 1
        assert store.counts(session, campaign.id)["exhausted"] == 1
        assert store.counts(session, campaign.id)["dialing"] == 1
    finish(db, claimed[2].call_id, "failed", T0 + timedelta(seconds=50))
    settle(db, T0 + timedelta(seconds=51))
    with db.transaction(write=False) as session:
        assert store.counts(session, campaign.id) == {
            "contacts": 3, "waiting": 0, "dialing": 0, "answered": 0, "canceled": 0, "completed": 1, "exhausted": 2,
            "suppressed": 0,
        }
    assert store_status(db, campaign.id) == "completed"


def store_status(db, campaign_id):
    from webapp.campaigns.models import Campaign

    with db.transaction(write=False) as session:
        return session.get(Campaign, campaign_id).status


def test_unknown_attempts_are_never_retried_until_settled(db):
    make_campaign(db, 1, retries={"count": 3, "on": ["failed"], "delay_minutes": 1})
    (first,) = dispatch(db, T0)
    with db.transaction() as session:
        session.get(Call, first.call_id).status = "unknown"
    settle(db, T0 + timedelta(hours=1))
    assert dispatch(db, T0 + timedelta(hours=1)) == []
    with db.transaction(write=False) as session:
        assert session.scalars(select(CampaignContact.state)).one() == "dialing"


def test_pause_resume_cancel(db):
    campaign = make_campaign(db, 5, calls_per_minute=600)
    store.pause(db, campaign.id, now=T0)
    assert dispatch(db, T0) == []
    store.resume(db, campaign.id, now=T0)
    assert len(dispatch(db, T0)) >= 1
    store.cancel(db, campaign.id, now=T0)
    assert dispatch(db, T0 + timedelta(seconds=5)) == []
    with db.transaction(write=False) as session:
        counts = store.counts(session, campaign.id)
    assert counts["canceled"] == 5 - counts["dialing"]


def test_an_attempt_claimed_before_a_pause_is_not_sent_after_it(db):
    campaign = make_campaign(db, 2)
    (claimed,) = dispatch(db, T0)
    store.pause(db, campaign.id, now=T0)
    sent = []
    assert send_attempt(db, claimed, lambda call_id: sent.append(call_id), T0) == "not sent"
    assert sent == []
    (call,) = calls_of(db, campaign.id)
    assert (call.status, call.error_code) == ("rejected", NOT_SENT)
    settle(db, T0)
    store.resume(db, campaign.id, now=T0)
    again = dispatch(db, T0 + timedelta(seconds=1))
    assert [c.attempt for c in calls_of(db, campaign.id)] == [1, 2]
    assert len(again) == 1


def refusal(status, message):
    return ExotelRejected(message, http_status=status, code=str(status))


def test_out_of_balance_pauses_the_campaign(db):
    campaign = make_campaign(db, 5)
    (claimed,) = dispatch(db, T0)
    assert send_attempt(db, claimed, lambda _id: refusal(402, "Insufficient balance"), T0) == "paused"
    assert store_status(db, campaign.id) == "paused"
    assert dispatch(db, T0 + timedelta(seconds=5)) == []


def test_dnd_refusal_suppresses_the_number(db):
    make_campaign(db, 1, retries={"count": 3, "on": ["failed"], "delay_minutes": 1})
    (claimed,) = dispatch(db, T0)

    def refuse(call_id):
        with db.transaction() as session:
            call = session.get(Call, call_id)
            call.status, call.error_code = "rejected", "403"
        return refusal(403, "Call to a number on the DND (NDNC) registry is not allowed")

    assert send_attempt(db, claimed, refuse, T0) == "suppressed"
    settle(db, T0)
    with db.transaction(write=False) as session:
        assert session.get(Suppression, "+919876500001").reason == "dnd"
        assert session.scalars(select(CampaignContact.state)).one() == "suppressed"


def test_concurrent_dispatchers_never_claim_one_attempt_twice(db):
    campaign = make_campaign(db, 200, calls_per_minute=1000)
    claimed: list[Claimed] = []
    errors = []

    def run(offset):
        try:
            for tick in range(40):
                claimed.extend(sent(db, dispatch(db, T0 + timedelta(seconds=tick * 0.5 + offset))))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i * 0.1,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [c.call_id for c in claimed]
    assert len(ids) == len(set(ids))
    with db.transaction(write=False) as session:
        per_contact = session.execute(
            select(Call.campaign_contact_id, func.count()).where(Call.campaign_id == campaign.id).group_by(Call.campaign_contact_id)
        ).all()
    assert all(n == 1 for _, n in per_contact)
    assert len(per_contact) == len(ids)


@pytest.fixture
def db(app):
    from webapp.db import get_db

    with app.app_context():
        yield get_db()


def contact_of(db):
    with db.transaction(write=False) as session:
        return session.scalars(select(CampaignContact)).one()


def test_exotels_own_rate_limit_leaves_the_contact_waiting(db):
    make_campaign(db, 1)
    (claimed,) = dispatch(db, T0)
    limited = ExotelRejected("Too many requests", http_status=429, code="429")
    limited.retry_after = 30
    assert send_attempt(db, claimed, lambda _id: limited, T0) == "rate limited"
    contact = contact_of(db)
    assert (contact.state, contact.next_attempt_at) == ("waiting", T0 + timedelta(seconds=30))


def test_other_refusals_exhaust_the_contact_and_unknown_ones_wait(db):
    make_campaign(db, 2)
    first, second = dispatch(db, T0) + dispatch(db, T0 + timedelta(seconds=1))
    assert send_attempt(db, first, lambda _id: refusal(400, "Invalid parameter From"), T0) == "refused"
    from webapp.exotel import ExotelTimeout

    assert send_attempt(db, second, lambda _id: ExotelTimeout("no answer in 30 s"), T0) == "unknown"
    with db.transaction(write=False) as session:
        states = dict(session.execute(select(CampaignContact.row_number, CampaignContact.state)).all())
    assert states == {1: "exhausted", 2: "dialing"}


def test_an_attempt_pending_past_the_lost_threshold_becomes_unknown_and_waits(db):
    make_campaign(db, 1, retries={"count": 3, "on": ["failed"], "delay_minutes": 1})
    (claimed,) = dispatch(db, T0)
    settle(db, T0 + timedelta(seconds=50), lost_after=timedelta(minutes=1))
    with db.transaction(write=False) as session:
        assert session.get(Call, claimed.call_id).status == "pending"  # its send may still be on the way
    settle(db, T0 + timedelta(seconds=61), lost_after=timedelta(minutes=1))
    assert dispatch(db, T0 + timedelta(seconds=62)) == []
    with db.transaction(write=False) as session:
        call = session.get(Call, claimed.call_id)
        assert (call.status, call.sid) == ("unknown", None)
        assert session.scalars(select(CampaignContact.state)).one() == "dialing"


def test_settling_moves_only_what_changed_and_an_answered_call_shows(db):
    campaign = make_campaign(db, 3, calls_per_minute=600)
    first, second, third = dispatch(db, T0) + dispatch(db, T0 + timedelta(seconds=1))
    with db.transaction() as session:  # what the answered callback writes: in progress, answered
        call = session.get(Call, first.call_id)
        call.status, call.sid, call.answered_at = "in-progress", "sid-answered", T0 + timedelta(seconds=3)
    finish(db, second.call_id, "completed", T0 + timedelta(seconds=20), answered=True)
    assert settle(db, T0 + timedelta(seconds=21)) == 2
    assert settle(db, T0 + timedelta(seconds=22)) == 0  # nothing changed since
    with db.transaction(write=False) as session:
        counts = store.counts(session, campaign.id)
    assert (counts["answered"], counts["completed"], counts["dialing"]) == (1, 1, 1)
