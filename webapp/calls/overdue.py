"""When a call should have ended: the one rule behind the stuck-call wording, the early checks and Call again.

A call Exotel accepted ends by itself: unanswered, when its ring timeout
(`TimeOut`) runs out; answered, when its `TimeLimit` does. Past that moment,
plus a grace for the final callback to arrive, a call that is still not final
is not "Calling" any more: its final callback was lost or is late, and the
only way to learn its outcome is to ask Exotel (calls.early_checks, calls.asking).

Exotel's documentation gives no default for either parameter, only their
maxima (NOTES.md: TimeOut at most 60 s, TimeLimit at most 14400 s); a call
placed without one is given that maximum, so it is never called overdue early.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .status import FINAL

GRACE = timedelta(minutes=1)  # for the final callback to arrive after the call ended
DEFAULT_RING_SECONDS = 60  # TimeOut unset: the longest ring Exotel allows
DEFAULT_TIME_LIMIT_SECONDS = 14400  # TimeLimit unset: the longest call Exotel allows


def _field(call: Any, name: str) -> Any:
    """`name` of a Call, a row, or a dict (a campaign's attempt); None when it has no such field."""
    if isinstance(call, dict):
        return call.get(name)
    return getattr(call, name, None)


def _moment(call: Any, name: str) -> datetime | None:
    """`name` as a datetime: a campaign's attempts come as JSON-ready dicts, their times as ISO 8601 text."""
    value = _field(call, name)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value if isinstance(value, datetime) else None


def should_have_ended(call: Any) -> datetime | None:
    """The latest moment `call` could have ended: placed + ring timeout, or answered + TimeLimit.

    None when the call is final, or was never accepted by Exotel (no `placed_at`: it has no end to wait for).
    """
    if _field(call, "status") in FINAL:
        return None
    answered_at = _moment(call, "answered_at")
    placed_at = _moment(call, "placed_at")
    if answered_at is not None:
        return answered_at + timedelta(seconds=_field(call, "time_limit") or DEFAULT_TIME_LIMIT_SECONDS)
    if placed_at is not None:
        return placed_at + timedelta(seconds=_field(call, "time_out") or DEFAULT_RING_SECONDS)
    return None


def overdue_since(call: Any) -> datetime | None:
    """Since when `call` has been waiting for a final status it should have had (its end plus GRACE); None if never."""
    ended = should_have_ended(call)
    return ended + GRACE if ended is not None else None


def is_overdue(call: Any, now: datetime) -> bool:
    """Whether `call` is not final though it should have ended (with GRACE) by `now`."""
    since = overdue_since(call)
    return since is not None and now >= since
