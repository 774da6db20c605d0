"""A psycopg connection that gives up on a server that stops answering (answer_within)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import errors

from .answer import answer_deadline

# psycopg's own wait timeout (internal, an OperationalError); its parent if a release renames it.
_WAIT_TIMEOUT: type[Exception] = getattr(errors, "_WaitTimeout", psycopg.OperationalError)


class NoAnswer(psycopg.OperationalError):
    """PostgreSQL did not answer within the deadline; the connection was closed."""


class DeadlineConnection(psycopg.Connection[Any]):
    """Every round trip (psycopg waits on the socket in Connection.wait) honours answer_within()."""

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        deadline = answer_deadline()
        if deadline is None:
            return super().wait(gen, interval=interval, timeout=timeout)
        remaining = max(deadline - time.monotonic(), 0.001)
        try:
            return super().wait(gen, interval=interval, timeout=remaining if timeout is None else min(timeout, remaining))
        except _WAIT_TIMEOUT:
            if time.monotonic() < deadline:
                raise  # the caller's own, shorter timeout
            # Whatever was sent may still arrive: the connection cannot be trusted again.
            self.pgconn.finish()
            raise NoAnswer("the database did not answer in time") from None
