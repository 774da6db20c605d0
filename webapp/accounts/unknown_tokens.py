"""Bearer tokens that match no live token, in the audit log without flooding it.

Someone spraying guessed tokens must not write a row per request. Each client
address gets at most one `token.unknown` row a minute, carrying how many
refused requests it stands for: the first refusal from a quiet address is
written at once; those that follow within the minute are counted and written
as one row when the minute is over (with the address's next refusal, or the
next API request this process serves, whichever comes first). Past
`max_addresses` addresses in one minute, the others share one row without an
address, so a spray from many addresses cannot flood the log either.

Counts live in each process's memory, like the sign-in throttle: N worker
processes write at most N rows per address a minute, and a process that stops
loses the counts it had not written yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..db import Database
from . import audit
from .audit import Actor

OTHER_ADDRESSES = ""  # the shared key of addresses past max_addresses


@dataclass(frozen=True)
class Tally:
    """Refused requests from one address, for one audit row."""

    address: str | None  # None: addresses past the limit, together
    count: int
    first_at: datetime
    last_at: datetime


@dataclass
class _Window:
    opened: float  # on the monotonic clock
    held: int = 0  # counted, not yet written
    first_at: datetime | None = None
    last_at: datetime | None = None


class UnknownTokens:
    """Per-address windows of refused tokens; says which rows to write, and when."""

    def __init__(self, *, window: float = 60.0, max_addresses: int = 1000, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self.max_addresses = max_addresses
        self.clock = clock
        self._windows: dict[str, _Window] = {}
        self._next_due = float("inf")
        self._lock = threading.Lock()

    def refused(self, address: str | None, at: datetime) -> list[Tally]:
        """Count one refused request from `address` at `at`; returns the rows to write now."""
        now = self.clock()
        with self._lock:
            rows = self._close(now)
            key = address or ""
            if key not in self._windows and len(self._windows) >= self.max_addresses:
                key = OTHER_ADDRESSES
            current = self._windows.get(key)
            if current is None:  # quiet until now: written at once, and the address's minute starts
                self._windows[key] = _Window(opened=now)
                self._next_due = min(self._next_due, now + self.window)
                rows.append(Tally(key or None, 1, at, at))
            else:
                current.held += 1
                current.first_at = current.first_at or at
                current.last_at = at
            return rows

    def due(self) -> list[Tally]:
        """Rows of minutes that are over; nearly free while none is (checked on every API request)."""
        now = self.clock()
        if now < self._next_due:
            return []
        with self._lock:
            return self._close(now)

    def _close(self, now: float) -> list[Tally]:
        if now < self._next_due:
            return []
        rows = []
        for key, current in list(self._windows.items()):
            if now - current.opened < self.window:
                continue
            if current.held and current.first_at and current.last_at:
                rows.append(Tally(key or None, current.held, current.first_at, current.last_at))
                # A row was just written for this address: its next minute starts now, so
                # the one row a minute holds however the refusals fall.
                self._windows[key] = _Window(opened=now)
            else:
                del self._windows[key]
        self._next_due = min((w.opened + self.window for w in self._windows.values()), default=float("inf"))
        return rows


def record_unknown_tokens(db: Database, rows: list[Tally]) -> None:
    """One `token.unknown` row per tally, in one transaction. The token itself is never written."""
    if not rows:
        return
    with db.transaction() as session:
        for row in rows:
            detail = {"count": row.count, "first_at": row.first_at.isoformat(), "last_at": row.last_at.isoformat()}
            audit.record(session, Actor(audit.SYSTEM, row.address), "token.unknown", None, detail, at=row.last_at)
