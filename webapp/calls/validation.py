"""Checking a request to place a call, before anything is stored or sent."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from .checks import (
    MAX_TEXT,
    Faults,
    ValidationError,
    check_text,
    has_lone_surrogate,
    in_utc,
    integral,
    is_clean_text,
    refuse_json_constant,
)

# The building blocks live in .checks; importers know them by this module's name too.
__all__ = [
    "MAX_TEXT", "CallInput", "CallOptions", "Faults", "ValidationError", "check_call", "check_call_options", "check_text",
    "has_lone_surrogate", "in_utc", "is_clean_text", "normalize_number", "refuse_json_constant", "validate_call",
    "validate_call_options",
]

EVENTS = ("answered", "terminal")
CALL_TYPES = ("trans", "promo")
MAX_TIME_LIMIT = 14400  # Exotel's maximum call duration, 4 hours
MAX_TIME_OUT = 60  # ring time; Exotel's support pages cap it at 60 s
MAX_CUSTOM_FIELD = 128
MAX_FLOW_URL = 500
MAX_FIELD_NAME = 40
TEXT_LIMITS = {"custom_field": MAX_CUSTOM_FIELD, "flow_url": MAX_FLOW_URL}
FIELDS = {
    "from", "caller_id", "flow_url", "app_id", "call_type", "time_limit", "time_out",
    "custom_field", "status_callback_events",
}
# What an ExoPhone (separators removed) and an app id look like; the OpenAPI document states them too.
CALLER_ID = re.compile(r"^\+?\d{6,16}$")
APP_ID = re.compile(r"^\d{1,12}$")


def _check_texts(data: Mapping[Any, Any], faults: Faults) -> None:
    """Every field name and every text value (lists included) of a request, by the rule of check_text."""
    for key, value in data.items():
        if isinstance(key, str):
            faults.check(partial(check_text, key, None, limit=MAX_FIELD_NAME, label="A field name"))
        name = key if key in FIELDS else None
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, str):
                faults.check(partial(check_text, item, name, limit=TEXT_LIMITS.get(str(key), MAX_TEXT)))


@dataclass(frozen=True)
class CallInput:
    """A validated request to ring `from_number` and connect it to a flow."""

    from_number: str  # E.164
    caller_id: str
    flow_url: str
    call_type: str | None
    time_limit: int | None
    time_out: int | None
    custom_field: str | None
    status_callback_events: tuple[str, ...]

    def fingerprint(self) -> str:
        """A hash of the request, to tell an honest retry from a reused Idempotency-Key."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


def normalize_number(value: Any, field: str = "from", region: str = "IN") -> str:
    """A phone number as E.164; national numbers are read in `region` (India by default)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("A phone number is required.", field, "missing_field")
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"{value.strip()[:40]!r} is not a phone number.", field) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"{value.strip()[:40]!r} is not a valid phone number.", field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _optional_text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string.", name)
    return value.strip() or None


def _optional_int(data: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be a whole number of seconds.", name)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,9}\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ValidationError(f"{name} must be a whole number of seconds.", name)
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high} seconds.", name)
    return value


def _flow_url(data: Mapping[str, Any], account_sid: str) -> str:
    flow_url = _optional_text(data, "flow_url")
    app_id = integral(data.get("app_id"))
    if isinstance(app_id, int) and not isinstance(app_id, bool):
        app_id = str(app_id)
    app_id = _optional_text({"app_id": app_id}, "app_id")
    if flow_url and app_id:
        raise ValidationError("Give flow_url or app_id, not both.", "flow_url")
    if app_id:
        if not APP_ID.match(app_id):
            raise ValidationError("app_id is the number of a flow in App Bazaar > My Apps.", "app_id")
        return f"http://my.exotel.com/{account_sid}/exoml/start_voice/{app_id}"
    if not flow_url:
        raise ValidationError("A flow is required: give flow_url or app_id.", "flow_url", "missing_field")
    parts = urlsplit(flow_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("flow_url must be an http(s) URL such as http://my.exotel.com/<sid>/exoml/start_voice/<app_id>.", "flow_url")
    return flow_url


def _events(data: Mapping[str, Any]) -> tuple[str, ...]:
    events = data.get("status_callback_events")
    if events is None:
        return EVENTS
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, (list, tuple)) or not all(isinstance(e, str) for e in events):
        raise ValidationError('status_callback_events must be a list drawn from ["answered", "terminal"].', "status_callback_events")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ValidationError(f"Unknown status callback event {unknown[0][:20]!r}; use answered and/or terminal.", "status_callback_events")
    return tuple(e for e in EVENTS if e in events)


@dataclass(frozen=True)
class CallOptions:
    """What every call to a flow needs besides the number: the ExoPhone, the flow and Exotel's options."""

    caller_id: str
    flow_url: str
    call_type: str | None
    time_limit: int | None
    time_out: int | None
    status_callback_events: tuple[str, ...]


def _caller_id(data: Mapping[str, Any], default_caller_id: str | None) -> str:
    caller_id = _optional_text(data, "caller_id") or default_caller_id
    if not caller_id:
        raise ValidationError("caller_id (your ExoPhone) is required; EXOTEL_CALLER_ID is not set.", "caller_id", "missing_field")
    caller_id = re.sub(r"[\s\-()]", "", caller_id)
    if not CALLER_ID.match(caller_id):
        raise ValidationError("caller_id must be an ExoPhone number, e.g. 08047112345.", "caller_id")
    return caller_id


def _call_type(data: Mapping[str, Any]) -> str | None:
    call_type = _optional_text(data, "call_type")
    if call_type is not None and call_type not in CALL_TYPES:
        raise ValidationError("call_type must be trans (transactional) or promo.", "call_type")
    return call_type


def check_call_options(
    data: Mapping[str, Any], faults: Faults, *, account_sid: str, default_caller_id: str | None,
) -> CallOptions | None:
    """The per-call options of a call or a campaign, or None with every fault kept in `faults`."""
    found = len(faults.errors)
    caller_id = faults.check(lambda: _caller_id(data, default_caller_id))
    call_type = faults.check(lambda: _call_type(data))
    flow_url = faults.check(lambda: _flow_url(data, account_sid))
    time_limit = faults.check(lambda: _optional_int(data, "time_limit", 1, MAX_TIME_LIMIT))
    time_out = faults.check(lambda: _optional_int(data, "time_out", 1, MAX_TIME_OUT))
    events = faults.check(lambda: _events(data))
    if len(faults.errors) > found or caller_id is None or flow_url is None or events is None:
        return None
    return CallOptions(caller_id, flow_url, call_type, time_limit, time_out, events)


def validate_call_options(data: Mapping[str, Any], *, account_sid: str, default_caller_id: str | None) -> CallOptions:
    """The per-call options of a call or a campaign; raise ValidationError naming the field."""
    faults = Faults()
    options = check_call_options(data, faults, account_sid=account_sid, default_caller_id=default_caller_id)
    faults.raise_first()
    assert options is not None
    return options


def _custom_field(data: Mapping[str, Any]) -> str | None:
    custom_field = data.get("custom_field")
    if custom_field is not None and not isinstance(custom_field, str):
        raise ValidationError("custom_field must be a string.", "custom_field")
    return custom_field or None


def check_call(data: Any, *, account_sid: str, default_caller_id: str | None) -> tuple[CallInput | None, list[ValidationError]]:
    """A request (JSON object or form fields) checked whole: what to place, or None and every fault, the first of each field."""
    if not isinstance(data, Mapping):
        return None, [ValidationError("The body must be a JSON object.", None, "invalid_body")]
    faults = Faults()
    _check_texts(data, faults)
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        faults.add(ValidationError(f"Unknown field {str(unknown[0])[:40]!r}.", str(unknown[0])[:40], "unknown_field"))
    from_number = faults.check(lambda: normalize_number(data.get("from"), "from"))
    options = check_call_options(data, faults, account_sid=account_sid, default_caller_id=default_caller_id)
    custom_field = faults.check(lambda: _custom_field(data))
    if faults.errors or from_number is None or options is None:
        return None, faults.errors
    return CallInput(
        from_number=from_number,
        caller_id=options.caller_id,
        flow_url=options.flow_url,
        call_type=options.call_type,
        time_limit=options.time_limit,
        time_out=options.time_out,
        custom_field=custom_field,
        status_callback_events=options.status_callback_events,
    ), []


def validate_call(data: Any, *, account_sid: str, default_caller_id: str | None) -> CallInput:
    """Check a request and return what to place; raise the first ValidationError (the API's one error)."""
    call, errors = check_call(data, account_sid=account_sid, default_caller_id=default_caller_id)
    if call is None:
        raise errors[0]
    return call
