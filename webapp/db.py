"""The database: declarative Base, one engine per app, one session per request."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
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


def _sqlite_setup(engine: Engine) -> None:
    """Pragmas and explicit BEGIN for SQLite (the driver's own transaction handling is off)."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
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


def make_engine(database_url: str, **options) -> Engine:
    """An engine tuned for the database behind the URL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 10, "check_same_thread": False}, **options)
        _sqlite_setup(engine)
        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 5)
    options.setdefault("max_overflow", 10)
    options.setdefault("pool_timeout", 5)
    # A dead server must fail fast (healthz, webhooks answer 503 quickly).
    connect_args = {"connect_timeout": 3}
    return create_engine(url, connect_args=connect_args, **options)


class Database:
    """The app's engine and session factory; sessions live for one request."""

    def __init__(self, app: Flask | None = None):
        self.engine: Engine | None = None
        self.sessionmaker: sessionmaker[Session] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        self.engine = make_engine(app.config["DATABASE_URL"])
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
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
