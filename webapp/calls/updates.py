"""Statements that move a call forward atomically: the status rules, in SQL.

Each update is one UPDATE whose CASE expression applies `status.RANK`, so
concurrent events for one call (answered racing terminal) cannot undo each
other, on SQLite and PostgreSQL alike, without reading the row first.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Call, CallEvent
from .status import FINAL, RANK

_current_rank = case(RANK, value=Call.status, else_=0)


def status_expression(proposed: str | None):
    """SQL for the status after `proposed`: forward only, never out of a final status."""
    if proposed not in RANK:
        return Call.status
    moves = and_(Call.status.not_in(FINAL), _current_rank < RANK[proposed])
    return case((moves, proposed), else_=Call.status)


def advance_call(
    session: Session,
    call_id: str,
    *,
    sid: str | None = None,
    status: str | None = None,
    fill: dict[str, Any] | None = None,
    replace: dict[str, Any] | None = None,
    require_sid: str | None = None,
) -> bool:
    """Apply one event to a call; False when no such call (or its Sid differs from `require_sid`).

    `fill` sets columns that are still empty (first value wins: answered_at,
    placed_at); `replace` sets columns whenever a value is given (later value
    wins: ended_at, conversation_duration, which Exotel may settle late).
    """
    values: dict[Any, Any] = {Call.status: status_expression(status), Call.updated_at: utcnow()}
    if sid:
        values[Call.sid] = func.coalesce(Call.sid, sid)
    for name, value in (fill or {}).items():
        if value is not None:
            column = getattr(Call, name)
            values[column] = func.coalesce(column, value)
    for name, value in (replace or {}).items():
        if value is not None:
            values[getattr(Call, name)] = value
    statement = update(Call).where(Call.id == call_id).values(values)
    if require_sid:
        statement = statement.where(or_(Call.sid.is_(None), Call.sid == require_sid))
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount == 1


def insert_event(
    session: Session,
    *,
    call_id: str | None,
    call_sid: str | None,
    event_type: str,
    status: str | None,
    occurred_at: datetime | None,
    payload: dict[str, Any],
    dedup_key: str,
) -> int | None:
    """Store an event unless its twin is stored already; the new row's id, or None for a twin.

    ON CONFLICT DO NOTHING makes concurrent identical deliveries safe: on
    PostgreSQL the second waits for the first to commit, then does nothing.
    """
    dialect = session.get_bind().dialect.name
    make_insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect, insert)
    statement = make_insert(CallEvent).values(
        call_id=call_id,
        call_sid=call_sid,
        event_type=event_type,
        status=status,
        occurred_at=occurred_at,
        received_at=utcnow(),
        payload=json.dumps(payload, ensure_ascii=True, default=str, separators=(",", ":")),
        dedup_key=dedup_key,
    )
    statement = statement.on_conflict_do_nothing(index_elements=[CallEvent.dedup_key]).returning(CallEvent.id)
    return session.execute(statement).scalar_one_or_none()
