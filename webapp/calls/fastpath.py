"""The StatusCallback's fast path: the status rules as two hand-written statements.

A StatusCallback is one event row plus one call update. The ORM and the
statement builders of calls.updates cost more Python per request than the
database work itself, so a callback runs fixed SQL, built once at import per
dialect, on a raw DBAPI cursor (db.fastpath.run_write). It applies the same
rules as updates.advance_call() and the event model: the event row decides
(ON CONFLICT DO NOTHING on dedup_key: a redelivery writes nothing), and only
a new event that matched its call moves the call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..db import utcnow
from .status import FINAL, RANK

# Spells a parameter for a dialect: p(name, SQL type) -> "%(name)s::type" or ":name".
Placeholder = Callable[[str, str], str]

_FINALS = ", ".join(f"'{status}'" for status in sorted(FINAL))
_RANK_SQL = "CASE calls.status " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in RANK.items()) + " ELSE 0 END"


def _call_update_sql(p: Placeholder, where: str) -> str:
    """The UPDATE of the status rules; `p(name, type)` spells a parameter for the dialect."""
    return (
        "UPDATE calls SET "
        f"status = CASE WHEN calls.status NOT IN ({_FINALS}) AND {_RANK_SQL} < {p('rank', 'integer')} "
        f"THEN {p('proposed', 'varchar')} ELSE calls.status END, "
        # A Sid another call holds already is not taken (unique): the event still lands on this call.
        f"sid = COALESCE(calls.sid, CASE WHEN EXISTS (SELECT 1 FROM calls AS other WHERE other.sid = {p('sid', 'varchar')}) "
        f"THEN NULL ELSE {p('sid', 'varchar')} END), "
        f"answered_at = COALESCE(calls.answered_at, {p('answered_at', 'timestamptz')}), "
        f"answered_by = COALESCE(calls.answered_by, {p('answered_by', 'varchar')}), "
        f"ended_at = COALESCE({p('ended_at', 'timestamptz')}, calls.ended_at), "
        f"conversation_duration = COALESCE({p('duration', 'integer')}, calls.conversation_duration), "
        f"recording_url = COALESCE({p('recording_url', 'text')}, calls.recording_url), "
        f"updated_at = {p('now', 'timestamptz')} "
        f"{where}"
    )


def _event_insert_sql(p: Placeholder) -> str:
    """INSERT of one event, its call_id only when the call exists with no other Sid."""
    matched = (
        f"(SELECT calls.id FROM calls WHERE calls.id = {p('call_id', 'varchar')} AND ({p('sid', 'varchar')} IS NULL "
        f"OR calls.sid IS NULL OR calls.sid = {p('sid', 'varchar')}))"
    )
    return (
        "INSERT INTO call_events (call_id, call_sid, event_type, status, occurred_at, received_at, payload, dedup_key) "
        f"VALUES ({matched}, {p('sid', 'varchar')}, {p('event_type', 'varchar')}, {p('status', 'varchar')}, "
        f"{p('occurred_at', 'timestamptz')}, {p('now', 'timestamptz')}, {p('payload', 'text')}, {p('dedup_key', 'varchar')}) "
        "ON CONFLICT (dedup_key) DO NOTHING RETURNING id, call_id"
    )


def _pg(name: str, type_: str) -> str:
    # Typed, so that a NULL parameter never leaves PostgreSQL guessing.
    return f"%({name})s::{type_}"


def _sqlite(name: str, _type: str) -> str:
    return f":{name}"


# PostgreSQL: one statement, so one round trip in autocommit (no BEGIN, no COMMIT
# to send). The UPDATE reads the inserted row from the CTE; a concurrent twin
# waits on the unique index, then inserts nothing and so updates nothing.
PG_RECORD = (
    f"WITH event AS ({_event_insert_sql(_pg)}), "
    "moved AS ("
    + _call_update_sql(
        _pg,
        "FROM event WHERE calls.id = event.call_id "
        "AND (%(sid)s::varchar IS NULL OR calls.sid IS NULL OR calls.sid = %(sid)s::varchar)",
    )
    + " RETURNING calls.id) "
    "SELECT (SELECT id FROM event), (SELECT call_id FROM event), (SELECT count(*) FROM moved)"
)
# SQLite: two statements inside BEGIN IMMEDIATE (the write lock is held throughout).
SQLITE_INSERT = _event_insert_sql(_sqlite)
SQLITE_UPDATE = _call_update_sql(_sqlite, "WHERE calls.id = :call_id")


def _sqlite_time(value: datetime | None) -> str | None:
    """An aware datetime as the naive UTC text UTCDateTime stores on SQLite."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def record_row(cursor: Any, dialect: str, params: dict[str, Any]) -> tuple[int | None, bool]:
    """Run the callback statements on a DBAPI cursor; (new event id, or None for a twin; matched a call).

    `params`: call_id, sid, event_type, status, occurred_at, payload (JSON text),
    dedup_key, proposed (status or None), answered_at, answered_by, ended_at,
    duration, recording_url. PostgreSQL: the cursor's connection is in autocommit;
    SQLite: in a BEGIN IMMEDIATE transaction that the caller commits.
    """
    values = {**params, "now": utcnow(), "rank": RANK.get(params["proposed"], -1)}
    if dialect == "postgresql":
        cursor.execute(PG_RECORD, values)
        event_id, call_id, _moved = cursor.fetchone()
        return event_id, call_id is not None
    for name in ("now", "occurred_at", "answered_at", "ended_at"):
        values[name] = _sqlite_time(values[name])
    cursor.execute(SQLITE_INSERT, values)
    row = cursor.fetchone()
    if row is None:
        return None, False
    if row[1] is not None:
        cursor.execute(SQLITE_UPDATE, values)
    return row[0], row[1] is not None
