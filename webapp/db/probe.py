"""What /healthz asks the database: does it answer, and could it take a write now?

PostgreSQL: one query, which also reads `transaction_read_only` (a standby, or
default_transaction_read_only). SQLite: a write probe and the disk's free space.
The probe takes the write lock (BEGIN IMMEDIATE), creates a table and rolls
back: nothing reaches the file, but SQLite refuses the write as it would a real
one when the file or its directory is read-only, the connection is query_only,
or the database is at its page limit (max_page_count). Because nothing is
written, a full disk shows only through statvfs: less than `min_free_bytes`
free where the database lives counts as full.
"""

from __future__ import annotations

import os
import sqlite3

from sqlalchemy import Engine

OK, READ_ONLY, FULL, LOCKED = "ok", "read_only", "full", "locked"

# Less free space than this where the SQLite file lives counts as a full disk (a WAL
# checkpoint and a day of callbacks fit in it).
MIN_FREE_BYTES = 64 * 1024 * 1024

# The probe's wait for the write lock, in ms: a callback waits on the same lock.
LOCK_WAIT_MS = 2000


def probe_postgresql(engine: Engine) -> str:
    """OK, or READ_ONLY when this server refuses writes; raises SQLAlchemyError when it does not answer."""
    with engine.connect() as connection:
        read_only = connection.exec_driver_sql("SELECT current_setting('transaction_read_only')").scalar()
    return READ_ONLY if read_only == "on" else OK


def probe_sqlite(engine: Engine, min_free_bytes: int) -> str:
    """OK, READ_ONLY, FULL or LOCKED (the write lock not had within LOCK_WAIT_MS)."""
    path = engine.url.database or ""
    path = path.removeprefix("file:").partition("?")[0]  # a URI filename (uri=true)
    if path and path != ":memory:":
        stats = os.statvfs(os.path.dirname(os.path.abspath(path)))
        if stats.f_bavail * stats.f_frsize < min_free_bytes:
            return FULL
    fairy = engine.raw_connection()
    try:
        connection: sqlite3.Connection = fairy.driver_connection  # type: ignore[assignment]
        busy_ms = connection.execute("PRAGMA busy_timeout").fetchone()[0]
        connection.execute(f"PRAGMA busy_timeout={min(busy_ms, LOCK_WAIT_MS)}")
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute("CREATE TABLE health_probe (x)")  # a new page: the file must grow
            finally:
                connection.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            code = exc.sqlite_errorcode & 0xFF  # the primary code of an extended one
            if code == sqlite3.SQLITE_READONLY:
                return READ_ONLY
            if code == sqlite3.SQLITE_FULL:
                return FULL
            if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return LOCKED
            raise
        finally:
            connection.execute(f"PRAGMA busy_timeout={busy_ms}")
    finally:
        fairy.close()
    return OK
