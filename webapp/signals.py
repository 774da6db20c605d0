"""Facts the product records about itself for its alert rules: durable, small, deduplicated.

Exotel's account refusals (401, 402, 403) and its successful answers, the
Exotel budget's waits and refusals, reconciliation runs, and the claims that
let one process of many evaluate the rules in a given minute. Each is a row of
`alert_signals`, unique on (kind, key): the key is a time bucket, so a burst
of the same fact adds one row, whichever process sees it, and a claim is won
by exactly one process.

Recording is best-effort: a fact that cannot be written (the database busy or
down) is logged by its kind and dropped; the work it describes goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Index, String, Table, Text, UniqueConstraint, delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import Executable

from .db import Base, BigId, Database, UTCDateTime

log = logging.getLogger(__name__)

# Kinds of signal.
EXOTEL_REFUSED = "exotel_refused"  # key: status and 10-second bucket; detail: "<status> <Exotel's message>"
EXOTEL_OK = "exotel_ok"  # key: the minute
BUDGET_WAIT = "budget_wait"  # key: the minute
BUDGET_REFUSED = "budget_refused"  # key: the minute
RECONCILE_FINISHED = "reconcile_finished"  # key: the minute
EVALUATED = "alerts_evaluated"  # key: the minute: the claim of the run evaluating the rules
WATCHED = "worker_watched"  # key: the web watcher's interval: the claim of the process watching the workers

KEEP_DAYS = 8


class AlertSignal(Base):
    """One fact the alert rules read (see the module's docstring)."""

    __tablename__ = "alert_signals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_alert_signals_kind_key"),
        Index("ix_alert_signals_kind_at", "kind", "at"),
    )


def minute_key(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def bucket_key(at: datetime, seconds: float) -> str:
    return str(int(at.timestamp() // seconds))


def add(session: Session, kind: str, key: str, at: datetime, detail: str | None = None) -> bool:
    """Insert the signal unless (kind, key) is there already; True when this call added it."""
    table = cast(Table, AlertSignal.__table__)
    values = {"kind": kind, "key": key, "at": at, "detail": detail}
    dialect = session.get_bind().dialect.name
    statement: Executable
    # RETURNING says whether a row went in (rowcount is -1 for an INSERT ... RETURNING on psycopg).
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    else:  # pragma: no cover - the app runs on these two only
        statement = insert(table).values(**values).returning(table.c.id)
    return session.execute(statement).first() is not None


def record(db: Database, kind: str, key: str, at: datetime, detail: str | None = None) -> bool:
    """`add` in a transaction of its own; False (and a warning naming the kind) when it cannot be written."""
    try:
        with db.transaction() as session:
            return add(session, kind, key, at, detail)
    except SQLAlchemyError as exc:
        log.warning("signal %s not recorded: %s", kind, type(exc).__name__)
        return False


def claim(db: Database, kind: str, key: str, at: datetime) -> bool:
    """True for exactly one caller per (kind, key), whichever process asks first."""
    return record(db, kind, key, at)


def forget_before(session: Session, moment: datetime) -> None:
    session.execute(delete(AlertSignal).where(AlertSignal.at < moment))


def prune(session: Session, now: datetime) -> None:
    """Drop signals older than the longest window a rule reads."""
    forget_before(session, now - timedelta(days=KEEP_DAYS))
