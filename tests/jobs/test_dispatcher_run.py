"""One run of the worker's campaign dispatcher, in process: it reads its thresholds from the settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.apps import make_app
from tests.support.campaigns import all_day_window, us_number
from webapp.campaigns import store
from webapp.campaigns.dispatch import dispatch
from webapp.campaigns.spec import parse_campaign
from webapp.db import get_db, utcnow
from webapp.jobs import get_jobs
from webapp.jobs.dispatching import DISPATCH_LOCK, run_dispatcher
from webapp.jobs.tasks import dispatch_campaigns
from webapp.models import Call


@pytest.mark.parametrize(("minutes", "status"), [("10", "pending"), ("0.2", "unknown")])
def test_an_attempt_pending_past_campaign_lost_after_minutes_becomes_unknown(database_url, sim, minutes, status):
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL="http://127.0.0.1:9", CAMPAIGN_LOST_AFTER_MINUTES=minutes)
    try:
        with app.app_context():
            spec = parse_campaign({"name": "Lost", "app_id": "1", "window": all_day_window()}, account_sid="testaccount",
                                  default_caller_id="08047112345", budget=200)
            store.create_campaign(get_db(), spec, [(1, us_number(1), None)], created_by="user:a@b.c",
                                  now=utcnow() - timedelta(minutes=1))
            # Claimed a minute ago by a worker that died before asking Exotel.
            (claimed,) = dispatch(get_db(), utcnow() - timedelta(minutes=1))
        sent: list[str] = []
        run_dispatcher(app, lambda call_id, _campaign_id: sent.append(call_id), seconds=0.05, tick=0.01)
        with app.app_context(), get_db().transaction(write=False) as session:
            assert session.get(Call, claimed.call_id).status == status
        assert sent == []  # its contact is in flight: nothing else to dial, and it is never dialled again
    finally:
        app.extensions["jobs"].close()
        app.extensions["database"].engine.dispose()


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("margin", "ttl"), [(None, 16), (2, 3)])
def test_the_dispatchers_lock_outlives_its_run_by_dispatch_lock_margin(database_url, sim, monkeypatch, margin, ttl):
    """What a worker killed mid-run leaves: its lock, for the run's length and the margin (a second run of 0.05 s here)."""
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL="http://127.0.0.1:9", DISPATCH_SECONDS=0.05,
                   DISPATCH_LOCK_MARGIN=margin)
    try:
        huey = get_jobs(app).huey
        taken, lock_task = [], huey.lock_task
        monkeypatch.setattr(huey, "lock_task", lambda name, ttl=None: taken.append((name, ttl)) or lock_task(name, ttl))
        dispatch_campaigns(app)
        assert taken == [(DISPATCH_LOCK, ttl)]
    finally:
        app.extensions["jobs"].close()
        app.extensions["database"].engine.dispose()
