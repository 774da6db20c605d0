"""Outbound webhooks in the worker: a run fans new events out and delivers due messages until its time is up.

At most DELIVERY_SLOTS runs at once across all workers (expiring locks), and at
most one per worker process, so a worker's other threads stay free for
campaigns and reconciliation. Each run sends a claimed batch on a small thread
pool: a slow receiver holds its own requests, not the others', and never the
callback path (which only writes the event row, in the database trigger).

A run's threads are niced (NICE, Linux): where web and worker share a host's
cores, a backlog being delivered yields the CPU to callbacks being ingested.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from huey.exceptions import TaskLockedException
from sqlalchemy import exists, select

from ..config import Settings, get_settings
from ..db import get_db
from ..observability.metrics import WEBHOOK_BACKLOG, WEBHOOK_ENDPOINTS_FAILING, WEBHOOK_OLDEST_UNDELIVERED
from ..webhooks import delivery
from ..webhooks.addresses import http_session
from ..webhooks.models import WebhookEndpoint
from ..webhooks.outbox import FAN_OUT_BATCH, FAN_OUT_TRICKLE, fan_out
from ..webhooks.queries import Waiting, backlog, waiting
from . import get_jobs

log = logging.getLogger(__name__)

NICE = 10
DELIVERY_SLOTS = 2
SENDERS = 8  # requests in flight at once per run
BATCH = 64
_running_here = threading.Lock()
_local = threading.local()


def any_endpoint(app: Flask) -> bool:
    with app.app_context(), get_db().transaction(write=False) as session:
        return bool(session.scalar(select(exists().where(WebhookEndpoint.id.is_not(None)))))


def run_delivery(app: Flask) -> bool:
    """One run (WEBHOOK_RUN_SECONDS) if a slot is free; whether it ran."""
    if not _running_here.acquire(blocking=False):
        return False
    try:
        huey = get_jobs(app).huey
        settings = get_settings(app)
        for slot in range(DELIVERY_SLOTS):
            try:
                with huey.lock_task(f"webhook-delivery-{slot}", ttl=int(settings.webhook_run_seconds + settings.webhook_timeout + 30)):
                    _in_niced_thread(lambda: _run(app))
                    return True
            except TaskLockedException:
                continue
        return False
    finally:
        _running_here.release()


def _in_niced_thread(work: Callable[[], None]) -> None:
    """Run `work` in a thread of its own at lower CPU priority (its pool's threads inherit it); errors come back here.

    A thread of its own because niceness cannot be given back without privileges, and the Huey thread
    that called goes on to run other tasks."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + NICE)
        except (AttributeError, OSError):  # not Linux: the same work at the same priority
            pass
        try:
            work()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="webhook-delivery")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _send(app: Flask, claimed: delivery.Claimed) -> delivery.Outcome:
    settings = get_settings(app)
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = http_session(allow_private=settings.webhook_allow_private)
    return delivery.send(claimed, session, secret_key=settings.secret_key, timeout=settings.webhook_timeout)


def _idle_seconds(work: Waiting, settings: Settings, deadline: float, *, sent: bool) -> float:
    """How long an idle run waits before looking again.

    WEBHOOK_POLL_SECONDS while some endpoint answers (its new events go out within that), or while one
    being probed has nothing waiting. Otherwise every endpoint's backlog waits on its next probe, and
    nothing can happen before it is due, so the run sleeps until then (at most to its end, when the next
    run looks anyway): an outage costs the database a few reads per probe, not several a second.
    """
    poll = settings.webhook_poll_seconds
    if work.healthy or sent or work.fan_out or work.next_probe is None:
        return poll
    return max(poll, min((work.next_probe - settings.now()).total_seconds(), deadline - time.monotonic()))


def _run(app: Flask) -> None:
    settings = get_settings(app)
    deadline = time.monotonic() + settings.webhook_run_seconds
    with app.app_context(), ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook") as pool:
        db = get_db()
        last_gauges = 0.0
        while time.monotonic() < deadline:
            fanned = 0
            work = waiting(db, settings.now(), scale=settings.webhook_retry_scale)  # a read first: SQLite's write lock only when there is work
            if work.fan_out:
                # While every endpoint is down, events wait in the outbox (a trickle is queued only for an
                # endpoint left with nothing to probe with): an outage costs no write per event.
                with db.transaction() as session:
                    fanned = fan_out(session, settings.now(), limit=FAN_OUT_BATCH if work.healthy else FAN_OUT_TRICKLE)
            # What `waiting` read still holds unless this round fanned events out to an endpoint that answers.
            claimed = delivery.claim(db, settings.now(), lease_seconds=settings.webhook_lease_seconds, limit=BATCH,
                                   scale=settings.webhook_retry_scale, work=None if fanned and work.healthy else work)
            outcomes = list(pool.map(lambda c: _send(app, c), claimed))
            delivery.record(db, outcomes, settings.now(), scale=settings.webhook_retry_scale)
            if time.monotonic() - last_gauges > 5:
                last_gauges = time.monotonic()
                with db.transaction(write=False) as session:
                    figures = backlog(session, settings.now())
                WEBHOOK_BACKLOG.set(figures.pending)
                WEBHOOK_OLDEST_UNDELIVERED.set(figures.oldest_seconds)
                WEBHOOK_ENDPOINTS_FAILING.set(figures.failing)
            if not (fanned and work.healthy) and not any(outcome.delivered for outcome in outcomes):
                time.sleep(_idle_seconds(work, settings, deadline, sent=bool(outcomes)))
