"""Reconciliation in the worker: one run at a time across all workers, a deadline inside its lock.

Huey pops a task before running it, so a worker killed mid-task loses it; the
truth lives in the app's tables instead, and the periodic reconciliation reads
what is still open each time, so its next run redoes whatever a killed one left
undone. One scheduled run per interval across all workers: the run first
claims its interval (intervals.py). One run at a time across all workers
(a scheduled one and one asked for by hand): Huey's lock, with a time to
live (a killed worker's lock expires), and a deadline inside it shorter than
that time to live (a slow run stops and leaves the rest to the next one).
"""

from __future__ import annotations

import calendar
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from huey.exceptions import TaskLockedException

from ..calls.reconcile import ReconcileReport, reconcile
from ..config import get_settings
from ..db import get_db
from ..exotel_access import exotel_client
from ..observability.metrics import RECONCILE_LAST_RUN, RECONCILE_SETTLED
from . import get_jobs
from .intervals import claim_interval

log = logging.getLogger(__name__)

RECONCILE_LOCK = "reconcile"


def every_minutes(minutes: int) -> Callable[[datetime], bool]:
    """A Huey schedule: true on every `minutes`-th minute since the epoch (regular for any N)."""

    def due(moment: datetime) -> bool:
        return minutes > 0 and (calendar.timegm(moment.timetuple()) // 60) % minutes == 0

    return due


def run_reconcile(app: Flask, *, lock_seconds: float, interval_seconds: float | None = None) -> ReconcileReport | None:
    """One reconciliation run inside the app; the report, or None when another worker holds the lock (or, with
    `interval_seconds`, has already claimed this interval's run: see intervals.py)."""
    huey = get_jobs(app).huey
    if interval_seconds is not None and not claim_interval(huey, RECONCILE_LOCK, interval_seconds):
        log.info("reconcile skipped: another worker ran this interval's", extra={"event": "reconcile_skipped",
                                                                                 "reason": "interval"})
        return None
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
        log.info("reconcile skipped: another worker is running it", extra={"event": "reconcile_skipped",
                                                                            "reason": "running"})
        return None
