"""Sending one claimed campaign attempt as the worker's task does, from a test: in a thread, its budget held."""

from __future__ import annotations

import threading

from webapp.campaigns.dispatch import Claimed, send_attempt
from webapp.db import get_db, utcnow
from webapp.jobs import dispatching


def send_in_thread(app, claimed: Claimed) -> tuple[threading.Thread, list[str]]:
    """send_attempt as the worker's task runs it, in a thread; its outcome lands in the list."""
    outcome: list[str] = []

    def run() -> None:
        with app.app_context():
            outcome.append(send_attempt(get_db(), claimed, lambda call_id: dispatching.send_claimed_attempt(app, call_id),
                                        utcnow()))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def hold_the_budget(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """Make every send wait for a budget slot until released: (waiting, go). `waiting` is set once a send waits (as
    under a spent budget); setting `go` gives it its slot."""
    waiting, go = threading.Event(), threading.Event()
    real_permit = dispatching.budget_permit

    def slow_budget(app):
        permit = real_permit(app)

        def wait_then_take(priority):
            waiting.set()
            go.wait(10)
            permit(priority)

        return wait_then_take

    monkeypatch.setattr(dispatching, "budget_permit", slow_budget)
    return waiting, go
