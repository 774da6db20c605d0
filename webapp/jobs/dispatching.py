"""Campaigns in the worker: the dispatcher's run, and sending one claimed attempt.

One dispatcher at a time across workers (an expiring lock). A run is short, so a
worker asked to stop finishes it at once; the run queues the next one while
campaigns are live, and the periodic task restarts the chain if a killed worker
broke it (the lock's time to live lets another worker take over).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from huey.exceptions import TaskLockedException
from sqlalchemy import func, select

from ..campaigns.dispatch import dispatch, settle
from ..campaigns.models import Campaign
from ..campaigns.sending import send_campaign_attempt
from ..config import get_settings
from ..db import get_db
from ..exotel import ExotelError
from ..exotel_access import budget_permit, exotel_client
from . import get_jobs

log = logging.getLogger(__name__)

DISPATCH_LOCK = "campaign-dispatcher"
DISPATCH_TICK = 1.0  # seconds between dispatcher rounds
LOCK_MARGIN = 15.0  # seconds the lock outlives its run: a slow last round still holds it


def run_dispatcher(
    app: Flask, enqueue_send: Callable[[str, int], None], *, seconds: float, tick: float = DISPATCH_TICK,
    lock_margin: float = LOCK_MARGIN,
) -> bool:
    """Campaigns' dispatcher for `seconds`: each round settles outcomes and claims due attempts, whose sending
    is queued for any worker. Whether campaigns are still live after it (False too when another worker holds
    the lock: that worker carries on). A worker killed mid-run holds the lock for `lock_margin` past the run's
    end at most."""
    huey = get_jobs(app).huey
    try:
        with huey.lock_task(DISPATCH_LOCK, ttl=math.ceil(seconds + lock_margin)), app.app_context():
            settings = get_settings(app)
            if not settings.public_base_url:
                log.warning("campaigns wait: PUBLIC_BASE_URL is not set, so Exotel could not send callbacks",
                            extra={"event": "dispatch_skipped"})
                return False
            lost_after = timedelta(minutes=settings.campaign_lost_after_minutes)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                started = time.monotonic()
                settle(get_db(), get_settings(app).now(), lost_after=lost_after)
                for claimed in dispatch(get_db(), get_settings(app).now()):
                    enqueue_send(claimed.call_id, claimed.campaign_id)
                time.sleep(max(0.0, tick - (time.monotonic() - started)))
            with get_db().transaction(write=False) as session:
                live = session.scalar(select(func.count()).select_from(Campaign).where(
                    Campaign.status.in_(("scheduled", "running", "paused"))))
            return bool(live)
    except TaskLockedException:
        return False


def send_claimed_attempt(app: Flask, call_id: str) -> ExotelError | None:
    """Send one claimed attempt with the app's client, as bulk work of the budget (inside an app context)."""
    settings = get_settings(app)
    if not settings.public_base_url:  # the dispatcher claims nothing without it
        raise RuntimeError("PUBLIC_BASE_URL is not set: the worker cannot tell Exotel where to send callbacks")
    return send_campaign_attempt(
        get_db(), exotel_client(app).with_permit(budget_permit(app)), call_id, secret_key=settings.secret_key,
        callback_base=settings.public_base_url, timezone=settings.tz, now=settings.now,
    )
