"""The database: declarative Base, one engine per app, one session per request."""

from __future__ import annotations

import os
import threading
import time
import weakref
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, TypeVar

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Identical constraint names on SQLite and PostgreSQL, so migrations can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite transactions that will write take the write lock up front (BEGIN IMMEDIATE):
# a deferred transaction that reads first and writes later fails at once with
# "database is locked" when another writer committed in between, busy_timeout or not.
WRITE = {"sqlite_begin": "IMMEDIATE"}

# A pooled PostgreSQL connection idle longer than this is checked before reuse.
IDLE_PING_SECONDS = 1.0


T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as UTC on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        # SQLite has no zone type: store naive UTC text that its date functions read.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(timezone.utc)


def _sqlite_setup(engine: Engine, busy_timeout: float) -> None:
    """Pragmas and explicit BEGIN for SQLite (the driver's own transaction handling is off)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives an application crash; only power loss can
            # take the last transactions, which is the trade-off SQLite documents for WAL.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(database_url: str, *, busy_timeout: float = 10.0, **options) -> Engine:
    """An engine tuned for the database behind the URL; SQLite waits `busy_timeout` s for a lock."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False}, **options)
        _sqlite_setup(engine, busy_timeout)
        return engine
    options.setdefault("pool_size", 5)
    options.setdefault("max_overflow", 10)
    options.setdefault("pool_timeout", 5)
    # A dead server must fail fast (healthz, webhooks answer 503 quickly): connecting
    # gives up after 3 s, and a connection whose packets go unacknowledged for 5 s
    # (the server's host vanished) fails instead of hanging for the kernel's minutes.
    connect_args = {
        "connect_timeout": 3,
        "tcp_user_timeout": 5000,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }
    engine = create_engine(url, connect_args=connect_args, **options)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Check a pooled connection before reuse only when it sat idle (HikariCP's bypass window).

    pool_pre_ping would cost a round trip (two: BEGIN and SELECT 1) on every
    checkout. A connection used in the last second is as good as a ping; one
    left idle longer may have been cut by a database restart, so it is checked
    and replaced. A connection that breaks mid-use still fails that request
    (503) and is discarded by the pool.
    """

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            if dbapi_connection.closed or dbapi_connection.broken:
                raise DisconnectionError("connection closed")
            # An empty query: one round trip, no transaction opened.
            dbapi_connection.pgconn.exec_(b"")
            if dbapi_connection.pgconn.status != 0:  # CONNECTION_OK
                raise DisconnectionError("connection lost")
        except DisconnectionError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure here means "not usable"
            raise DisconnectionError(str(exc)) from exc


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

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # opened anew after a fork
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._path is not None:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
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


class Database:
    """The app's engine and session factory; sessions live for one request."""

    def __init__(self, app: Flask | None = None):
        self.engine: Engine | None = None
        self.sessionmaker: sessionmaker[Session] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        self.engine = make_engine(app.config["DATABASE_URL"], busy_timeout=app.config.get("SQLITE_BUSY_TIMEOUT", 10.0))
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        url = self.engine.url
        self._write_lock = SQLiteWriteLock(url.database) if url.get_backend_name() == "sqlite" else None
        # gunicorn --preload forks workers after create_app(), which may have used the
        # pool: a child must open its own connections, never share its parent's sockets.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (db := ref()) is not None and db.engine.dispose(close=False))
        app.extensions["database"] = self
        app.teardown_appcontext(self._close_session)

    @staticmethod
    def _close_session(_exc) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        """The session of this request (or app context), created on first use."""
        if "db_session" not in g:
            g.db_session = self.sessionmaker()
        return g.db_session

    def run_write(self, work: Callable[[Any], T]) -> T:
        """Run `work(cursor)` as one committed write on a pooled DBAPI connection, without the ORM.

        For short hot-path writes (a StatusCallback). PostgreSQL: autocommit, so
        `work` must issue a single statement (atomic on its own: one round trip,
        no BEGIN or COMMIT). SQLite: one BEGIN IMMEDIATE transaction, writers of
        this app queued on a lock first (see SQLiteWriteLock). Driver errors come
        out as SQLAlchemy's (an outage as OperationalError: the app answers 503),
        and a broken connection leaves the pool.
        """
        dialect = self.engine.dialect
        fairy = connection = None
        try:
            fairy = self.engine.raw_connection()
            connection = fairy.driver_connection
            cursor = connection.cursor()
            if self._write_lock is None:
                connection.autocommit = True
                try:
                    return work(cursor)
                finally:
                    if not (connection.broken or connection.closed):  # a broken one is discarded below
                        connection.autocommit = False
            with self._write_lock:
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
                # As SQLAlchemy's Connection does: this connection goes, and every
                # connection opened before it is replaced on its next checkout.
                self.engine.pool._invalidate(fairy, exc)
            raise DBAPIError.instance(
                None, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=invalidated, dialect=dialect
            ) from exc
        finally:
            if fairy is not None:
                fairy.close()  # back to the pool

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A new session in one transaction: committed on success, rolled back on error."""
        with self.sessionmaker() as session, session.begin():
            if write:
                # First use of the connection: the option reaches the BEGIN it emits.
                session.connection(execution_options=WRITE)
            yield session


def get_db() -> Database:
    """The Database of the current app."""
    return current_app.extensions["database"]
