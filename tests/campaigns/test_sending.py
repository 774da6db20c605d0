"""Sending one claimed attempt through the app's own Exotel client and budget: a campaign paused while the send
waits (for a budget slot, or after Exotel's 429) sends nothing once the wait is over."""

from __future__ import annotations

from tests.support.campaigns import all_day_window, us_number
from tests.support.sending import hold_the_budget, send_in_thread
from tests.support.waiting import wait_for
from webapp.campaigns import dispatch, store
from webapp.campaigns.spec import parse_campaign
from webapp.db import get_db, utcnow
from webapp.models import Call


def _claim(app) -> tuple[int, dispatch.Claimed]:
    with app.app_context():
        spec = parse_campaign({"name": "One", "app_id": "1", "window": all_day_window()}, account_sid="testaccount",
                              default_caller_id="08047112345", budget=200)
        campaign = store.create_campaign(get_db(), spec, [(1, us_number(1), None)], created_by="user:a@b.c", now=utcnow())
        (claimed,) = dispatch.dispatch(get_db(), utcnow())
    return campaign.campaign.id, claimed


def _not_sent(app, claimed) -> bool:
    with app.app_context(), get_db().transaction(write=False) as session:
        call = session.get(Call, claimed.call_id)
        return (call.status, call.error_code, call.sid) == ("rejected", dispatch.NOT_SENT, None)


def test_paused_during_exotels_429_the_attempt_is_not_sent_again(worker_app, sim):
    campaign_id, claimed = _claim(worker_app)
    sim.state.add_fault("ratelimit", retry_after=1)  # the client waits 1 s, then would ask again
    thread, outcome = send_in_thread(worker_app, claimed)
    wait_for(lambda: sim.state.connects.entries(), what="the first connect")
    with worker_app.app_context():
        store.pause(get_db(), campaign_id, now=utcnow())
    thread.join(15)
    assert outcome == ["not sent"]
    assert [entry["status"] for entry in sim.state.connects.entries()] == [429]
    assert _not_sent(worker_app, claimed)


def test_paused_while_waiting_for_a_budget_slot_the_attempt_is_not_sent(worker_app, sim, monkeypatch):
    campaign_id, claimed = _claim(worker_app)
    waiting, go = hold_the_budget(monkeypatch)  # the budget is spent: a send waits for a slot to free
    thread, outcome = send_in_thread(worker_app, claimed)
    assert waiting.wait(10)
    with worker_app.app_context():
        store.cancel(get_db(), campaign_id, now=utcnow())
    go.set()
    thread.join(15)
    assert outcome == ["not sent"]
    assert sim.state.connects.entries() == []
    assert _not_sent(worker_app, claimed)
