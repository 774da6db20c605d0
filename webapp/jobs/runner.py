"""`flask --app webapp worker`: Huey's consumer with this app's queue, tasks, heartbeat and metrics."""

from __future__ import annotations

import logging

from flask import Flask
from huey import signals
from huey.consumer import Consumer, Scheduler
from sqlalchemy.exc import SQLAlchemyError

from ..db import get_db
from ..db.clock import sync_clock
from ..observability.metrics import QUEUE_DEPTH, WORKER_TASKS
from . import get_jobs
from .heartbeat import Heartbeat

log = logging.getLogger(__name__)


def _scheduler_class(period: float) -> type[Scheduler]:
    """Huey's scheduler, checking periodic tasks every `period` seconds instead of 60 (tests)."""
    return type("Scheduler", (Scheduler,), {"periodic_task_seconds": period})


def _count_outcomes(huey) -> None:
    @huey.signal(signals.SIGNAL_COMPLETE)
    def completed(signal, task, *args, **kwargs):
        WORKER_TASKS.labels(task.name, "run").inc()

    @huey.signal(signals.SIGNAL_ERROR, signals.SIGNAL_INTERRUPTED, signals.SIGNAL_TIMEOUT)
    def failed(signal, task, *args, **kwargs):
        WORKER_TASKS.labels(task.name, "failed").inc()


def run_worker(app: Flask, *, threads: int, periodic: bool, scheduler_period: float | None = None) -> None:
    """Run the consumer in this process until SIGINT (finish running tasks) or SIGTERM (stop now)."""
    huey = get_jobs(app).huey
    _count_outcomes(huey)
    consumer_class = Consumer
    if scheduler_period:
        consumer_class = type("Consumer", (Consumer,), {"scheduler_class": _scheduler_class(scheduler_period)})
    consumer = consumer_class(huey, workers=threads, worker_type="thread", periodic=periodic, scheduler_interval=1,
                              check_worker_health=True)
    with app.app_context():
        db = get_db()
    try:  # before the first beat: this host's clock may be off the database's (db.clock)
        sync_clock(db.engine)
    except SQLAlchemyError as exc:
        log.warning("clock sync failed: %s; retried in the background", type(exc).__name__)
    db.keep_up()
    heartbeat = Heartbeat(db, periodic=periodic, on_beat=lambda: QUEUE_DEPTH.set(huey.pending_count())).start()
    log.info("worker %s: %d thread(s), periodic tasks %s", heartbeat.worker_id, threads, "on" if periodic else "off")
    try:
        consumer.run()
    finally:
        heartbeat.stop()
