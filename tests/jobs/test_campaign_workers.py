"""Campaigns dialled by real worker processes against the simulator: never one attempt twice, even with a
worker killed (SIGKILL) mid-run; every contact ends final, or waits on reconciliation for an attempt that the
killed worker may have sent."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.support.apps import LiveServer, make_app
from tests.support.workers import worker_env
from webapp.campaigns import store
from webapp.campaigns.models import Campaign, CampaignContact
from webapp.campaigns.spec import parse_campaign
from webapp.db import get_db, utcnow
from webapp.models import Call

CONTACTS = 500
# US numbers, so the window may be the whole UTC day (TRAI's hours bind Indian numbers only).
WINDOW = {"start": "00:00", "end": "23:59", "timezone": "UTC"}


def _contacts() -> list[tuple[int, str, None]]:
    return [(i, f"+1415555{i:04d}", None) for i in range(1, CONTACTS + 1)]


@pytest.mark.parametrize("queue", ["sqlite", "postgresql"], indirect=True)
def test_three_workers_one_killed_never_place_an_attempt_twice(queue, sim, workers):
    _kind, database_url, queue_url = queue
    live = LiveServer()
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL=live.url)
    live.serve(app)
    try:
        with app.app_context():
            spec = parse_campaign({"name": "Big list", "app_id": "1", "calls_per_minute": 1200, "window": WINDOW},
                                  account_sid=sim.state.account_sid, default_caller_id="08047112345", budget=100_000)
            campaign_id = store.create_campaign(get_db(), spec, _contacts(), created_by="user:a@b.c", now=utcnow()).campaign.id
        env = worker_env(database_url, queue_url, sim.base_url, PUBLIC_BASE_URL=live.url, RECONCILE_EVERY_MINUTES="0")
        running = [workers(env, "--threads", "2", "--dispatch-seconds", "5") for _ in range(3)]

        def placed() -> int:
            with app.app_context(), get_db().transaction(write=False) as session:
                return session.scalar(select(func.count()).select_from(Call).where(Call.campaign_id == campaign_id))

        deadline = time.monotonic() + 60
        while placed() < CONTACTS // 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert placed() >= CONTACTS // 4, "the workers dialled nothing"
        running[0].stop(signal.SIGKILL)

        def settled() -> bool:
            with app.app_context(), get_db().transaction(write=False) as session:
                live_states = session.scalar(select(func.count()).select_from(CampaignContact).where(
                    CampaignContact.campaign_id == campaign_id, CampaignContact.state.in_(("waiting", "answered"))))
                moving = session.scalar(select(func.count()).select_from(CampaignContact).join(
                    Call, Call.id == CampaignContact.last_call_id).where(
                    CampaignContact.campaign_id == campaign_id, CampaignContact.state == "dialing",
                    Call.status.not_in(("pending", "unknown"))))
            return live_states == 0 and moving == 0

        deadline = time.monotonic() + 180
        while not settled() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert settled(), "\n".join(line for w in running[1:] for line in w.lines()[-15:])
        sim.state.wait_idle()

        with app.app_context(), get_db().transaction(write=False) as session:
            calls = session.scalars(select(Call).where(Call.campaign_id == campaign_id)).all()
            states = Counter(session.scalars(select(CampaignContact.state).where(CampaignContact.campaign_id == campaign_id)))
            status = session.get(Campaign, campaign_id).status
        # Exactly one call row per (contact, attempt), and Exotel saw exactly one connect for each sent attempt.
        assert len({(c.campaign_contact_id, c.attempt) for c in calls}) == len(calls)
        at_exotel = Counter(call["from"] for call in sim.state.calls.values())
        assert max(at_exotel.values()) == 1
        sent = [c for c in calls if c.sid is not None]
        assert sorted(c.from_number for c in sent) == sorted(at_exotel)
        # Counts add up: every contact is final, or dialing an attempt the killed worker held (pending or unknown:
        # reconciliation settles it; it is never retried before).
        held = [c for c in calls if c.status in ("pending", "unknown")]
        assert sum(states.values()) == CONTACTS
        assert states["dialing"] == len(held)
        assert states["completed"] + states["exhausted"] + states["dialing"] == CONTACTS
        assert status in ("running", "completed")
    finally:
        live.stop()
        app.extensions["database"].engine.dispose()
