"""StatusCallback payloads as Exotel posts them, and their wire encodings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .formats import format_ts
from .outcomes import COMPLETED

if TYPE_CHECKING:
    from .call import SimCall

ANSWERED = "answered"
#: AnsweredBy as Exotel writes it (its documented words: Human, Machine, NotSure, NA).
HUMAN = "Human"
NOT_APPLICABLE = "NA"
TERMINAL = "terminal"
EVENTS = (ANSWERED, TERMINAL)

MULTIPART = "multipart/form-data"
JSON = "application/json"
CONTENT_TYPES = (MULTIPART, JSON)


def answered_payload(call: SimCall) -> dict[str, Any]:
    """Return the ``answered`` event Exotel posts when the callee picks up."""
    return {
        "CallSid": call.sid,
        "EventType": ANSWERED,
        "Status": "in-progress",
        "DateCreated": format_ts(call.created),
        "DateUpdated": format_ts(call.answered_at),
        "To": call.caller_id,
        "From": call.from_number,
        "PhoneNumberSid": call.caller_id,
        "StartTime": format_ts(call.created),
        "Direction": "outbound-api",
        "RecordingUrl": "",  # every callback carries it; empty until there is a recording
        "Legs": [{"Status": "in-progress", "OnCallDuration": "0", "AnsweredBy": HUMAN}],
    }


def terminal_payload(call: SimCall) -> dict[str, Any]:
    """Return the ``terminal`` event Exotel posts when the call ends."""
    payload: dict[str, Any] = {
        "CallSid": call.sid,
        "EventType": TERMINAL,
        "Status": call.status,
        "DateCreated": format_ts(call.created),
        "DateUpdated": format_ts(call.ended_at),
        "StartTime": format_ts(call.created),
        "EndTime": format_ts(call.ended_at),
        "ConversationDuration": str(call.conversation),  # Exotel writes durations as strings of digits
        "RecordingUrl": call.recording_url or "",
    }
    if call.custom_field is not None:
        payload["CustomField"] = call.custom_field  # Exotel echoes it only on terminal
    payload.update({
        "To": call.caller_id,
        "From": call.from_number,
        "PhoneNumberSid": call.caller_id,
        "Direction": "outbound-api",
        "Legs": [{
            "Status": call.status,
            "OnCallDuration": str(call.conversation),
            "AnsweredBy": HUMAN if call.answered_at is not None else NOT_APPLICABLE,
        }],
    })
    return payload


def classic_payload(call: SimCall) -> dict[str, Any]:
    """Return the single end-of-call callback sent when no events were asked for."""
    return {
        "CallSid": call.sid,
        "Status": call.status,
        "DateUpdated": format_ts(call.ended_at),
        "RecordingUrl": (call.recording_url or "") if call.status == COMPLETED else "",
    }


def flatten(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten a payload into form fields: ``Legs[0][Status]`` and strings."""
    fields: list[tuple[str, str]] = []
    for key, value in payload.items():
        if isinstance(value, list):
            for index, item in enumerate(value):
                for sub_key, sub_value in item.items():
                    fields.append((f"{key}[{index}][{sub_key}]", str(sub_value)))
        else:
            fields.append((key, "" if value is None else str(value)))
    return fields


def request_kwargs(payload: dict[str, Any], content_type: str) -> dict[str, Any]:
    """Return the ``requests`` keyword arguments that encode ``payload``."""
    if content_type == JSON:
        return {"json": payload}
    # (None, value) parts have no filename, so they are plain multipart fields.
    return {"files": [(name, (None, value)) for name, value in flatten(payload)]}
