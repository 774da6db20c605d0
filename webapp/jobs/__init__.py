"""Background work on Huey: the queue built from settings, its tasks, the Exotel budget, the worker.

`init_jobs(app)` makes nothing yet: the queue and the budget are built on first
use, so a web process that never enqueues never connects to the queue.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app

from ..config import get_settings

_lock = threading.Lock()


class Jobs:
    """This app's queue (Huey, with its tasks registered) and its Exotel budget."""

    def __init__(self, app: Flask):
        self.app = app
        self._huey: Any = None
        self._budget: Any = None
        self.tasks: Any = None

    @property
    def huey(self):
        if self._huey is None:
            with _lock:
                if self._huey is None:
                    from .queue import make_huey
                    from .tasks import register_tasks

                    huey = make_huey(get_settings(self.app).queue_url)
                    self.tasks = register_tasks(huey, self.app)
                    self._huey = huey
        return self._huey

    @property
    def budget(self):
        if self._budget is None:
            with _lock:
                if self._budget is None:
                    from ..exotel_access.budget import Budget

                    settings = get_settings(self.app)
                    # The queue in the app's own database: the budget shares the app's pool.
                    engine = self.app.extensions["database"].engine if settings.queue_url == settings.database_url else None
                    self._budget = Budget(settings.queue_url, settings.exotel_requests_per_minute, engine=engine,
                                          clock=self.app.config.get("EXOTEL_BUDGET_CLOCK"))
        return self._budget

    def close(self) -> None:
        """Close the queue's and the budget's connections (they reopen on next use)."""
        if self._huey is not None:
            self._huey.storage.close()
        if self._budget is not None:
            self._budget.close()

    def enqueue(self, name: str, *args: Any, delay: float | None = None) -> None:
        """Put task `name` on the queue (after `delay` seconds)."""
        self.huey  # noqa: B018 - builds the queue and its tasks
        task = getattr(self.tasks, name)
        if delay:
            task.schedule(args=args, delay=delay)
        else:
            task(*args)


def init_jobs(app: Flask) -> None:
    from sqlalchemy import event

    jobs = app.extensions["jobs"] = Jobs(app)
    # Whoever disposes the app's engine (shutdown, a fork, a test) is done with the queue's connections too.
    event.listen(app.extensions["database"].engine, "engine_disposed", lambda _engine: jobs.close())

    @app.context_processor
    def worker_banner() -> dict[str, bool]:
        """`worker_stopped` for base.html: signed-in pages say when no worker was seen lately."""
        from flask_login import current_user
        from sqlalchemy.exc import SQLAlchemyError

        from ..db import get_db
        from .heartbeat import worker_status

        if not getattr(current_user, "is_authenticated", False):
            return {"worker_stopped": False}
        try:
            return {"worker_stopped": not worker_status(get_db())["seen"]}
        except SQLAlchemyError:
            return {"worker_stopped": False}


def get_jobs(app: Flask | None = None) -> Jobs:
    """The Jobs of the current app (or of `app`)."""
    return (app or current_app).extensions["jobs"]
