"""Adoption: a call without a Sid finds its Exotel call by From number, ExoPhone and creation time.

When Exotel's answer to a connect request is lost (a timeout, a 5xx, a worker
killed mid-request) the call may exist at Exotel with no Sid on our row.
Exotel's bulk Calls listing, filtered by From and a DateCreated window around
our row's creation, then tells:

- exactly one call from that number through that ExoPhone, not yet claimed by
  another of our rows: ours. Its Sid and status are adopted (a `reconcile` event).
- none: Exotel lists only calls that have ended, so we wait. Once
  RECONCILE_NEVER_PLACED_AFTER_MINUTES (60 by default; or the call's TimeLimit
  plus 15 minutes when that is longer) has passed with nothing listed, the call was never placed:
  it becomes `rejected` (final, and not counted as placed by daily_call_stats),
  with error_code `not_placed` and the reason in error_message.
- several: we cannot tell which is ours; the call stays `unknown` and
  error_message says why.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Row, select, update

from ..db import Database, utcnow
from ..exotel import BULK, CallFilter, CallInfo, ExotelClient, Priority
from ..exotel.callbacks import CallbackEvent, parse_callback, parse_exotel_time
from ..models import Call
from .events import record_event
from .status import FINAL

# Our row is written just before Exotel is asked; Exotel's clock may differ a little.
WINDOW_BEFORE = timedelta(minutes=2)
WINDOW_AFTER = timedelta(minutes=10)
NEVER_PLACED_AFTER = timedelta(minutes=60)
TIME_LIMIT_GRACE = timedelta(minutes=15)


class Adoption(enum.Enum):
    ADOPTED = "adopted"
    WAITING = "waiting"  # nothing listed yet; asked again on the next run
    NEVER_PLACED = "never_placed"
    AMBIGUOUS = "ambiguous"


def event_from_call_info(info: CallInfo, tz: ZoneInfo) -> CallbackEvent:
    """A Call Details answer read as one event of type `reconcile`."""
    fields = {
        "CallSid": info.sid,
        "Status": info.status,
        "DateUpdated": info.date_updated,
        "EndTime": info.end_time,
        "ConversationDuration": info.conversation_duration,
        "RecordingUrl": info.recording_url,
        "AnsweredBy": info.answered_by,
    }
    event = parse_callback({k: v for k, v in fields.items() if v is not None}, tz)
    return dataclasses.replace(event, event_type="reconcile", payload=info.raw)


def same_number(a: str | None, b: str | None) -> bool:
    """Whether two renderings of a phone number are the same line (+91 98..., 098..., 98...)."""
    digits_a, digits_b = re.sub(r"\D", "", a or ""), re.sub(r"\D", "", b or "")
    if not digits_a or not digits_b:
        return False
    tail = min(len(digits_a), len(digits_b), 10)
    return digits_a[-tail:] == digits_b[-tail:]


def settle_after(created_at: datetime, time_limit: int | None, never_placed_after: timedelta = NEVER_PLACED_AFTER) -> datetime:
    """When a call that Exotel still does not list counts as never placed."""
    limit = timedelta(seconds=time_limit) + TIME_LIMIT_GRACE if time_limit else timedelta(0)
    return created_at + max(never_placed_after, limit)


def candidates(infos: list[CallInfo], row: Row[Any], tz: ZoneInfo, claimed: set[str]) -> list[CallInfo]:
    """The listed calls that could be this row's: same From, same ExoPhone, created in its window."""
    low, high = row.created_at - WINDOW_BEFORE, row.created_at + WINDOW_AFTER
    found: dict[str, CallInfo] = {}
    for info in infos:
        created = parse_exotel_time(info.date_created, tz)
        if info.sid in claimed or created is None or not low <= created <= high:
            continue
        if same_number(info.from_number, row.from_number) and same_number(info.exophone, row.caller_id):
            found[info.sid] = info
    return list(found.values())


def _claimed(db: Database, sids: list[str]) -> set[str]:
    if not sids:
        return set()
    with db.transaction(write=False) as session:
        return set(session.scalars(select(Call.sid).where(Call.sid.in_(sids))))


def _note(db: Database, call_id: str, *, status: str | None, code: str | None, message: str) -> bool:
    """Record a reason on a call that still has no Sid and is not final; False if it changed meanwhile."""
    values: dict[str, object] = {"error_message": message, "updated_at": utcnow()}
    if status is not None:
        values["status"] = status
    if code is not None:
        values["error_code"] = code
    with db.transaction() as session:
        result = cast(CursorResult[Any], session.execute(
            update(Call)
            .where(Call.id == call_id, Call.sid.is_(None), Call.status.not_in(FINAL))
            .values(values)
            .execution_options(synchronize_session=False)
        ))
    return bool(result.rowcount == 1)


def adopt_call(
    db: Database, client: ExotelClient, row: Row[Any], tz: ZoneInfo, *, now: datetime | None = None,
    never_placed_after: timedelta = NEVER_PLACED_AFTER, priority: Priority = BULK,
) -> Adoption:
    """Look one sid-less call up at Exotel and settle what can be settled (one bulk listing; a person's ask
    passes `priority` INTERACTIVE)."""
    now = now or utcnow()
    listing = CallFilter(created_from=row.created_at - WINDOW_BEFORE, created_to=row.created_at + WINDOW_AFTER,
                         from_number=row.from_number)
    infos = client.list_calls(listing, tz, priority=priority)
    found = candidates(infos, row, tz, _claimed(db, [info.sid for info in infos]))
    if len(found) == 1:
        record_event(db, row.id, event_from_call_info(found[0], tz))
        return Adoption.ADOPTED
    if len(found) > 1:
        sids = ", ".join(sorted(info.sid for info in found)[:5])
        _note(db, row.id, status=None, code=None,
              message=f"Exotel lists {len(found)} calls from this number through this ExoPhone around its creation "
                      f"time, so which one is this call cannot be told: {sids}")
        return Adoption.AMBIGUOUS
    if now >= settle_after(row.created_at, row.time_limit, never_placed_after):
        settled = _note(db, row.id, status="rejected", code="not_placed",
                        message="Never placed: Exotel lists no call from this number through this ExoPhone "
                                "around its creation time.")
        return Adoption.NEVER_PLACED if settled else Adoption.WAITING
    return Adoption.WAITING
