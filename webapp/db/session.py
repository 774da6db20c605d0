"""The app's Database: one engine per app, one session per request, transactions owned by the caller."""

from __future__ import annotations

import os
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..config import get_settings
from . import probe
from .answer import answer_within
from .checkpoint import keep_checkpoints
from .clock import keep_clock
from .engine import ANSWER_SECONDS, WRITE, make_engine
from .fastpath import SQLiteWriteLock, run_write

T = TypeVar("T")


class Database:
    """The app's engine and session factory; sessions live for one request."""

    def __init__(self, app: Flask):
        self.engine: Engine = make_engine(
            get_settings(app).database_url, busy_timeout=get_settings(app).sqlite_busy_timeout
        )
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        url = self.engine.url
        self._write_lock = SQLiteWriteLock(url.database) if url.get_backend_name() == "sqlite" else None
        # gunicorn --preload forks workers after create_app(), which may have used the
        # pool: a child must open its own connections, never share its parent's sockets.
        ref = weakref.ref(self)

        def forget_parent_connections() -> None:
            database = ref()
            if database is not None:
                database.engine.dispose(close=False)

        os.register_at_fork(after_in_child=forget_parent_connections)
        app.extensions["database"] = self
        app.teardown_appcontext(self._close_session)
        # Started by the first request of each process (gunicorn forks after create_app); a worker calls it itself.
        app.before_request(self.keep_up)

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    def keep_up(self) -> None:
        """This process's background threads for the database: PostgreSQL's clock (clock.py), SQLite's checkpoints
        (checkpoint.py). Times written here are compared with other hosts'; a commit should not pay for a checkpoint."""
        keep_clock(self.engine)
        keep_checkpoints(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self, *, min_free_bytes: int = probe.MIN_FREE_BYTES) -> str:
        """"ok", "read_only", "full" or "locked" (see db.probe); raises SQLAlchemyError when it does not answer in time."""
        if self.dialect == "sqlite":
            try:
                return probe.probe_sqlite(self.engine, min_free_bytes)
            except sqlite3.Error as exc:
                raise OperationalError("health probe", None, exc) from exc
        with answer_within(ANSWER_SECONDS):
            return probe.probe_postgresql(self.engine)

    def session(self) -> Session:
        """The session of this request (or app context), created on first use."""
        if "db_session" not in g:
            g.db_session = self.sessionmaker()
        session: Session = g.db_session
        return session

    def run_write(self, work: Callable[[Any], T]) -> T:
        """Run `work(cursor)` as one committed write on the fast path (see fastpath.run_write).

        PostgreSQL must answer within ANSWER_SECONDS (a callback is a 503 in under
        5 s when it hangs; Exotel retries, and the redelivery is deduplicated).
        """
        with answer_within(ANSWER_SECONDS):
            return run_write(self.engine, self._write_lock, work)

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
