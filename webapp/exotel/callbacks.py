"""Parsing Exotel's StatusCallback bodies into one typed event. Pure functions, no I/O.

Exotel posts multipart/form-data by default, JSON when asked, url-encoded per
some docs, and query parameters from some webhooks. Every field is optional;
unknown values are data, not errors: the raw body is always kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .status import ENDED, EXOTEL_STATUSES

MAX_LEGS = 20  # a call to a flow has one or two legs; more is noise, kept only in the raw payload
_LEG_KEY = re.compile(r"^Legs\[(\d{1,3})\]\[([A-Za-z]{1,40})\]$")


@dataclass(frozen=True)
class Leg:
    status: str | None
    on_call_duration: int | None
    answered_by: str | None


@dataclass(frozen=True)
class CallbackEvent:
    """What one callback says about a call."""

    call_sid: str | None
    event_type: str  # answered | terminal | status (no EventType given)
    status: str | None  # as Exotel wrote it, lower-cased
    occurred_at: datetime | None  # DateUpdated, UTC
    answered_at: datetime | None
    ended_at: datetime | None
    conversation_duration: int | None
    recording_url: str | None
    answered_by: str | None
    legs: tuple[Leg, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def proposed_status(self) -> str | None:
        """The call status this event argues for, or None if it says nothing usable."""
        if self.event_type == "answered":
            return "in-progress"
        return self.status if self.status in EXOTEL_STATUSES else None

    def dedup_key(self, call_id: str) -> str:
        """The identity of this event: a redelivery, in whatever encoding, hashes the same."""
        identity = [
            call_id,
            self.call_sid,
            self.event_type,
            self.status,
            _iso(self.occurred_at),
            _iso(self.ended_at),
            self.conversation_duration,
            self.recording_url,
            [[leg.status, leg.on_call_duration, leg.answered_by] for leg in self.legs],
        ]
        return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def clean_text(value: Any, limit: int) -> str | None:
    """A value as storable text: no NULs or lone surrogates, at most `limit` characters."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).replace("\x00", "").strip()
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit] or None


def parse_int(value: Any) -> int | None:
    """A non-negative whole number of seconds, or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        value = int(value)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    # Four hours is Exotel's limit; allow slack, refuse absurd numbers (and integer overflow).
    return number if 0 <= number <= 10 * 86400 else None


def parse_exotel_time(value: Any, tz: ZoneInfo) -> datetime | None:
    """Exotel's `YYYY-MM-DD HH:MM:SS` read in the account's zone, as UTC; ISO 8601 with an offset too."""
    text = clean_text(value, 40)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        parsed = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    # Exotel writes 1970-01-01 05:30:00 (epoch 0 in IST) for "not set".
    if parsed.year < 2000:
        return None
    return parsed


def fields_from_form(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """A form or query MultiDict's items as a dict; repeated keys become lists."""
    fields: dict[str, Any] = {}
    for key, value in items:
        if key in fields:
            previous = fields[key]
            fields[key] = previous + [value] if isinstance(previous, list) else [previous, value]
        else:
            fields[key] = value
    return fields


def _legs(fields: Mapping[str, Any]) -> tuple[Leg, ...]:
    raw = fields.get("Legs")
    rows: list[Mapping[str, Any]] = []
    if isinstance(raw, list):  # JSON: an array of objects
        rows = [leg for leg in raw[:MAX_LEGS] if isinstance(leg, Mapping)]
    elif isinstance(raw, str) and raw.lstrip().startswith("["):  # a JSON array sent as one form field
        try:
            decoded = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested past the interpreter's limit
            decoded = None
        if isinstance(decoded, list):
            rows = [leg for leg in decoded[:MAX_LEGS] if isinstance(leg, Mapping)]
    else:  # form / multipart: Legs[0][Status]=..., Legs[0][OnCallDuration]=...
        indexed: dict[int, dict[str, Any]] = {}
        for key, value in fields.items():
            match = _LEG_KEY.match(key) if isinstance(key, str) else None
            if match and int(match.group(1)) < MAX_LEGS:
                indexed.setdefault(int(match.group(1)), {})[match.group(2)] = value
        rows = [indexed[index] for index in sorted(indexed)]
    return tuple(
        Leg(
            status=_status(leg.get("Status")),
            on_call_duration=parse_int(leg.get("OnCallDuration")),
            answered_by=clean_text(leg.get("AnsweredBy"), 32),
        )
        for leg in rows
    )


def _first(value: Any) -> Any:
    """One value of a field that may have been repeated."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _status(value: Any) -> str | None:
    text = clean_text(_first(value), 32)
    return text.lower().replace("_", "-") if text else None


def _event_type(value: Any) -> str:
    text = (clean_text(_first(value), 32) or "").lower()
    return text if text in ("answered", "terminal") else "status"


# Exotel's word for a leg that no one answered (or that answer detection did not look at).
NOT_APPLICABLE = frozenset({"na", "n/a", "none", "null"})
_LEG_ANSWERED = frozenset({"in-progress", "completed", "answered"})


def _answered_by(top: str | None, legs: tuple[Leg, ...]) -> str | None:
    """Who answered (`HUMAN`, `MACHINE`, ...), as the leg that answered says it; None when no leg says.

    The customer's leg often says NA while the leg that was answered says
    HUMAN: a leg that was answered (talk time, or an answered status) wins,
    then any leg's word, then a top-level AnsweredBy; NA alone is not stored.
    """
    said = [leg for leg in legs if leg.answered_by and leg.answered_by.lower() not in NOT_APPLICABLE]
    answered = [leg for leg in said if (leg.on_call_duration or 0) > 0 or leg.status in _LEG_ANSWERED]
    if answered:
        return answered[0].answered_by
    if said:
        return said[0].answered_by
    return top if top and top.lower() not in NOT_APPLICABLE else None


def parse_callback(fields: Mapping[str, Any], tz: ZoneInfo) -> CallbackEvent:
    """Read one callback's fields (form or JSON alike) into a CallbackEvent. Never raises on content."""

    def get(name: str) -> Any:
        return _first(fields.get(name))

    event_type = _event_type(get("EventType"))
    status = _status(get("Status"))
    occurred_at = parse_exotel_time(get("DateUpdated"), tz)
    legs = _legs(fields)
    duration = parse_int(get("ConversationDuration"))
    if duration is None:
        duration = parse_int(get("Duration")) if event_type == "status" else None
    ended_at = answered_at = None
    if event_type == "answered":
        answered_at = occurred_at
    elif status in ENDED:
        ended_at = parse_exotel_time(get("EndTime"), tz) or occurred_at
        if status == "completed" and ended_at and duration:
            # The answered callback may be lost; the talk time ends at EndTime.
            answered_at = ended_at - timedelta(seconds=duration)
    answered_by = _answered_by(clean_text(get("AnsweredBy"), 32), legs)
    return CallbackEvent(
        call_sid=clean_text(get("CallSid"), 64),
        event_type=event_type,
        status=status,
        occurred_at=occurred_at,
        answered_at=answered_at,
        ended_at=ended_at,
        conversation_duration=duration,
        recording_url=clean_text(get("RecordingUrl"), 2000),
        answered_by=answered_by,
        legs=legs,
        payload=dict(fields),
    )
