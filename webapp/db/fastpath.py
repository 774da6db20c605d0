"""The fast write path: one committed write on a raw DBAPI connection, no ORM, no Session.

The StatusCallback's hot path (calls.fastpath) runs here: building and
compiling ORM statements costs more Python per request than the database
work itself. PostgreSQL writes run in autocommit (one statement, one round
trip); SQLite writes take BEGIN IMMEDIATE with this app's writers queued on
SQLiteWriteLock first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

T = TypeVar("T")


class SQLiteWriteLock:
    """Queue this app's SQLite writers on a lock instead of SQLite's busy handler.

    SQLite admits one writer at a time; the others poll, sleeping 1, 2, 5, 10 ...
    up to 100 ms between tries, so a burst of callbacks across gunicorn workers
    spends most of its time asleep. A thread lock (within a process) and flock on
    a file beside the database (between processes) wake the next writer the
    moment the previous one commits. Other writers (migrations, the CLI) still
    meet busy_timeout as before; the kernel drops a dead process's flock.
    """

    def __init__(self, database: str | None):
        self._threads = threading.Lock()
        self._path = f"{database}-writers.lock" if database and database != ":memory:" and fcntl else None
        self._fd: int | None = None
        self._pid = 0

    def _file(self, path: str) -> int:
        if self._fd is None or self._pid != os.getpid():  # opened anew after a fork
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._path is not None:
            try:
                fcntl.flock(self._file(self._path), fcntl.LOCK_EX)
            except OSError:
                self._path = None  # a file system without locks: the busy handler alone
            except BaseException:
                self._threads.release()
                raise

    def __exit__(self, *_exc) -> None:
        try:
            if self._path is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def invalidate_pool(engine: Engine, fairy: Any, exc: BaseException) -> None:
    """Drop `fairy`'s connection and mark every connection opened before it stale.

    This is what SQLAlchemy's own Connection does on a disconnect error, but it
    has no public call for a raw DBAPI connection: Pool._invalidate is the
    method Connection itself uses. tests/db/test_fastpath.py fails if it stops
    doing this (a second pooled connection to a restarted server is then reused).
    """
    engine.pool._invalidate(fairy, exc)


def run_write(engine: Engine, write_lock: SQLiteWriteLock | None, work: Callable[[Any], T]) -> T:
    """Run `work(cursor)` as one committed write on a pooled DBAPI connection, without the ORM.

    PostgreSQL (`write_lock` None): autocommit, so `work` must issue a single
    statement (atomic on its own: one round trip, no BEGIN or COMMIT). SQLite:
    one BEGIN IMMEDIATE transaction, this app's writers queued on `write_lock`
    first. Driver errors come out as SQLAlchemy's (an outage as
    OperationalError: the app answers 503), and a broken connection leaves the pool.
    """
    dialect = engine.dialect
    fairy: Any = None
    connection: Any = None
    try:
        fairy = engine.raw_connection()
        connection = fairy.driver_connection
        cursor = connection.cursor()
        if write_lock is None:
            connection.autocommit = True
            try:
                return work(cursor)
            finally:
                if not (connection.broken or connection.closed):  # a broken one is discarded below
                    connection.autocommit = False
        with write_lock:
            cursor.execute("BEGIN IMMEDIATE")
            try:
                result = work(cursor)
            except BaseException:
                connection.rollback()
                raise
            cursor.execute("COMMIT")
            return result
    except DisconnectionError as exc:  # the pool found no live connection
        raise OperationalError(None, None, exc) from exc
    except dialect.loaded_dbapi.Error as exc:
        invalidated = connection is not None and dialect.is_disconnect(exc, connection, None)
        if invalidated:
            invalidate_pool(engine, fairy, exc)
        raise DBAPIError.instance(
            None, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=invalidated, dialect=dialect
        ) from exc
    finally:
        if fairy is not None:
            fairy.close()  # back to the pool
