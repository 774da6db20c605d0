"""Statements that move a call forward atomically: the status rules, in SQL.

Each update is one UPDATE whose CASE expression applies `status.RANK`, so
concurrent events for one call (answered racing terminal) cannot undo each
other, on SQLite and PostgreSQL alike, without reading the row first. These
serve the ORM paths (placing, reconciling); the StatusCallback's hot path runs
the same rules as fixed SQL in calls.fastpath.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, SQLColumnExpression, and_, case, func, or_, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Call
from .status import FINAL, RANK

_current_rank = case(RANK, value=Call.status, else_=0)


def status_expression(proposed: str | None) -> SQLColumnExpression[str]:
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
    result = session.execute(statement.execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)  # an UPDATE's result carries its rowcount
    return result.rowcount == 1
