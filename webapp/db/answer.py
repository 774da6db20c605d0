"""The time by which PostgreSQL must answer, for the code running in this context (answer_within)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("database_answer_deadline", default=None)


@contextmanager
def answer_within(seconds: float) -> Iterator[None]:
    """PostgreSQL must answer every round trip made inside the block before `seconds` have passed.

    When it does not, the connection is closed and the round trip raises
    NoAnswer (an OperationalError: the app answers 503), and the pool replaces
    the connection. A tighter deadline already in force wins.
    """
    deadline = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(current, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def answer_deadline() -> float | None:
    """The time.monotonic() by which the database must answer, or None (no deadline)."""
    return _deadline.get()
