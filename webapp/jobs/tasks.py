"""The worker's tasks: thin adapters from Huey to the call services, like views are for requests.

Huey pops a task before running it, so a worker killed mid-task loses it; the
truth lives in the app's tables instead, and the periodic reconciliation reads
what is still open each time, so its next run redoes whatever a killed one left
undone. One run at a time across all workers: Huey's lock, with a time to
live (a killed worker's lock expires), and a deadline inside it shorter than
that time to live (a slow run stops and leaves the rest to the next one).
"""

from __future__ import annotations

import calendar
import logging
import math
import time
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import Flask
from huey.exceptions import TaskLockedException

from ..config import get_settings
from ..db import get_db, utcnow

log = logging.getLogger(__name__)

RECONCILE_LOCK = "reconcile"
LOCK_SECONDS = 300.0  # a reconcile run's lock lives this long at most


def every_minutes(minutes: int):
    """A Huey schedule: true on every `minutes`-th minute since the epoch (regular for any N)."""

    def due(moment: datetime) -> bool:
        return minutes > 0 and (calendar.timegm(moment.timetuple()) // 60) % minutes == 0

    return due


def run_reconcile(app: Flask, *, lock_seconds: float) -> Any:
    """One reconciliation run inside the app; the report, or None when another worker holds the lock."""
    from ..calls.reconcile import reconcile
    from ..observability.metrics import RECONCILE_LAST_RUN, RECONCILE_SETTLED
    from ..web.placing import exotel_client
    from . import get_jobs

    huey = get_jobs(app).huey
    try:
        # Whole seconds: Redis SET EX takes an integer.
        with huey.lock_task(RECONCILE_LOCK, ttl=max(1, math.ceil(lock_seconds))), app.app_context():
            settings = get_settings(app)
            started = time.monotonic()
            log.info("reconcile started", extra={"event": "reconcile_started"})
            report = reconcile(get_db(), exotel_client(app), older_than_minutes=settings.reconcile_older_than_minutes,
                               tz=settings.tz, deadline=started + lock_seconds * 0.8,
                               never_placed_after=timedelta(minutes=settings.reconcile_never_placed_after_minutes))
            RECONCILE_LAST_RUN.set(time.time())
            RECONCILE_SETTLED.inc(len(report.settled))
            log.info(
                "reconcile finished",
                extra={"event": "reconcile_finished", "open_calls": report.open_calls, "settled": len(report.settled),
                       "adopted": len(report.adopted), "never_placed": len(report.never_placed),
                       "incomplete": report.incomplete, "error": report.error,
                       "ms": round((time.monotonic() - started) * 1000)},
            )
            return report
    except TaskLockedException:
        log.info("reconcile skipped: another worker is running it", extra={"event": "reconcile_skipped"})
        return None


def register_tasks(huey: Any, app: Flask) -> SimpleNamespace:
    """Define this app's tasks on `huey`; the same names in the web process (to enqueue) and the worker."""
    settings = get_settings(app)
    lock_seconds = float(app.config.get("RECONCILE_LOCK_SECONDS", LOCK_SECONDS))

    @huey.task(name="reconcile")
    def reconcile_now() -> None:
        """Reconcile now (enqueued by hand or by the web)."""
        run_reconcile(app, lock_seconds=lock_seconds)

    @huey.periodic_task(every_minutes(settings.reconcile_every_minutes), name="scheduled_reconcile")
    def scheduled_reconcile() -> None:
        """Reconcile every RECONCILE_EVERY_MINUTES (0: never)."""
        run_reconcile(app, lock_seconds=lock_seconds)

    @huey.task(name="check_call", retries=3, retry_delay=60)
    def check_call(call_id: str) -> None:
        """Look up one call whose placing ended without Exotel's answer (adoption by From, ExoPhone, time)."""
        from ..calls.adoption import adopt_call
        from ..calls.reconcile import open_call
        from ..web.placing import exotel_client

        with app.app_context():
            row = open_call(get_db(), call_id)
            if row is None or row.sid is not None:
                return  # settled meanwhile (a callback, a reconciliation)
            settings = get_settings(app)
            outcome = adopt_call(get_db(), exotel_client(app), row, settings.tz, now=utcnow(),
                                 never_placed_after=timedelta(minutes=settings.reconcile_never_placed_after_minutes))
            log.info("check_call %s: %s", call_id, outcome.value, extra={"event": "check_call", "call_id": call_id})

    campaigns = register_campaign_tasks(huey, app)
    return SimpleNamespace(
        reconcile=reconcile_now, scheduled_reconcile=scheduled_reconcile, check_call=check_call,
        send_attempt=campaigns.send_attempt, dispatch_campaigns=campaigns.dispatch_campaigns,
        campaign_dispatcher=campaigns.campaign_dispatcher,
    )


DISPATCH_LOCK = "campaign-dispatcher"
# One dispatcher run's length. Short, so a worker asked to stop finishes it at once; the run
# queues the next one while campaigns are live, and the periodic task restarts the chain if a
# killed worker broke it (the lock's time to live lets another worker take over).
DISPATCH_SECONDS = 5.0
DISPATCH_TICK = 1.0  # seconds between dispatcher rounds


def run_dispatcher(
    app: Flask, enqueue_send: Any, *, seconds: float = DISPATCH_SECONDS, tick: float = DISPATCH_TICK,
) -> bool:
    """Campaigns' dispatcher for `seconds`: each round settles outcomes and claims due attempts, whose sending
    is queued for any worker. One dispatcher at a time across workers (an expiring lock). Whether campaigns are
    still live after it (False too when another worker holds the lock: that worker carries on)."""
    from sqlalchemy import func, select

    from ..campaigns.dispatch import dispatch, settle
    from ..campaigns.models import Campaign
    from . import get_jobs

    huey = get_jobs(app).huey
    try:
        with huey.lock_task(DISPATCH_LOCK, ttl=math.ceil(seconds + 15)), app.app_context():
            if not get_settings(app).public_base_url:
                log.warning("campaigns wait: PUBLIC_BASE_URL is not set, so Exotel could not send callbacks",
                            extra={"event": "dispatch_skipped"})
                return False
            clock = app.config.get("CAMPAIGN_CLOCK", utcnow)
            lost_after = timedelta(minutes=get_settings(app).campaign_lost_after_minutes)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                started = time.monotonic()
                settle(get_db(), clock(), lost_after=lost_after)
                for claimed in dispatch(get_db(), clock()):
                    enqueue_send(claimed.call_id, claimed.campaign_id)
                time.sleep(max(0.0, tick - (time.monotonic() - started)))
            with get_db().transaction(write=False) as session:
                live = session.scalar(select(func.count()).select_from(Campaign).where(
                    Campaign.status.in_(("scheduled", "running", "paused"))))
            return bool(live)
    except TaskLockedException:
        return False


def register_campaign_tasks(huey: Any, app: Flask) -> SimpleNamespace:
    """The campaign tasks: the dispatcher (a chain of short runs, restarted every minute), one send per attempt."""
    seconds = float(app.config.get("DISPATCH_SECONDS", DISPATCH_SECONDS))

    @huey.task(name="send_attempt")
    def send_attempt(call_id: str, campaign_id: int) -> None:
        """Ask Exotel for one claimed attempt; a spent budget asks again a little later."""
        from ..campaigns import dispatch
        from ..web.placing import send_campaign_attempt

        with app.app_context():
            outcome = dispatch.send_attempt(
                get_db(), dispatch.Claimed(call_id, campaign_id), lambda cid: send_campaign_attempt(app, cid), utcnow()
            )
        log.info("attempt %s: %s", call_id, outcome, extra={"event": "campaign_attempt", "call_id": call_id})
        if outcome == "budget":
            send_attempt.schedule(args=(call_id, campaign_id), delay=5)

    @huey.task(name="dispatch_campaigns")
    def dispatch_campaigns() -> None:
        """One dispatcher run; the next is queued while campaigns are live (paused ones included: a resume is
        then dialled within seconds)."""
        if run_dispatcher(app, lambda call_id, campaign_id: send_attempt(call_id, campaign_id), seconds=seconds):
            dispatch_campaigns.schedule(delay=0.1)

    @huey.periodic_task(every_minutes(1), name="campaign_dispatcher")
    def campaign_dispatcher() -> None:
        """Start the dispatcher every minute (a second chain meets the lock and ends at once)."""
        dispatch_campaigns()

    return SimpleNamespace(
        send_attempt=send_attempt, dispatch_campaigns=dispatch_campaigns, campaign_dispatcher=campaign_dispatcher,
    )
