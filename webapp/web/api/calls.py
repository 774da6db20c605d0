"""The JSON API's calls: place one, read them back."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from flask import g, jsonify, request

from ...calls.asking import AskRefused, ask_exotel
from ...calls.placing import CallKeyConflict
from ...calls.queries import MAX_PAGE, BadCallCursor, CallFilters, call_events, call_to_dict, get_call, list_calls, valid_status
from ...calls.validation import (
    MAX_CUSTOM_FIELD,
    ValidationError,
    check_text,
    in_utc,
    normalize_number,
    refuse_json_constant,
    validate_call,
)
from ...campaigns import suppressions
from ...config import get_settings
from ...db import get_db
from ...exotel import BudgetSpent, ExotelError, ExotelRejected, ExotelTimeout, ExotelUnreachable
from ...exotel_access import account_sid, exotel_client
from ..browser.call_words import ask_answer_words
from ..errors import error_response
from ..placing import place
from ..roles import current_actor
from .blueprint import bp, token_required

MAX_IDEMPOTENCY_KEY = 255
# 1..200 in ASCII digits: str.isdigit() also accepts "²", which int() refuses.
_LIMIT = re.compile(r"[0-9]{1,3}")


@bp.post("/calls")
@token_required
def create_call():
    """Place a call; see CONTRACT.md for the answers."""
    if not request.is_json:
        return error_response(415, "unsupported_media_type", "Send a JSON body with Content-Type: application/json.")
    try:
        body = json.loads(request.get_data() or b"null", parse_constant=refuse_json_constant)
    except RecursionError:
        return error_response(400, "invalid_json", "The body is nested too deeply to be a request to place a call.")
    except (ValueError, UnicodeDecodeError):
        return error_response(400, "invalid_json", "The body is not valid JSON (NaN and Infinity are not JSON either).")
    settings = get_settings()
    try:
        override = suppressions.override_asked(
            body.pop("override_suppression", False) if isinstance(body, dict) else False, g.api_token.role)
        data = validate_call(body, account_sid=account_sid(), default_caller_id=settings.exotel_caller_id)
    except suppressions.OverrideRefused as exc:
        return error_response(403, "forbidden", exc.message, exc.field)
    except ValidationError as exc:
        status = 400 if exc.code == "invalid_body" else 422
        return error_response(status, exc.code, exc.message, exc.field)
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is not None:
        try:
            check_text(key, None, limit=MAX_IDEMPOTENCY_KEY, label="Idempotency-Key")
        except ValidationError as exc:
            return error_response(400, "invalid_idempotency_key", exc.message)
    try:
        placement = place(data, scope=f"token:{g.api_token.id}", idempotency_key=key, actor=current_actor(),
                          override_suppression=override)
    except CallKeyConflict as exc:
        return error_response(422, "idempotency_conflict", str(exc))
    except suppressions.Suppressed as exc:
        return error_response(422, exc.code, exc.message, exc.field)
    except BudgetSpent as exc:
        response = error_response(429, "budget_spent", exc.message)
        response.headers["Retry-After"] = str(max(1, int(exc.retry_after + 0.999)))
        return response

    call = call_to_dict(placement.call)
    if placement.replayed:
        return jsonify(call), 200
    error = placement.error
    if error is None:
        return jsonify(call), 201, {"Location": f"/api/calls/{placement.call.id}"}
    if isinstance(error, ExotelTimeout):
        status, code = 504, "exotel_timeout"
    elif isinstance(error, ExotelUnreachable):
        status, code = 502, "exotel_unreachable"
    elif isinstance(error, ExotelRejected):
        status, code = 502, "exotel_rejected"
    else:
        status, code = 502, "exotel_error"
    response = jsonify(
        {
            "error": {
                "code": code,
                "message": error.message,
                "exotel_status": error.http_status,
                "exotel_code": error.code,
            },
            "call": call,
        }
    )
    response.status_code = status
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after + 0.999))
    return response


@bp.get("/calls/<call_id>")
@token_required
def show_call(call_id: str):
    """One call with its events, oldest first."""
    session = get_db().session()
    call = get_call(session, call_id)
    if call is None:
        return error_response(404, "not_found", "No call with that id.")
    return jsonify(call_to_dict(call, call_events(session, call.id)))


@bp.post("/calls/<call_id>/check")
@token_required
def check_call(call_id: str):
    """Ask Exotel now about a call that is not final: one request, audited, once per call per 30 s."""
    settings = get_settings()
    try:
        answer = ask_exotel(get_db(), exotel_client(), call_id, current_actor(), tz=settings.tz, now=settings.now(),
                            never_placed_after=timedelta(minutes=settings.reconcile_never_placed_after_minutes))
    except AskRefused as exc:
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
        code = {404: "not_found", 409: "final"}.get(exc.status, "throttled")
        return error_response(exc.status, code, exc.message, headers=headers)
    except BudgetSpent as exc:
        return error_response(429, "budget_spent", f"Nothing was asked: the deployment's Exotel budget "
                              f"({settings.exotel_requests_per_minute} requests a minute) is spent.",
                              headers={"Retry-After": str(max(1, int(exc.retry_after + 0.999)))})
    except ExotelError as exc:
        return error_response(502, "exotel_error", f"Exotel did not answer the question: {exc.message}")
    session = get_db().session()
    call = get_call(session, call_id)
    assert call is not None  # calls are never deleted
    return jsonify({"answer": answer.kind.value, "exotel_status": answer.status, "message": ask_answer_words(answer),
                    "call": call_to_dict(call, call_events(session, call.id))})


def _when(name: str, value: str | None, *, end: bool = False) -> datetime | None:
    """An ISO 8601 date or datetime (UTC when no zone is given); a bare date spans the whole day."""
    if not value:
        return None
    check_text(value, name, limit=64)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name} must be an ISO 8601 date or datetime.", name) from None
    if len(value) == 10 and end:
        when = datetime.combine(when.date(), dtime.max)
    return in_utc(when if when.tzinfo else when.replace(tzinfo=UTC), name)


@bp.get("/calls")
@token_required
def index_calls():
    """Calls newest first, filtered, with a cursor for the next page."""
    args = request.args
    try:
        for name in ("status", "from", "custom_field"):  # no longer text can match a custom_field
            check_text(args.get(name, ""), name, limit=MAX_CUSTOM_FIELD)
        status = args.get("status") or None
        if status and not valid_status(status):
            raise ValidationError(f"Unknown status {status[:30]!r}.", "status")
        from_number = normalize_number(args["from"], "from") if args.get("from") else None
        limit_text = args.get("limit", "50")
        if not _LIMIT.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_PAGE:
            raise ValidationError(f"limit must be a whole number from 1 to {MAX_PAGE}.", "limit")
        filters = CallFilters(
            status=status,
            from_number=from_number,
            since=_when("since", args.get("since")),
            until=_when("until", args.get("until"), end=True),
            custom_field=args.get("custom_field") or None,
            created_by=check_text(args.get("created_by", ""), "created_by", limit=300) or None,
        )
        page = list_calls(get_db().session(), filters, limit=int(limit_text), cursor=args.get("cursor") or None)
    except ValidationError as exc:
        return error_response(400, exc.code, exc.message, exc.field)
    except BadCallCursor as exc:
        return error_response(400, "invalid_cursor", str(exc), "cursor")
    return jsonify({"calls": [call_to_dict(call) for call in page.calls], "next_cursor": page.next_cursor})
