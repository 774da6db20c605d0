"""Background work on Huey: the queue built from settings, its tasks, the worker.

`init_jobs(app, register)` makes nothing yet: the queue is built on first use,
so a web process that never enqueues never connects to it. `register` (the
wiring passes webapp.jobs.tasks.register_tasks) defines the tasks on it; callers
then name a task by its function, e.g. `get_jobs(app).enqueue(check_call, call_id)`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec

from flask import Flask, current_app

from ..config import get_settings
from ..db import utcnow

_lock = threading.Lock()
P = ParamSpec("P")
#: A task: a module-level function of the app and its (picklable) arguments.
Task = Callable[Concatenate[Flask, P], None]
#: Defines the app's tasks on a Huey; their Huey task wrappers, by task function.
Register = Callable[[Any, Flask], dict[Callable[..., None], Any]]


class Jobs:
    """This app's queue (Huey, with its tasks registered)."""

    def __init__(self, app: Flask, register: Register):
        self.app = app
        self._register = register
        self._huey: Any = None
        self._tasks: dict[Callable[..., None], Any] = {}

    @property
    def huey(self) -> Any:
        if self._huey is None:
            with _lock:
                if self._huey is None:
                    from .queue import make_huey

                    huey = make_huey(get_settings(self.app).queue_url)
                    self._tasks = self._register(huey, self.app)
                    self._huey = huey
        return self._huey

    def close(self) -> None:
        """Close the queue's connections (they reopen on next use)."""
        if self._huey is not None:
            self._huey.storage.close()

    def _wrapper(self, task: Callable[..., None]) -> Any:
        self.huey  # noqa: B018 - builds the queue and its tasks
        return self._tasks[task]

    def enqueue(self, task: Task[P], *args: P.args, **kwargs: P.kwargs) -> None:
        """Put `task` with these arguments on the queue."""
        self._wrapper(task)(*args, **kwargs)

    def enqueue_in(self, delay: float, task: Task[P], *args: P.args, **kwargs: P.kwargs) -> None:
        """Put `task` with these arguments on the queue, to run after `delay` seconds (of the shared clock)."""
        # An aware eta: Huey would read a naive one as this host's local time.
        self._wrapper(task).schedule(args=args, kwargs=kwargs, eta=utcnow() + timedelta(seconds=delay))


def init_jobs(app: Flask, register: Register) -> None:
    from sqlalchemy import event

    jobs = app.extensions["jobs"] = Jobs(app, register)
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
