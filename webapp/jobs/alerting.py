"""The alerts in the background: the worker's evaluation every minute, and the web app's watch on the workers.

`worker_down` cannot be noticed by a worker (none is left), so each web process
runs a daemon thread that checks the heartbeats every ALERT_WATCH_SECONDS; a
claim in alert_signals lets one process of many evaluate each interval, and the
delivery's claim on the alert's row keeps them from notifying twice. The thread
starts with the first request of a process (flask run) or from gunicorn's
post_worker_init (gunicorn.conf.py), whichever comes first.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from flask import Flask
from sqlalchemy import event

from ..alerts.notify import deliver
from ..alerts.runs import run_rules, watch_workers
from ..config import get_settings
from ..db import Database
from .heartbeat import last_seen

log = logging.getLogger(__name__)


def evaluate(app: Flask) -> bool:
    """One evaluation of the worker's rules (skipped when another worker has this interval, a minute by default);
    True when notifications may be due."""
    settings = get_settings(app)
    db: Database = app.extensions["database"]
    changes = run_rules(db, settings, settings.now())
    if changes:
        log.info("alerts evaluated: %s", ", ".join(f"{c.rule} {c.action}" for c in changes),
                 extra={"event": "alerts_evaluated"})
    return bool(settings.alert_urls)


def send_due(app: Flask, rules: list[str] | None = None) -> int:
    """Send the notifications due (not those backing off); how many alerts are left to retry."""
    settings = get_settings(app)
    return deliver(app.extensions["database"], settings.alert_urls, settings.public_base_url, settings.now(), rules=rules)


class WorkerWatch:
    """The web process's thread evaluating worker_down."""

    def __init__(self, app: Flask):
        self.app = app
        self.started_at = get_settings(app).now()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="alerts-worker-watch", daemon=True)

    def check(self) -> None:
        """One look at the heartbeats, and the worker_down notifications it makes due."""
        settings = get_settings(self.app)
        db: Database = self.app.extensions["database"]
        watch_workers(db, settings, settings.now(), last_seen=lambda: last_seen(db), watching_since=self.started_at)
        if settings.alert_urls:
            send_due(self.app, ["worker_down"])

    def _run(self) -> None:
        while not self.stop.wait(get_settings(self.app).alert_watch_seconds):
            try:
                self.check()
            except Exception:
                log.exception("the workers' watch failed", extra={"event": "worker_watch_failed"})


def start_worker_watch(app: Any) -> WorkerWatch | None:
    """Start this process's watch once (again after a fork); None when ALERT_WATCH_SECONDS is 0."""
    if not isinstance(app, Flask) or get_settings(app).alert_watch_seconds <= 0:
        return None
    with _lock:
        watch: WorkerWatch | None = app.extensions.get("worker_watch")
        if watch is not None and app.extensions.get("worker_watch_pid") == os.getpid():
            return watch
        watch = app.extensions["worker_watch"] = WorkerWatch(app)
        app.extensions["worker_watch_pid"] = os.getpid()
        # Whoever disposes the app's engine (shutdown, a test) is done with this app: its watch ends too.
        event.listen(app.extensions["database"].engine, "engine_disposed", lambda _engine: watch.stop.set())
        watch.thread.start()
        log.info("watching the workers every %g s", get_settings(app).alert_watch_seconds)
        return watch


_lock = threading.Lock()


def init_worker_watch(app: Flask) -> None:
    """Start the watch with the process's first request."""

    @app.before_request
    def _watch() -> None:
        if app.extensions.get("worker_watch_pid") != os.getpid():
            start_worker_watch(app)


__all__ = ["WorkerWatch", "evaluate", "init_worker_watch", "send_due", "start_worker_watch"]
