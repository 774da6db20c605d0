"""The JSON API's suppression list: numbers that no campaign ever calls (the rules: campaigns.suppressions)."""

from __future__ import annotations

import json

from flask import jsonify, request

from ...calls.validation import ValidationError, normalize_number
from ...campaigns import suppressions
from ...campaigns.queries import list_suppressions
from ...db import get_db, utcnow
from ..errors import error_response
from ..roles import current_actor
from .blueprint import bp, token_required


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
    if not isinstance(body, dict) or not isinstance(body.get("numbers"), list):
        return error_response(422, "invalid_field", "Give numbers: a list of phone numbers.", "numbers")
    try:
        numbers = suppressions.parse_numbers((f"number {i}", value) for i, value in enumerate(body["numbers"], start=1))
        reason = suppressions.parse_reason(body.get("reason"))
    except ValidationError as exc:
        return error_response(422, exc.code, exc.message, exc.field)
    actor = current_actor()
    added = suppressions.add(get_db(), numbers, reason=reason, created_by=actor.name, now=utcnow(), actor=actor)
    return jsonify({"added": added})


@bp.delete("/suppressions/<path:number>")
@token_required
def remove_suppression(number: str):
    try:
        number = normalize_number(number, "number")
    except ValidationError as exc:
        return error_response(404, "not_found", exc.message)
    if not suppressions.remove(get_db(), number, actor=current_actor()):
        return error_response(404, "not_found", "That number is not suppressed.")
    return "", 204
