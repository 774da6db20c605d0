"""The word a person sees for a call's status: one place for pages, their live fragments and what they poll.

Exotel reports `in-progress` as soon as it accepts a call, long before anyone
picks up; the stored status keeps Exotel's word (the contract), and the word
shown is derived here from the status and whether the call was answered
(`answered_at`, filled by the answered callback or worked out from the end).
A call past the time it should have ended without a final status (calls.overdue)
is shown as waiting for Exotel's final status, whatever its stored status says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_app_context

from ...calls.overdue import is_overdue
from ...config import get_settings
from ...db import utcnow

CALLING = "calling"  # in-progress, not answered yet: Exotel is still ringing the customer
TALKING = "talking"  # in-progress and answered (a list filter's value; the word shown is "In progress")
OVERDUE = "overdue"  # not final, though it should have ended: its final callback is late or lost

LABELS = {
    "pending": "Pending",
    "unknown": "Unknown",
    "queued": "Queued",
    "ringing": "Ringing",
    CALLING: "Calling",
    "in-progress": "In progress",
    "completed": "Completed",
    "busy": "Busy",
    "no-answer": "No answer",
    "failed": "Failed",
    "canceled": "Canceled",
    "rejected": "Refused by Exotel",
    OVERDUE: "Waiting for final status",
}
# Badge colours by meaning rather than by word; the word is always shown with them.
TONES = {
    "completed": "good",
    "in-progress": "live",
    CALLING: "live",
    "queued": "live",
    "ringing": "live",
    "pending": "live",
    "busy": "warn",
    "no-answer": "warn",
    "canceled": "muted",
    "unknown": "muted",
    "failed": "bad",
    "rejected": "bad",
    OVERDUE: "warn",
}
# The list's status filter offers the words shown, plus the stored `in-progress` (links and scripts use it):
# value -> (stored status, answered or not; None: either).
FILTERS: dict[str, tuple[str, bool | None]] = {
    CALLING: ("in-progress", False),
    TALKING: ("in-progress", True),
}
FILTER_LABELS = {CALLING: "Calling (not answered yet)", TALKING: "In progress (answered)", "in-progress": "Calling or in progress"}


def shown_status(status: str | None, answered: bool = True) -> str:
    """The key of the word shown for a call in `status`: `calling` while in progress but not answered."""
    if status == "in-progress" and not answered:
        return CALLING
    return status or ""


def status_label(status: str | None, answered: bool = True) -> str:
    shown = shown_status(status, answered)
    return LABELS.get(shown, shown or "—")


def status_tone(status: str | None, answered: bool = True) -> str:
    return TONES.get(shown_status(status, answered), "muted")


def _now() -> datetime:
    """The app's clock where there is an app (pages, polls), else the real time."""
    return get_settings().now() if has_app_context() else utcnow()


def call_shown(call: Any, now: datetime | None = None) -> str:
    """`shown_status` of a call row, or of a dict with `status` and `answered_at` (a campaign's attempt);
    `overdue` when the call should have ended by `now` (default: the app's clock) and has no final status."""
    if is_overdue(call, now or _now()):
        return OVERDUE
    if isinstance(call, dict):
        return shown_status(call.get("status"), call.get("answered_at") is not None)
    return shown_status(call.status, call.answered_at is not None)


def call_label(call: Any) -> str:
    shown = call_shown(call)
    return LABELS.get(shown, shown or "—")


def call_tone(call: Any) -> str:
    return TONES.get(call_shown(call), "muted")


def filter_choices(known: set[str] | frozenset[str]) -> list[tuple[str, str]]:
    """(value, label) of the list's status filter, in the order a call goes through them."""
    order = ["pending", "queued", "ringing", CALLING, TALKING, "in-progress", "completed", "busy", "no-answer", "failed",
             "canceled", "rejected", "unknown"]
    values = [value for value in order if value in known or value in FILTERS]
    values += sorted(set(known) - set(values))
    return [(value, FILTER_LABELS.get(value) or LABELS.get(value, value)) for value in values]


def filter_status(value: str) -> tuple[str, bool | None]:
    """The stored status and answered-ness a filter value stands for."""
    return FILTERS.get(value, (value, None))
