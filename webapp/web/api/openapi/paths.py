"""The JSON API's operations: each route with its parameters and answers."""

from __future__ import annotations

from typing import Any

from ....calls.status import KNOWN
from ....campaigns.models import CONTACT_STATES
from .requests import CALL_BODY_BYTES, CAMPAIGN_BODY_BYTES
from .schemas import ERRORS, NULLABLE_STRING, answer, error, ref

# Campaign ids are 32-bit integers; a larger one is no campaign (404).
CAMPAIGN_ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
    "description": "A retry with the same key (per token) and body returns the first answer instead of acting again.",
}


def _campaign_action(verb: str, summary: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"{verb}Campaign",
            "summary": summary,
            "parameters": [{"name": "campaign_id", "in": "path", "required": True, "schema": CAMPAIGN_ID}],
            "responses": {
                "200": answer(ref("Campaign"), "The campaign, as it now stands."),
                "404": error("No such campaign."),
                "409": error("The campaign has ended."),
                **{k: v for k, v in ERRORS.items() if k in ("401", "403")},
            },
        }
    }


PATHS: dict[str, Any] = {
    "/api/calls": {
        "post": {
            "operationId": "placeCall",
            "summary": "Ring a customer and connect them to a flow once they answer.",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("CallRequest")}}},
            "responses": {
                "201": answer(ref("Call"), "Exotel accepted the call."),
                "200": answer(ref("Call"), "A repeated Idempotency-Key: the first call."),
                **ERRORS,
                "403": error("The token's role may not do this: a viewer's places nothing, and only an admin's may "
                             "set override_suppression."),
                "422": error("A field is wrong (`field` names it), or `suppressed`: the number is on the suppression "
                             "list; the message gives the reason and the date. Nothing was sent."),
                "413": error(f"The body is over {CALL_BODY_BYTES // 1024} KiB."),
                "415": error("The body is not JSON."),
                "429": error("The deployment's Exotel budget is spent; Retry-After says when to try again."),
                "502": answer({"type": "object"}, "Exotel refused or failed; the call row keeps the error."),
                "504": answer({"type": "object"}, "Exotel did not answer in time; the call is `unknown`."),
            },
        },
        "get": {
            "operationId": "listCalls",
            "summary": "Calls newest first, filtered, a page at a time.",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": sorted(KNOWN)}},
                {"name": "from", "in": "query", "schema": {"type": "string"}},
                {"name": "since", "in": "query", "schema": {"type": "string"}},
                {"name": "until", "in": "query", "schema": {"type": "string"}},
                {"name": "custom_field", "in": "query", "schema": {"type": "string"}},
                {"name": "created_by", "in": "query", "schema": {"type": "string"},
                 "description": "Who placed the call: user:<email>, token:<name> or campaign:<id>."},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": answer(
                    {"type": "object", "required": ["calls", "next_cursor"],
                     "properties": {"calls": {"type": "array", "items": ref("Call")}, "next_cursor": NULLABLE_STRING}},
                    "A page of calls.",
                ),
                **{k: v for k, v in ERRORS.items() if k in ("400", "401")},
            },
        },
    },
    "/api/calls/{call_id}": {
        "get": {
            "operationId": "getCall",
            "summary": "One call with its events, oldest first.",
            "parameters": [{"name": "call_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": answer(ref("Call"), "The call."), "404": error("No such call."), "401": ERRORS["401"]},
        }
    },
    "/api/calls/{call_id}/check": {
        "post": {
            "operationId": "checkCall",
            "summary": "Ask Exotel now about a call that is not final (one Call Details request, audited as `call.check`).",
            "parameters": [{"name": "call_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": answer(
                    {"type": "object", "required": ["answer", "exotel_status", "message", "call"],
                     "properties": {
                         "answer": {"enum": ["final", "open", "not_listed", "never_placed", "ambiguous"]},
                         "exotel_status": NULLABLE_STRING, "message": {"type": "string"}, "call": ref("Call")}},
                    "What Exotel said, recorded on the call as reconciliation records it, and the call now."),
                "404": error("No such call."),
                "409": error("The call already has its final status: nothing was asked."),
                "429": error("Exotel was asked about this call in the last 30 seconds, or the deployment's Exotel "
                             "budget is spent; Retry-After says when to try again. Nothing was asked."),
                "502": error("Exotel's Call Details API failed."),
                **{k: v for k, v in ERRORS.items() if k in ("401", "403")},
            },
        }
    },
    "/api/campaigns": {
        "post": {
            "operationId": "createCampaign",
            "summary": "Create a campaign from a JSON contact list (or a CSV `file` in multipart).",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ref("CampaignRequest")},
                    "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "contentMediaType": "text/csv"}}}},
                },
            },
            "responses": {
                "201": answer(ref("Campaign"), "The campaign, with the first rows it did not import and counts of all."),
                "200": answer(ref("Campaign"), "A repeated Idempotency-Key: the first campaign."),
                **ERRORS,
                "422": error("A field is wrong (`field` names it), no row can be called, or the CSV cannot be read: "
                             "a quote that does not close on its line is refused, naming the row where it opened."),
                "413": error(f"The body is over {CAMPAIGN_BODY_BYTES // (1024 * 1024)} MB."),
                "415": error("Neither JSON nor multipart."),
            },
        },
        "get": {
            "operationId": "listCampaigns",
            "summary": "Campaigns, newest first.",
            "responses": {
                "200": answer({"type": "object", "required": ["campaigns"],
                              "properties": {"campaigns": {"type": "array", "items": ref("Campaign")}}}, "The campaigns."),
                "401": ERRORS["401"],
            },
        },
    },
    "/api/campaigns/{campaign_id}": {
        "get": {
            "operationId": "getCampaign",
            "summary": "One campaign with its counts.",
            "parameters": [{"name": "campaign_id", "in": "path", "required": True, "schema": CAMPAIGN_ID}],
            "responses": {"200": answer(ref("Campaign"), "The campaign."), "404": error("No such campaign."),
                          "401": ERRORS["401"]},
        }
    },
    "/api/campaigns/{campaign_id}/contacts": {
        "get": {
            "operationId": "listCampaignContacts",
            "summary": "A campaign's contacts in list order, each with its attempts.",
            "parameters": [
                {"name": "campaign_id", "in": "path", "required": True, "schema": CAMPAIGN_ID},
                {"name": "status", "in": "query", "schema": {"enum": list(CONTACT_STATES)}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
            ],
            "responses": {
                "200": answer(
                    {"type": "object", "required": ["contacts", "next_cursor"],
                     "properties": {"contacts": {"type": "array", "items": ref("Contact")}, "next_cursor": NULLABLE_STRING}},
                    "A page of contacts.",
                ),
                "404": error("No such campaign."),
                **{k: v for k, v in ERRORS.items() if k in ("400", "401")},
            },
        }
    },
    "/api/campaigns/{campaign_id}/not-imported.csv": {
        "get": {
            "operationId": "getCampaignNotImported",
            "summary": "Every row of the campaign's list that was not imported, with its reason.",
            "parameters": [{"name": "campaign_id", "in": "path", "required": True, "schema": CAMPAIGN_ID}],
            "responses": {
                "200": {
                    "description": "CSV (UTF-8 with a byte-order mark): row_number, number, custom_field, reason.",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "404": error("No such campaign."),
                "401": ERRORS["401"],
            },
        }
    },
    "/api/campaigns/{campaign_id}/pause": _campaign_action("pause", "Place no new attempt after this answer."),
    "/api/campaigns/{campaign_id}/resume": _campaign_action("resume", "Place attempts again."),
    "/api/campaigns/{campaign_id}/cancel": _campaign_action("cancel", "End the campaign; waiting contacts are canceled."),
    "/api/suppressions": {
        "get": {
            "operationId": "listSuppressions",
            "summary": "Numbers no campaign calls.",
            "responses": {
                "200": answer({"type": "object", "required": ["suppressions"],
                              "properties": {"suppressions": {"type": "array", "items": ref("Suppression")}}},
                             "The suppression list."),
                "401": ERRORS["401"],
            },
        },
        "post": {
            "operationId": "addSuppressions",
            "summary": "Suppress numbers.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["numbers"],
                "properties": {"numbers": {"type": "array", "items": {"type": "string"}, "maxItems": 10000},
                               "reason": {"type": "string", "maxLength": 64}},
            }}}},
            "responses": {
                "200": answer({"type": "object", "properties": {"added": {"type": "array", "items": {"type": "string"}}}},
                             "The numbers newly suppressed."),
                **ERRORS,
            },
        },
    },
    "/api/suppressions/{number}": {
        "delete": {
            "operationId": "removeSuppression",
            "summary": "Let campaigns call this number again.",
            "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Removed."}, "404": error("Not suppressed."),
                          **{k: v for k, v in ERRORS.items() if k in ("401", "403")}},
        }
    },
    "/api/alerts": {
        "get": {
            "operationId": "listAlerts",
            "summary": "The product's alerts, newest first.",
            "parameters": [{"name": "state", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["firing", "resolved", "all"], "default": "all"}}],
            "responses": {
                "200": answer({"type": "object", "required": ["alerts"],
                              "properties": {"alerts": {"type": "array", "items": ref("Alert")}}}, "The alerts."),
                "422": error("An unknown state."),
                "401": ERRORS["401"],
            },
        },
    },
}
