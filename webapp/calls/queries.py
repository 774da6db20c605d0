"""Reading calls back: one call with its events, and keyset-paginated lists."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Select, and_, desc, func, literal_column, or_, select
from sqlalchemy.orm import Session

from ..exotel.flows import APP_ID_PREFIXES
from ..models import Call, CallEvent
from .number_search import ends_with, like_literal
from .status import KNOWN, is_final
from .validation import has_lone_surrogate, is_clean_text, refuse_json_constant

MAX_PAGE = 200
# Call ids are UUIDs; anything longer, or text no column can hold, names no call.
MAX_ID = 64
# A cursor this server gives out is about 100 characters; a bound keeps tampered ones cheap to refuse.
MAX_CURSOR = 256
# Rows fetched at a time when streaming every matching call (a server-side cursor on PostgreSQL).
STREAM_BATCH = 1_000
# The list counts its matches up to here and says "more than" beyond: an exact count of a million rows
# costs more than the page itself (PostgreSQL: about 150 ms for 1 M calls, against 2 ms for 10,001).
COUNT_CAP = 10_000


class BadCallCursor(ValueError):
    """A calls-list cursor that this server did not issue."""


@dataclass(frozen=True)
class CallFilters:
    """What a calls list is narrowed to; every part optional."""

    status: str | None = None
    from_number: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    custom_field: str | None = None  # substring match
    caller_id: str | None = None
    created_by: str | None = None  # exact: "user:<email>" or "token:<name>"
    number_suffix: str | None = None  # the last digits of the E.164 number
    sid: str | None = None
    flow_url: str | None = None
    app_id: str | None = None  # a flow of App Bazaar: the flow URL ends in /start_voice/<app_id>
    answered: bool | None = None  # has an answered_at, or not


@dataclass
class CallPage:
    calls: Sequence[Call]
    next_cursor: str | None


def encode_cursor(call: Call) -> str:
    raw = json.dumps([call.created_at.isoformat(), call.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor of encode_cursor carries; anything else is a BadCallCursor."""
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw, parse_constant=refuse_json_constant)
        if not (isinstance(parts, list) and len(parts) == 2 and all(isinstance(part, str) for part in parts)):
            raise ValueError
        created_at, call_id = parts
        when = datetime.fromisoformat(created_at)
        if when.tzinfo is None or not possible_id(call_id):
            raise ValueError
        return when.astimezone(UTC), call_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        raise BadCallCursor("cursor is not one this server gave out") from None


def filtered(filters: CallFilters) -> Select[Call]:
    """A SELECT of calls narrowed by `filters` (no ordering)."""
    query = select(Call)
    if filters.status:
        query = query.where(Call.status == filters.status)
    if filters.answered is not None:
        query = query.where(Call.answered_at.is_not(None) if filters.answered else Call.answered_at.is_(None))
    if filters.from_number:
        query = query.where(Call.from_number == filters.from_number)
    if filters.number_suffix:
        query = query.where(ends_with(Call.from_number, filters.number_suffix))
    if filters.sid:
        query = query.where(Call.sid == filters.sid)
    if filters.caller_id:
        query = query.where(Call.caller_id == filters.caller_id)
    if filters.flow_url:
        query = query.where(Call.flow_url == filters.flow_url)
    if filters.app_id:
        app_id = like_literal(filters.app_id)  # either form of flow URL: .../start_voice/<id> or .../exoml/start/<id>
        query = query.where(or_(*(Call.flow_url.like(f"%{like_literal(prefix)}{app_id}", escape="\\") for prefix in APP_ID_PREFIXES)))
    if filters.created_by:
        query = query.where(Call.created_by == filters.created_by)
    if filters.since:
        query = query.where(Call.created_at >= filters.since)
    if filters.until:
        query = query.where(Call.created_at < filters.until)
    if filters.custom_field:
        query = query.where(Call.custom_field.ilike(f"%{like_literal(filters.custom_field)}%", escape="\\"))
    return query


def count_calls(session: Session, filters: CallFilters, *, cap: int = COUNT_CAP) -> int:
    """How many calls match `filters`, counting no further than `cap` + 1 (more than `cap`), in one query."""
    matching: Select[Any] = filtered(filters).with_only_columns(literal_column("1"), maintain_column_froms=True).limit(cap + 1)
    return session.scalar(select(func.count()).select_from(matching.subquery())) or 0


def page_total(session: Session, filters: CallFilters, page: CallPage, *, first: bool, cap: int = COUNT_CAP) -> int:
    """The count shown above a page: a first page that holds every match is its own count, else one more query."""
    if first and page.next_cursor is None:
        return len(page.calls)
    return count_calls(session, filters, cap=cap)


def list_calls(session: Session, filters: CallFilters, *, limit: int = 50, cursor: str | None = None) -> CallPage:
    """Newest first, `limit` at a time; the cursor is the last row's (created_at, id), never an OFFSET."""
    limit = max(1, min(limit, MAX_PAGE))
    query = filtered(filters)
    if cursor:
        created_at, call_id = decode_cursor(cursor)
        query = query.where(
            or_(Call.created_at < created_at, and_(Call.created_at == created_at, Call.id < call_id))
        )
    rows = session.scalars(query.order_by(Call.created_at.desc(), Call.id.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return CallPage(rows[:limit], next_cursor)


def possible_id(call_id: str) -> bool:
    """Whether `call_id` could name a call at all (asking the database about NUL is an error on PostgreSQL)."""
    return len(call_id) <= MAX_ID and is_clean_text(call_id)


def get_call(session: Session, call_id: str) -> Call | None:
    """The call with this id, or None (without a query for an id no call can have)."""
    return session.get(Call, call_id) if possible_id(call_id) else None


def call_events(session: Session, call_id: str) -> Sequence[CallEvent]:
    """A call's events, oldest first (by arrival: Exotel's own times may be missing or skewed)."""
    return session.scalars(
        select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.received_at, CallEvent.id)
    ).all()


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def call_to_dict(call: Call, events: Sequence[CallEvent] | None = None) -> dict[str, Any]:
    """A call as the JSON API shows it; times in UTC ISO 8601."""
    data: dict[str, Any] = {
        "id": call.id,
        "sid": call.sid,
        "status": call.status,
        "final": is_final(call.status),
        "from": call.from_number,
        "caller_id": call.caller_id,
        "flow_url": call.flow_url,
        "call_type": call.call_type,
        "time_limit": call.time_limit,
        "time_out": call.time_out,
        "custom_field": call.custom_field,
        "error": {"code": call.error_code, "message": call.error_message} if call.error_code or call.error_message else None,
        "created_at": _iso(call.created_at),
        "placed_at": _iso(call.placed_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "conversation_duration": call.conversation_duration,
        "recording_url": call.recording_url,
        "answered_by": call.answered_by,
        "updated_at": _iso(call.updated_at),
        "created_by": call.created_by,
    }
    if events is not None:
        data["events"] = [event_to_dict(event) for event in events]
    return data


def _strict(value: Any) -> Any:
    """`value` with each lone surrogate in its strings (keys too) replaced by U+FFFD, so any client can parse it."""
    if isinstance(value, str):
        if not has_lone_surrogate(value):
            return value
        return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in value)
    if isinstance(value, list):
        return [_strict(item) for item in value]
    if isinstance(value, dict):
        return {_strict(key): _strict(item) for key, item in value.items()}
    return value


def event_to_dict(event: CallEvent) -> dict[str, Any]:
    """An event as the JSON API shows it: the payload as strict JSON (NaN and the like become their names, as text)."""
    try:
        payload = _strict(json.loads(event.payload, parse_constant=str))
    except (ValueError, RecursionError):
        payload = event.payload
    return {
        "id": event.id,
        "event_type": event.event_type,
        "status": event.status,
        "call_sid": event.call_sid,
        "occurred_at": _iso(event.occurred_at),
        "received_at": _iso(event.received_at),
        "payload": payload,
    }


def valid_status(value: str) -> bool:
    return value in KNOWN


def call_rows(engine: Engine, filters: CallFilters, columns: Sequence[str]) -> Iterator[Sequence[Any]]:
    """Every call matching `filters`, newest first, as tuples of `columns`, streamed from the database."""
    query = filtered(filters).with_only_columns(*[getattr(Call, name) for name in columns])
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
            query.order_by(desc(Call.created_at), desc(Call.id))
        )
        yield from result


def get_calls(session: Session, call_ids: Sequence[str]) -> Sequence[Call]:
    """The calls with these ids, in one query (missing ids are left out)."""
    possible = [call_id for call_id in call_ids if possible_id(call_id)]
    if not possible:
        return []
    return session.scalars(select(Call).where(Call.id.in_(possible))).all()
