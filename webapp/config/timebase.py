"""This process's correction to the shared clock: hosts compare times they each wrote (heartbeats, claims,
cutoffs), so each process reads the time as the database's clock would, not as its own host's.

`webapp.db.clock` measures the offset against PostgreSQL's clock and sets it
here; with SQLite (one host by definition) it stays 0. Kept in the config
layer so that `Settings.now()` and `webapp.db.utcnow()` both apply it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)  # the reference clock minus this host's


def corrected_now() -> datetime:
    """Now, aware, in UTC, on the reference clock."""
    return datetime.now(UTC) + _offset


def clock_offset() -> timedelta:
    """How far the reference clock is ahead of this host's (negative: behind)."""
    return _offset


def set_clock_offset(offset: timedelta) -> None:
    global _offset
    _offset = offset
