"""Engine construction and tuning: SQLite pragmas and explicit BEGIN, PostgreSQL timeouts and idle pings."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from .answer import answer_deadline, answer_within
from .checkpoint import SAFETY_NET_PAGES

# SQLite transactions that will write take the write lock up front (BEGIN IMMEDIATE):
# a deferred transaction that reads first and writes later fails at once with
# "database is locked" when another writer committed in between, busy_timeout or not.
WRITE = {"sqlite_begin": "IMMEDIATE"}

# A pooled PostgreSQL connection idle longer than this is checked before reuse.
IDLE_PING_SECONDS = 1.0

# How long /healthz and a callback's write wait for PostgreSQL to answer, in all (the idle
# ping, the statement, the rollback on check-in). With the 2 s pool wait and the 2 s
# connect timeout below, a hung server is a 503 in under 5 s (measured in
# tests/hardening/test_hung_database.py). TCP timeouts cannot see a hung server: its
# kernel still acknowledges every byte.
ANSWER_SECONDS = 2.5
POOL_WAIT_SECONDS = 2
CONNECT_SECONDS = 2  # libpq's minimum

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
            # Checkpoints run on a thread of their own (db.checkpoint); a commit checkpoints only past this.
            cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")
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
    options.setdefault("pool_timeout", POOL_WAIT_SECONDS)
    # A dead server must fail fast (healthz, webhooks answer 503 quickly): connecting
    # gives up after 2 s, and a connection whose packets go unacknowledged for 5 s
    # (the server's host vanished) fails instead of hanging for the kernel's minutes.
    connect_args = {
        "connect_timeout": CONNECT_SECONDS,
        "tcp_user_timeout": 5000,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }
    engine = create_engine(url, connect_args=connect_args, **options)
    _connect_with_deadlines(engine)
    _ping_when_idle(engine)
    return engine


def _connect_with_deadlines(engine: Engine) -> None:
    """Open PostgreSQL connections as DeadlineConnection, so that answer_within() holds for them."""
    from .deadline import DeadlineConnection, NoAnswer

    @event.listens_for(engine, "do_connect")
    def connect(_dialect, _record, cargs, cparams):
        deadline = answer_deadline()
        if deadline is not None and time.monotonic() >= deadline:
            # The time went on a connection that stopped answering: connecting now would
            # only add CONNECT_SECONDS to the answer; the next request connects afresh.
            raise NoAnswer("the database did not answer in time")
        return DeadlineConnection.connect(*cargs, **cparams)


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
            _ping(dbapi_connection)
        except DisconnectionError:
            raise
        except Exception as exc:
            raise DisconnectionError(str(exc)) from exc


def _ping(connection: Any) -> None:
    """An empty query, one round trip, no transaction opened; bounded like any answer (a hung server)."""
    with answer_within(ANSWER_SECONDS):
        connection.autocommit = True  # no BEGIN before it (the connection is idle: no round trip)
        try:
            connection.execute(";")
        finally:
            if not connection.closed:
                connection.autocommit = False
