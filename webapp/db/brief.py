"""A short read-only transaction whose statements give up after a few seconds, on either database.

For figures read on a schedule someone else sets (a Prometheus scrape): a slow
query there must cost a missing figure, never a pile of scrapes each holding a
connection while the database is busy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from .answer import answer_within
from .session import Database

# SQLite calls the progress handler every this many virtual-machine steps: often enough to stop
# within milliseconds of the deadline, rarely enough to cost nothing measurable.
SQLITE_STEPS = 10_000


@contextmanager
def brief_read(db: Database, seconds: float) -> Iterator[Session]:
    """A read-only transaction in which each statement stops after `seconds` (an OperationalError)."""
    # PostgreSQL: the server cancels the statement; answer_within also bounds a server that stops answering.
    with answer_within(seconds + 1.0), db.transaction(write=False) as session:
        connection = session.connection()
        if db.dialect == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(seconds * 1000))}")
            yield session
            return
        # SQLite has no statement timeout: its progress handler interrupts a statement past the deadline.
        raw = connection.connection.driver_connection
        assert raw is not None  # a checked-out connection
        deadline = time.monotonic() + seconds
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), SQLITE_STEPS)
        try:
            yield session
        finally:
            raw.set_progress_handler(None, SQLITE_STEPS)
