"""Checking a request to create a campaign, before anything is stored."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..calls.checks import integral
from ..calls.validation import CallOptions, ValidationError, check_text, validate_call_options
from .retries import RetryError, RetryPolicy, parse_retries
from .window import CallingWindow, WindowError, parse_window

FIELDS = {
    "name", "flow_url", "app_id", "caller_id", "contacts", "calls_per_minute", "max_in_flight", "window",
    "retries", "start_at", "end_at", "call_type", "time_limit", "time_out", "status_callback_events",
}
DEFAULT_CALLS_PER_MINUTE = 60
MAX_NAME = 200
MAX_IN_FLIGHT = 100_000


@dataclass(frozen=True)
class CampaignInput:
    """A validated campaign, its contacts still to read."""

    name: str
    options: CallOptions
    calls_per_minute: int
    max_in_flight: int | None
    window: CallingWindow
    retries: RetryPolicy
    start_at: datetime | None
    end_at: datetime | None

    def numbers_in_india_allowed(self, today: date) -> bool:
        """Whether the window keeps to TRAI's hours for Indian numbers (checked once the list shows some)."""
        return self.window.outside_india_hours(today) is None


def _whole(data: Mapping[str, Any], name: str, low: int, high: int, default: int | None) -> int | None:
    value = integral(data.get(name))
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(f"{name} must be a whole number from {low} to {high}.", name)
    return value


def _instant(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be an ISO 8601 time, e.g. 2026-12-01T09:00:00+05:30.", name)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"{name} must be an ISO 8601 time, e.g. 2026-12-01T09:00:00+05:30.", name) from None
    if parsed.tzinfo is None:
        raise ValidationError(f"{name} needs a UTC offset, e.g. +05:30.", name)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"{name} is out of range.", name) from None


def _json_field(data: Mapping[str, Any], name: str) -> Any:
    """A nested object, given as JSON text in a multipart form or as an object in a JSON body."""
    value = data.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise ValidationError(f"{name} must be a JSON object.", name) from None
    return value


def _check_texts(value: Any, field: str | None) -> None:
    """Every text of the request, nested ones included, by the rule of calls.validation.check_text."""
    if isinstance(value, str):
        check_text(value, field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                check_text(key, None, limit=64, label="A field name")
            _check_texts(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list | tuple):
        for item in value:
            _check_texts(item, field)


def parse_campaign(data: Any, *, account_sid: str, default_caller_id: str | None, budget: int) -> CampaignInput:
    """Check a campaign's fields (everything but its contacts); raise ValidationError naming the field."""
    if not isinstance(data, Mapping):
        raise ValidationError("The body must be a JSON object.", None, "invalid_body")
    _check_texts(data, None)
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ValidationError(f"Unknown field {str(unknown[0])[:40]!r}.", str(unknown[0])[:40], "unknown_field")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME or "\x00" in name:
        raise ValidationError(f"name is required: 1 to {MAX_NAME} characters.", "name", "missing_field")
    options = validate_call_options(data, account_sid=account_sid, default_caller_id=default_caller_id)
    calls_per_minute = _whole(data, "calls_per_minute", 1, budget, min(DEFAULT_CALLS_PER_MINUTE, budget))
    assert calls_per_minute is not None
    try:
        window = parse_window(_json_field(data, "window"), numbers_in_india=False, today=datetime.now(UTC).date())
        retries = parse_retries(_json_field(data, "retries"))
    except (WindowError, RetryError) as exc:
        raise ValidationError(exc.message, exc.field) from None
    start_at, end_at = _instant(data, "start_at"), _instant(data, "end_at")
    if start_at and end_at and end_at <= start_at:
        raise ValidationError("end_at must be after start_at.", "end_at")
    return CampaignInput(
        name=name.strip(),
        options=options,
        calls_per_minute=calls_per_minute,
        max_in_flight=_whole(data, "max_in_flight", 1, MAX_IN_FLIGHT, None),
        window=window,
        retries=retries,
        start_at=start_at,
        end_at=end_at,
    )
