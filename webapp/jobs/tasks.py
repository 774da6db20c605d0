"""The worker's tasks: module-level functions of the app, thin adapters from Huey to the services.

Each is a plain function taking the app first; `register_tasks` defines them on
the app's Huey under the names they always had, and callers name a task by its
function: `get_jobs(app).enqueue(check_call, call_id)`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask

from ..alerts.runs import record_reconcile
from ..calls.adoption import adopt_call
from ..calls.reconcile import open_call
from ..campaigns import dispatch
from ..config import get_settings
from ..db import get_db, utcnow
from ..exotel_access import exotel_client
from . import get_jobs
from .alerting import evaluate, send_due
from .archiving import run_archive, run_sweep
from .checking import run_checks
from .dispatching import run_dispatcher, send_claimed_attempt
from .intervals import claim_interval
from .outbound import any_endpoint, run_delivery
from .reconciling import every_minutes, run_reconcile

log = logging.getLogger(__name__)


def reconcile_now(app: Flask) -> None:
    """Reconcile now (enqueued by hand or by the web)."""
    _reconcile(app)


def scheduled_reconcile(app: Flask) -> None:
    """Reconcile every RECONCILE_EVERY_MINUTES (0: never), once per interval across all workers."""
    settings = get_settings(app)
    _reconcile(app, interval_seconds=settings.reconcile_interval_seconds or settings.reconcile_every_minutes * 60)


def _reconcile(app: Flask, *, interval_seconds: float | None = None) -> None:
    settings = get_settings(app)
    report = run_reconcile(app, lock_seconds=settings.reconcile_lock_seconds, interval_seconds=interval_seconds)
    if report is not None and not report.error:  # a finished run, for the reconcile_stale alert
        record_reconcile(app.extensions["database"], settings.now())


def early_checks(app: Flask) -> None:
    """Ask Exotel early about calls past their expected end without a final status (each minute)."""
    run_checks(app)


def evaluate_alerts(app: Flask) -> None:
    """Evaluate the alert rules (each minute, one worker per minute), then send their notifications in a task of
    their own: a slow or failing target never holds up the evaluation."""
    if evaluate(app):
        get_jobs(app).enqueue(deliver_alerts)


def deliver_alerts(app: Flask) -> None:
    """Send the alert notifications due to ALERT_URLS; a failed target is retried at a later minute, with backoff."""
    send_due(app)


def check_call(app: Flask, call_id: str) -> None:
    """Look up one call whose placing ended without Exotel's answer (adoption by From, ExoPhone, time)."""
    with app.app_context():
        row = open_call(get_db(), call_id)
        if row is None or row.sid is not None:
            return  # settled meanwhile (a callback, a reconciliation)
        settings = get_settings(app)
        outcome = adopt_call(get_db(), exotel_client(app), row, settings.tz, now=utcnow(),
                             never_placed_after=timedelta(minutes=settings.reconcile_never_placed_after_minutes))
        log.info("check_call %s: %s", call_id, outcome.value, extra={"event": "check_call", "call_id": call_id})


def send_attempt(app: Flask, call_id: str, campaign_id: int) -> None:
    """Ask Exotel for one claimed attempt; a spent budget asks again a little later."""
    with app.app_context():
        outcome = dispatch.send_attempt(
            get_db(), dispatch.Claimed(call_id, campaign_id), lambda cid: send_claimed_attempt(app, cid), utcnow()
        )
    log.info("attempt %s: %s", call_id, outcome, extra={"event": "campaign_attempt", "call_id": call_id})
    if outcome == "budget":
        get_jobs(app).enqueue_in(5, send_attempt, call_id, campaign_id)


def dispatch_campaigns(app: Flask) -> None:
    """One dispatcher run; the next is queued while campaigns are live (paused ones included: a resume is
    then dialled within seconds)."""
    jobs, settings = get_jobs(app), get_settings(app)
    if run_dispatcher(app, lambda call_id, campaign_id: jobs.enqueue(send_attempt, call_id, campaign_id),
                      seconds=settings.dispatch_seconds, lock_margin=settings.dispatch_lock_margin):
        jobs.enqueue_in(0.1, dispatch_campaigns)


def wake_dispatcher(app: Flask) -> None:
    """Start the dispatcher now: a campaign was created, started or resumed, and its first attempt should not
    wait for the minute's tick (a chain already running meets the lock and ends; the running one sees the
    campaign within a second). A queue that does not answer leaves it to the tick."""
    try:
        get_jobs(app).enqueue(dispatch_campaigns)
    except Exception as exc:  # any queue's error (SQLite, PostgreSQL, Redis): the tick still comes
        log.warning("could not wake the campaign dispatcher: %s", type(exc).__name__,
                    extra={"event": "dispatch_wake_failed"})


def campaign_dispatcher(app: Flask) -> None:
    """Start the dispatcher every minute (a second chain meets the lock and ends at once)."""
    get_jobs(app).enqueue(dispatch_campaigns)


def archive_recordings(app: Flask) -> None:
    """Fetch the recordings of calls that ended into RECORDINGS_DIR (each minute, once across all workers;
    nothing when it is unset)."""
    if claim_interval(get_jobs(app).huey, "archive_recordings", 60):
        run_archive(app)


def sweep_recordings(app: Flask) -> None:
    """Remove archived recordings older than RECORDINGS_KEEP_DAYS (each hour, once across all workers; nothing
    when 0)."""
    if claim_interval(get_jobs(app).huey, "sweep_recordings", 3600):
        run_sweep(app)


def deliver_webhooks(app: Flask) -> None:
    """One outbound webhook run; the next is queued while any endpoint exists (the periodic task restarts a broken chain)."""
    if run_delivery(app) and any_endpoint(app):
        get_jobs(app).enqueue(deliver_webhooks)


def wake_webhooks(app: Flask | None = None) -> None:
    """Start a delivery chain now (a new endpoint's first events need not wait for the periodic start)."""
    try:
        get_jobs(app).enqueue(deliver_webhooks)
    except Exception:  # the queue being down must not fail the request: the periodic task starts it later
        log.warning("could not queue webhook delivery", exc_info=True)


def webhook_deliverer(app: Flask) -> None:
    """Start a webhook delivery chain every minute (one past the free slots ends at once)."""
    if any_endpoint(app):
        get_jobs(app).enqueue(deliver_webhooks)


def _bound(app: Flask, task: Callable[..., None]) -> Callable[..., None]:
    """`task` with the app bound; its module and name stay the task's, so Huey's identifiers do not change."""

    @functools.wraps(task)
    def run(*args: Any, **kwargs: Any) -> None:
        task(app, *args, **kwargs)

    return run


def register_tasks(huey: Any, app: Flask) -> dict[Callable[..., None], Any]:
    """Define the tasks on `huey`: the same names in the web process (to enqueue) and in the worker."""
    every = every_minutes(get_settings(app).reconcile_every_minutes)
    return {
        reconcile_now: huey.task(name="reconcile")(_bound(app, reconcile_now)),
        scheduled_reconcile: huey.periodic_task(every, name="scheduled_reconcile")(_bound(app, scheduled_reconcile)),
        early_checks: huey.periodic_task(every_minutes(1), name="early_checks")(_bound(app, early_checks)),
        check_call: huey.task(name="check_call", retries=3, retry_delay=60)(_bound(app, check_call)),
        send_attempt: huey.task(name="send_attempt")(_bound(app, send_attempt)),
        dispatch_campaigns: huey.task(name="dispatch_campaigns")(_bound(app, dispatch_campaigns)),
        campaign_dispatcher: huey.periodic_task(every_minutes(1), name="campaign_dispatcher")(
            _bound(app, campaign_dispatcher)),
        archive_recordings: huey.periodic_task(every_minutes(1), name="archive_recordings")(
            _bound(app, archive_recordings)),
        sweep_recordings: huey.periodic_task(every_minutes(60), name="sweep_recordings")(_bound(app, sweep_recordings)),
        evaluate_alerts: huey.periodic_task(every_minutes(1), name="evaluate_alerts")(_bound(app, evaluate_alerts)),
        deliver_alerts: huey.task(name="deliver_alerts")(_bound(app, deliver_alerts)),
        deliver_webhooks: huey.task(name="deliver_webhooks")(_bound(app, deliver_webhooks)),
        webhook_deliverer: huey.periodic_task(every_minutes(1), name="webhook_deliverer")(_bound(app, webhook_deliverer)),
    }
