"""Recording what Exotel tells us about a call: callbacks and reconciliation results."""

from __future__ import annotations

import enum

from ..db import Database, utcnow
from ..exotel.callbacks import CallbackEvent
from .updates import advance_call, insert_event


class Recorded(enum.Enum):
    STORED = "stored"  # a new event, applied to its call
    DUPLICATE = "duplicate"  # a redelivery: nothing written
    ORPHAN = "orphan"  # stored, but its Call Sid matches no call we placed


class _Twin(Exception):
    """Raised inside the transaction to roll back the update when the event was a redelivery."""


def record_event(db: Database, call_id: str, event: CallbackEvent) -> Recorded:
    """Store one event exactly once and move its call forward, in one transaction."""
    try:
        with db.transaction() as session:
            matched = advance_call(
                session,
                call_id,
                sid=event.call_sid,
                require_sid=event.call_sid,
                status=event.proposed_status,
                # First answer wins; an event without DateUpdated is dated on arrival.
                fill={
                    "answered_at": event.answered_at
                    or (utcnow() if event.event_type == "answered" else None),
                    "answered_by": event.answered_by,
                },
                replace={
                    "ended_at": event.ended_at,
                    "conversation_duration": event.conversation_duration,
                    "recording_url": event.recording_url,
                },
            )
            event_id = insert_event(
                session,
                call_id=call_id if matched else None,
                call_sid=event.call_sid,
                event_type=event.event_type,
                status=event.status,
                occurred_at=event.occurred_at,
                payload=event.payload,
                dedup_key=event.dedup_key(call_id),
            )
            if event_id is None:
                raise _Twin
    except _Twin:
        return Recorded.DUPLICATE
    return Recorded.STORED if matched else Recorded.ORPHAN
