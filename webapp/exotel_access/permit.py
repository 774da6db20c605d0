"""Each request to Exotel first takes a slot of the deployment's budget: a person waits a few seconds at most.

The budget is built on first use from QUEUE_URL's storage (the app's own engine
when the queue is the app's database): it needs the storage, never Huey.
"""

from __future__ import annotations

import threading

from flask import Flask

from .. import signals
from ..config import get_settings
from ..exotel import BULK, INTERACTIVE, BudgetSpent, Permit, Priority
from ..observability.metrics import BUDGET_REFUSED, BUDGET_WAITS
from .budget import Budget
from .observe import observer

_lock = threading.Lock()


def get_budget(app: Flask) -> Budget:
    """The app's Budget, made on first use."""
    budget: Budget | None = app.extensions.get("exotel_budget")
    if budget is not None:
        return budget
    with _lock:
        budget = app.extensions.get("exotel_budget")
        if budget is None:
            settings = get_settings(app)
            engine = app.extensions["database"].engine if settings.queue_url == settings.database_url else None
            # The storage's own clock, unless a test set the app's (then read at each grant: it may move on).
            clock = (lambda: get_settings(app).now().timestamp()) if settings.clock is not None else None
            budget = Budget(settings.queue_url, settings.exotel_requests_per_minute, engine=engine, clock=clock)
            app.extensions["exotel_budget"] = budget
    return budget


def close_budget(app: Flask) -> None:
    """Close the budget's connections (it reopens them on next use)."""
    budget: Budget | None = app.extensions.get("exotel_budget")
    if budget is not None:
        budget.close()


def budget_permit(app: Flask) -> Permit:
    """A Permit drawing from the app's budget: EXOTEL_BUDGET_WAIT for a person, EXOTEL_BUDGET_BULK_WAIT for bulk."""
    settings = get_settings(app)
    waits = {INTERACTIVE: settings.exotel_budget_wait, BULK: settings.exotel_budget_bulk_wait}

    def permit(priority: Priority) -> None:
        def waited(_seconds: float) -> None:
            BUDGET_WAITS.labels(priority).inc()
            observer(app).budget(signals.BUDGET_WAIT)  # for the budget_saturated alert

        try:
            get_budget(app).take(priority, wait=waits[priority], on_wait=waited)
        except Exception as exc:
            BUDGET_REFUSED.labels(priority).inc()
            if isinstance(exc, BudgetSpent):
                observer(app).budget(signals.BUDGET_REFUSED)
            raise

    return permit
