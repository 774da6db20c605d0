"""The outbound webhook endpoints' operations and schemas (admin tokens only)."""

from __future__ import annotations

from typing import Any

from ....webhooks.models import EVENT_TYPES
from .schemas import ERRORS, NULLABLE_STRING, TIME, answer, error, ref

ENDPOINT_ID = {"name": "endpoint_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}
EVENTS = {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}, "minItems": 1}
ADMIN = {k: v for k, v in ERRORS.items() if k in ("401",)} | {"403": error("Only an admin's token manages webhooks.")}
NOT_FOUND = {"404": error("No such endpoint.")}

SCHEMAS: dict[str, Any] = {
    "Webhook": {
        "type": "object", "required": ["id", "url", "events", "enabled"],
        "properties": {
            "id": {"type": "integer"}, "url": {"type": "string"}, "events": {"type": "array", "items": {"type": "string"}},
            "description": NULLABLE_STRING, "enabled": {"type": "boolean"}, "disabled_reason": NULLABLE_STRING,
            "failing_since": TIME, "last_success_at": TIME, "created_at": TIME, "secret_rotating_until": TIME,
        },
    },
    "WebhookWithSecret": {"allOf": [ref("Webhook"), {"type": "object", "required": ["secret"], "properties": {
        "secret": {"type": "string", "description": "The whsec_ secret: shown in this answer only."}}}]},
    "WebhookRequest": {
        "type": "object", "required": ["url", "events"],
        "properties": {"url": {"type": "string", "maxLength": 2000}, "events": EVENTS,
                       "description": {"type": "string", "maxLength": 500}},
    },
}
_BODY = {"type": "object", "properties": {"url": {"type": "string"}, "events": EVENTS, "enabled": {"type": "boolean"},
                                          "description": {"type": "string", "maxLength": 500}}}
_REPLAY = {"type": "object", "properties": {
    "event_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 10000},
    "since": {"type": "string", "format": "date-time"}, "until": {"type": "string", "format": "date-time"}}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


PATHS: dict[str, Any] = {
    "/api/webhooks": {
        "get": {"operationId": "listWebhooks", "summary": "Registered endpoints.",
                "responses": {"200": answer({"type": "object", "properties": {"webhooks": {"type": "array", "items": ref("Webhook")}}},
                                            "The endpoints."), **ADMIN}},
        "post": {"operationId": "createWebhook", "summary": "Register an endpoint; its secret is shown once.",
                 "requestBody": _json(ref("WebhookRequest")),
                 "responses": {"201": answer(ref("WebhookWithSecret"), "Registered."), **ADMIN,
                               "400": ERRORS["400"], "409": error("Too many endpoints."),
                               "422": error("A field is wrong, or the URL's host is not public.")}},
    },
    "/api/webhooks/{endpoint_id}": {
        "get": {"operationId": "getWebhook", "summary": "One endpoint with its recent deliveries.", "parameters": [ENDPOINT_ID],
                "responses": {"200": answer(ref("Webhook"), "The endpoint and `deliveries`, newest first."), **ADMIN, **NOT_FOUND}},
        "patch": {"operationId": "changeWebhook", "summary": "Change url, events, description or enabled.",
                  "parameters": [ENDPOINT_ID], "requestBody": _json(_BODY),
                  "responses": {"200": answer(ref("Webhook"), "The endpoint."), **ADMIN, **NOT_FOUND, "400": ERRORS["400"],
                                "422": error("A field is wrong.")}},
        "delete": {"operationId": "deleteWebhook", "summary": "Delete the endpoint and its delivery log.",
                   "parameters": [ENDPOINT_ID], "responses": {"204": {"description": "Deleted."}, **ADMIN, **NOT_FOUND}},
    },
    "/api/webhooks/{endpoint_id}/rotate": {
        "post": {"operationId": "rotateWebhook", "summary": "A new secret; the old one signs too for 24 hours.",
                 "parameters": [ENDPOINT_ID],
                 "responses": {"200": answer(ref("WebhookWithSecret"), "The new secret, shown once."), **ADMIN, **NOT_FOUND}},
    },
    "/api/webhooks/{endpoint_id}/replay": {
        "post": {"operationId": "replayWebhook", "summary": "Send events again (same webhook-id): by id or a time range.",
                 "parameters": [ENDPOINT_ID], "requestBody": _json(_REPLAY),
                 "responses": {"202": answer({"type": "object", "properties": {"queued": {"type": "integer"}}}, "Queued."),
                               **ADMIN, **NOT_FOUND, "400": ERRORS["400"], "422": error("A field is wrong."),
                               "429": error("Too many replays for this endpoint in the last minute.")}},
    },
}
