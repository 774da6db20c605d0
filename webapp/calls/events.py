"""Recording what Exotel tells us about a call: callbacks and reconciliation results."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..db import Database, utcnow
from ..exotel.body import payload_json
from ..exotel.callbacks import CallbackEvent
from .fastpath import record_row


class Recorded(enum.Enum):
    STORED = "stored"  # a new event, applied to its call
    DUPLICATE = "duplicate"  # a redelivery: nothing written
    ORPHAN = "orphan"  # stored, but its Call Sid matches no call we placed


def event_params(call_id: str, event: CallbackEvent) -> dict[str, Any]:
    """The values of the callback statements for one event (all Python work, before the database)."""
    return {
        "call_id": call_id,
        "sid": event.call_sid,
        "event_type": event.event_type,
        "status": event.status,
        "occurred_at": event.occurred_at,
        "payload": payload_json(event.payload),  # strict JSON: json_valid and ::jsonb accept every row
        "dedup_key": event.dedup_key(call_id),
        "proposed": event.proposed_status,
        # First answer wins; an answered event without DateUpdated is dated on arrival.
        "answered_at": event.answered_at or (utcnow() if event.event_type == "answered" else None),
        "answered_by": event.answered_by,
        # Later values win: Exotel may settle duration and end time after the call.
        "ended_at": event.ended_at,
        "duration": event.conversation_duration,
        "recording_url": event.recording_url,
    }


def record_event(db: Database, call_id: str, event: CallbackEvent) -> Recorded:
    """Store one event exactly once and move its call forward, atomically; committed on return."""
    params = event_params(call_id, event)
    dialect = db.dialect
    try:
        event_id, matched = db.run_write(lambda cursor: record_row(cursor, dialect, params))
    except IntegrityError:
        # Two calls claimed one Sid at the same instant (calls.sid is unique): nothing was
        # written; once more, the statement sees the other's Sid and leaves this call's empty.
        event_id, matched = db.run_write(lambda cursor: record_row(cursor, dialect, params))
    if event_id is None:
        return Recorded.DUPLICATE
    return Recorded.STORED if matched else Recorded.ORPHAN
