"""The JSON API's suppression list: numbers that no campaign ever calls."""

from __future__ import annotations

import json

from flask import jsonify, request

from ...calls.validation import ValidationError, normalize_number
from ...campaigns import store
from ...campaigns.queries import list_suppressions
from ...db import get_db, utcnow
from ..errors import error_response
from ..roles import current_actor
from .blueprint import bp, token_required

MAX_NUMBERS = 10_000


@bp.get("/suppressions")
@token_required
def index_suppressions():
    return jsonify({"suppressions": list_suppressions(get_db().session())})


@bp.post("/suppressions")
@token_required
def add_suppressions():
    """Suppress numbers (`{"numbers": [...], "reason": "..."}`); every number is checked before any is stored."""
    try:
        body = json.loads(request.get_data() or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return error_response(400, "invalid_json", "The body is not valid JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("numbers"), list) or not body["numbers"]:
        return error_response(422, "invalid_field", "Give numbers: a list of phone numbers.", "numbers")
    if len(body["numbers"]) > MAX_NUMBERS:
        return error_response(422, "invalid_field", f"At most {MAX_NUMBERS} numbers at a time.", "numbers")
    reason = body.get("reason") or "requested"
    if not isinstance(reason, str) or len(reason) > 64 or "\x00" in reason:
        return error_response(422, "invalid_field", "reason is text of at most 64 characters.", "reason")
    try:
        numbers = [normalize_number(number, "numbers") for number in body["numbers"]]
    except ValidationError as exc:
        return error_response(422, exc.code, exc.message, exc.field)
    added = store.add_suppressions(get_db(), numbers, reason=reason, created_by=current_actor().name, now=utcnow(),
                                  actor=current_actor())
    return jsonify({"added": added})


@bp.delete("/suppressions/<path:number>")
@token_required
def remove_suppression(number: str):
    try:
        number = normalize_number(number, "number")
    except ValidationError as exc:
        return error_response(404, "not_found", exc.message)
    if not store.remove_suppression(get_db(), number, actor=current_actor()):
        return error_response(404, "not_found", "That number is not suppressed.")
    return "", 204
