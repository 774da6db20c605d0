"""Schemas of what clients send, stating every limit the API's checks refuse, taken from the code that checks.

A client generated from the document never sends a body that a field's own check refuses
(tests/web/test_openapi_requests.py walks these schemas against the validators). What one
field cannot say (a rule across fields, or the state of the database) is said in words.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

import phonenumbers

from ....calls.validation import (
    APP_ID,
    CALL_TYPES,
    CALLER_ID,
    EVENTS,
    MAX_CUSTOM_FIELD,
    MAX_FLOW_URL,
    MAX_TIME_LIMIT,
    MAX_TIME_OUT,
)
from ....campaigns.retries import BACKOFFS, MAX_DELAY_MINUTES, MAX_RETRIES, RETRYABLE
from ....campaigns.spec import DEFAULT_CALLS_PER_MINUTE, MAX_IN_FLIGHT, MAX_NAME
from ....campaigns.window import DAYS

# The byte limits of a request body, beyond which the API answers 413 (the app's MAX_CONTENT_LENGTH; a
# campaign's list may be larger).
CALL_BODY_BYTES = 1024 * 1024
CAMPAIGN_BODY_BYTES = 32 * 1024 * 1024

# Text the databases store and UTF-8 carries: no NUL (nor a lone surrogate, which JSON text cannot be read into).
TEXT_PATTERN = "^[^\\x00]*$"


def indian_number_pattern() -> str:
    """An Indian mobile number as E.164 (+91...), nationally (0...) or bare: phonenumbers' own ranges, so every
    number it matches is one the API reads as valid."""
    mobile = phonenumbers.PhoneMetadata.metadata_for_region("IN").mobile.national_number_pattern  # type: ignore[union-attr]
    return f"^(?:\\+91|0)?(?:{mobile})$"


def _number(description: str) -> dict[str, Any]:
    return {
        "type": "string", "pattern": indian_number_pattern(),
        "description": description + " The pattern names the Indian mobile numbers, which are always read; other "
        "valid numbers (E.164, or written with spaces and dashes) are read too.",
    }


def _whole(low: int, high: int, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "minimum": low, "maximum": high}
    return {**schema, "description": description} if description else schema


CALL_OPTIONS: dict[str, Any] = {
    "caller_id": {"type": "string", "pattern": CALLER_ID.pattern,
                  "description": "Your ExoPhone; required unless EXOTEL_CALLER_ID is set."},
    "flow_url": {"type": "string", "format": "uri", "maxLength": MAX_FLOW_URL,
                 "pattern": "^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[!-~]*)?$",
                 "description": "The flow as a full http(s) URL; give it or app_id, not both."},
    "app_id": {"oneOf": [{"type": "string", "pattern": APP_ID.pattern}, _whole(0, 10**12 - 1)],
               "description": "The flow's number in App Bazaar > My Apps; give it or flow_url, not both."},
    "call_type": {"enum": list(CALL_TYPES)},
    "time_limit": _whole(1, MAX_TIME_LIMIT, "Seconds the call may last."),
    "time_out": _whole(1, MAX_TIME_OUT, "Seconds it may ring."),
    "status_callback_events": {"type": "array", "items": {"enum": list(EVENTS)}},
}
# Exactly one way of naming the flow.
ONE_FLOW = [{"required": ["flow_url"]}, {"required": ["app_id"]}]


def call_request() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["from"],
        "additionalProperties": False,
        "oneOf": ONE_FLOW,
        "description": f"At most {CALL_BODY_BYTES // 1024} KiB (413 beyond).",
        "properties": {
            "from": _number("The customer's number; national numbers are read as Indian."),
            **CALL_OPTIONS,
            "custom_field": {"type": "string", "maxLength": MAX_CUSTOM_FIELD, "pattern": TEXT_PATTERN},
            "override_suppression": {
                "type": "boolean", "default": False,
                "description": "Call the number even though it is on the suppression list. Admin tokens only "
                               "(another role's true is refused with 403 `forbidden`); recorded in the audit log.",
            },
        },
    }


WINDOW: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "The hours a campaign dials (the end after the start, on the same day). Calling Indian numbers, "
    "it must keep within 09:00-21:00 India time (TRAI): a window that could dial outside is refused.",
    "properties": {
        "start": {"type": "string", "pattern": "^(?:[01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["09:00"]},
        "end": {"type": "string", "pattern": "^(?:[01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["21:00"]},
        "days": {"type": "array", "minItems": 1, "items": {"enum": list(DAYS)}},
        "timezone": {"enum": sorted(available_timezones()), "examples": ["Asia/Kolkata"]},
    },
}

RETRIES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "count": _whole(0, MAX_RETRIES),
        "on": {"type": "array", "items": {"enum": list(RETRYABLE)}},
        "delay_minutes": _whole(1, MAX_DELAY_MINUTES),
        "backoff": {"enum": list(BACKOFFS)},
    },
}


# An instant with its UTC offset; in UTC it must still fall within the years 1 to 9999.
INSTANT = {"type": "string", "format": "date-time", "pattern": "^(?!0001-|9999-)"}


def campaign_request(budget: int) -> dict[str, Any]:
    """The campaign to create; `budget` (EXOTEL_REQUESTS_PER_MINUTE) bounds its pace."""
    return {
        "type": "object",
        "required": ["name", "contacts"],
        "additionalProperties": False,
        "oneOf": ONE_FLOW,
        "description": f"At most {CAMPAIGN_BODY_BYTES // (1024 * 1024)} MB (413 beyond). Refused (422) when no "
        "contact can be called (all suppressed), and when end_at is not after start_at.",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME, "pattern": "^[^\\x00]*[^\\x00\\s][^\\x00]*$"},
            **CALL_OPTIONS,
            "contacts": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["number"],
                    "additionalProperties": False,
                    "properties": {
                        "number": _number("A number to call. A row whose number is not valid is not imported."),
                        "custom_field": {"type": "string", "maxLength": MAX_CUSTOM_FIELD, "pattern": TEXT_PATTERN},
                    },
                },
            },
            "calls_per_minute": _whole(1, budget, f"Default {min(DEFAULT_CALLS_PER_MINUTE, budget)}."),
            "max_in_flight": _whole(1, MAX_IN_FLIGHT, "Calls not yet final at once; unlimited by default."),
            "window": WINDOW,
            "retries": RETRIES,
            "start_at": INSTANT,
            "end_at": INSTANT,
        },
    }
