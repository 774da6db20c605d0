"""Schemas of the JSON API's bodies, with the enumerations taken from the code that enforces them."""

from __future__ import annotations

from typing import Any

from ....calls.status import KNOWN
from ....campaigns.contacts import DUPLICATE, INVALID, SUPPRESSED
from ....campaigns.models import CAMPAIGN_STATUSES, CONTACT_STATES
from ....campaigns.retries import BACKOFFS, MAX_RETRIES, RETRYABLE
from ....campaigns.store import LISTED
from ....campaigns.window import DAYS

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_INTEGER = {"type": ["integer", "null"]}
TIME = {"type": ["string", "null"], "format": "date-time"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return answer(ref("Error"), description)


ERRORS = {
    "400": error("The request cannot be read (bad JSON, filter or cursor)."),
    "401": error("No valid bearer token."),
    "403": error("The token's role may not do this."),
    "422": error("A field is wrong; `field` names it."),
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}},
            }
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "event_type", "received_at"],
        "properties": {
            "id": {"type": "integer"},
            "event_type": {"enum": ["answered", "terminal", "status", "reconcile"]},
            "status": NULLABLE_STRING,
            "call_sid": NULLABLE_STRING,
            "occurred_at": TIME,
            "received_at": {"type": "string", "format": "date-time"},
            "payload": {},
        },
    },
    "Call": {
        "type": "object",
        "required": ["id", "sid", "status", "final", "from", "caller_id", "flow_url", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "sid": NULLABLE_STRING,
            "status": {"enum": sorted(KNOWN)},
            "final": {"type": "boolean"},
            "from": {"type": "string"},
            "caller_id": {"type": "string"},
            "flow_url": {"type": "string"},
            "call_type": NULLABLE_STRING,
            "time_limit": NULLABLE_INTEGER,
            "time_out": NULLABLE_INTEGER,
            "custom_field": NULLABLE_STRING,
            "error": {
                "type": ["object", "null"],
                "properties": {"code": NULLABLE_STRING, "message": NULLABLE_STRING},
            },
            "created_at": {"type": "string", "format": "date-time"},
            "placed_at": TIME,
            "answered_at": TIME,
            "ended_at": TIME,
            "conversation_duration": NULLABLE_INTEGER,
            "recording_url": NULLABLE_STRING,
            "answered_by": NULLABLE_STRING,
            "created_by": NULLABLE_STRING,
            "updated_at": {"type": "string", "format": "date-time"},
            "events": {"type": "array", "items": ref("Event")},
        },
    },
    "Window": {
        "type": "object",
        "properties": {
            "start": {"type": "string", "examples": ["09:00"]},
            "end": {"type": "string", "examples": ["21:00"]},
            "days": {"type": "array", "items": {"enum": list(DAYS)}},
            "timezone": {"type": "string", "examples": ["Asia/Kolkata"]},
        },
    },
    "Retries": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 0, "maximum": MAX_RETRIES},
            "on": {"type": "array", "items": {"enum": list(RETRYABLE)}},
            "delay_minutes": {"type": "integer", "minimum": 1},
            "backoff": {"enum": list(BACKOFFS)},
        },
    },
    "Counts": {
        "type": "object",
        "required": ["contacts", *CONTACT_STATES],
        "properties": {name: {"type": "integer"} for name in ("contacts", *CONTACT_STATES)},
    },
    "Campaign": {
        "type": "object",
        "required": ["id", "name", "status", "counts"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "status": {"enum": list(CAMPAIGN_STATUSES)},
            "status_reason": NULLABLE_STRING,
            "flow_url": {"type": "string"},
            "caller_id": {"type": "string"},
            "calls_per_minute": {"type": "integer"},
            "max_in_flight": NULLABLE_INTEGER,
            "window": ref("Window"),
            "retries": ref("Retries"),
            "start_at": TIME,
            "end_at": TIME,
            "created_by": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "counts": ref("Counts"),
            "import": ref("Import"),
            "not_imported": {
                "description": f"In the answer to its creation only: the first {LISTED:,} rows not imported, in row "
                               "order; `import` counts them all and links to the whole list as CSV.",
                "type": "array",
                "maxItems": LISTED,
                "items": {
                    "type": "object",
                    "required": ["row", "number", "reason"],
                    "properties": {
                        "row": {"type": "integer"},
                        "number": {"type": "string"},
                        "reason": {"enum": [INVALID, DUPLICATE, SUPPRESSED]},
                    },
                },
            },
        },
    },
    "Import": {
        "description": "What the import of the contact list did: rows = imported + not_imported.",
        "type": "object",
        "required": ["rows", "imported", "not_imported", "not_imported_by_reason", "not_imported_csv"],
        "properties": {
            "rows": {"type": "integer", "description": "Data rows read (blank lines are none)."},
            "imported": {"type": "integer"},
            "not_imported": {"type": "integer"},
            "not_imported_by_reason": {
                "type": "object",
                "propertyNames": {"enum": [INVALID, DUPLICATE, SUPPRESSED]},
                "additionalProperties": {"type": "integer"},
            },
            "not_imported_csv": {"type": "string", "description": "Path of every row not imported, as CSV."},
        },
    },
    "Contact": {
        "type": "object",
        "required": ["id", "row", "number", "state", "attempts", "calls"],
        "properties": {
            "id": {"type": "integer"},
            "row": {"type": "integer"},
            "number": {"type": "string"},
            "custom_field": NULLABLE_STRING,
            "state": {"enum": list(CONTACT_STATES)},
            "attempts": {"type": "integer"},
            "next_attempt_at": TIME,
            "calls": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "attempt": {"type": "integer"},
                        "call_id": {"type": "string"},
                        "status": {"type": "string"},
                        "created_at": TIME,
                        "answered_at": TIME,
                    },
                },
            },
        },
    },
    "Suppression": {
        "type": "object",
        "required": ["number", "reason"],
        "properties": {
            "number": {"type": "string"},
            "reason": {"type": "string"},
            "created_by": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "Alert": {
        "type": "object",
        "required": ["id", "rule", "state", "severity", "summary", "started_at", "resolved_at", "acknowledged_by"],
        "properties": {
            "id": {"type": "integer"},
            "rule": {"type": "string"},
            "state": {"type": "string", "enum": ["firing", "resolved"]},
            "severity": {"type": "string", "enum": ["critical", "warning"]},
            "summary": {"type": "string"},
            "started_at": {"type": "string", "format": "date-time"},
            "resolved_at": {"type": ["string", "null"], "format": "date-time"},
            "acknowledged_by": {"type": ["string", "null"]},
        },
    },
}
