"""What the call page shows, for its views: the whole page's context, and the version its poller compares."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from flask import url_for

from ...calls.queries import call_events
from ...campaigns.queries import campaign_names
from ...db import get_db
from ...models import Call
from .display import legs_of, pretty_payload, safe_recording_url
from .status_words import call_shown
from .timeline import by_occurrence, call_timeline


def nonce() -> str:
    """A fresh form key: a submit carrying it is one request, however often it is sent."""
    return secrets.token_urlsafe(18)


def call_version(call: Call, event_count: int) -> str:
    """Changes whenever anything shown about the call changes: its row, its events, the word shown for it (a call
    becomes overdue as time passes) and when Exotel was last asked about it."""
    checked = call.checked_at.isoformat() if call.checked_at else ""
    state = (f"{call.status}:{call.updated_at.isoformat() if call.updated_at else ''}:{event_count}:"
             f"{call_shown(call)}:{checked}:{call.checks or 0}")
    return hashlib.sha256(state.encode()).hexdigest()[:16]


def call_context(call: Call) -> dict[str, Any]:
    """The call page's template context (the whole page, and the live part its poller redraws)."""
    events = call_events(get_db().session(), call.id)
    return {
        "call": call,
        "timeline": call_timeline(call, events),
        "legs": legs_of(by_occurrence(events)),
        "recording_url": url_for("recordings.call_recording", call_id=call.id) if safe_recording_url(call.recording_url) else None,
        "payloads": {event.id: pretty_payload(event.payload) for event in events},
        "version": call_version(call, len(events)),
        "again_nonce": nonce(),
        "campaign_names": campaign_names(get_db().session(), [call.campaign_id]),
    }
