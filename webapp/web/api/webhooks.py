"""The JSON API's outbound webhook endpoints (admin tokens only): register, read, change, rotate, delete, replay."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, jsonify, request

from ...accounts import can
from ...config import get_settings
from ...db import get_db, utcnow
from ...jobs.tasks import wake_webhooks
from ...webhooks import endpoints, queries
from ..errors import error_response
from ..roles import current_actor, forbidden
from .blueprint import bp, token_required

STATUS = {"not_found": 404, "rate_limited": 429, "too_many": 409, "invalid_json": 400}


def admin_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only an admin's token: endpoints receive every call's data."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not can(g.api_token.role, "admin"):
            return forbidden(f"This token's role ({g.api_token.role}) may not manage webhooks.", needed="admin")
        return view(*args, **kwargs)

    return wrapper


def _body() -> Any:
    try:
        return json.loads(request.get_data() or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _refused(exc: endpoints.WebhookError) -> Any:
    status = STATUS.get(exc.code, 422)
    headers = {"Retry-After": "60"} if status == 429 else None
    return error_response(status, exc.code, exc.message, exc.field, headers=headers)


def _with_secret(endpoint: Any, secret: str, status: int) -> Any:
    return jsonify({**queries.endpoint_to_dict(endpoint), "secret": secret}), status


@bp.get("/webhooks")
@token_required
@admin_token
def index_webhooks():
    with get_db().transaction(write=False) as session:
        return jsonify({"webhooks": [queries.endpoint_to_dict(e) for e in queries.list_endpoints(session)]})


@bp.post("/webhooks")
@token_required
@admin_token
def create_webhook():
    """Register an endpoint; its `whsec_` secret is in this answer and never again."""
    try:
        given = endpoints.parse_input(_body(), partial=False, allow_private=get_settings().webhook_allow_private)
        endpoint, secret = endpoints.create(get_db(), given, secret_key=get_settings().secret_key,
                                            actor=current_actor(), now=utcnow())
    except endpoints.WebhookError as exc:
        return _refused(exc)
    wake_webhooks()  # a first endpoint starts the worker's delivery chain now, not within the minute
    return _with_secret(endpoint, secret, 201)


@bp.get("/webhooks/<int(max=2147483647):endpoint_id>")
@token_required
@admin_token
def show_webhook(endpoint_id: int):
    """The endpoint with its recent deliveries, newest first."""
    with get_db().transaction(write=False) as session:
        endpoint = queries.get_endpoint(session, endpoint_id)
        if endpoint is None:
            return error_response(404, "not_found", "No such webhook endpoint.")
        return jsonify({**queries.endpoint_to_dict(endpoint), "deliveries": queries.recent_deliveries(session, endpoint_id)})


@bp.patch("/webhooks/<int(max=2147483647):endpoint_id>")
@token_required
@admin_token
def change_webhook(endpoint_id: int):
    try:
        given = endpoints.parse_input(_body(), partial=True, allow_private=get_settings().webhook_allow_private)
        endpoint = endpoints.update_endpoint(get_db(), endpoint_id, given, actor=current_actor(), now=utcnow())
    except endpoints.WebhookError as exc:
        return _refused(exc)
    return jsonify(queries.endpoint_to_dict(endpoint))


@bp.post("/webhooks/<int(max=2147483647):endpoint_id>/rotate")
@token_required
@admin_token
def rotate_webhook(endpoint_id: int):
    """A new secret (shown this once); the old one keeps signing beside it for 24 hours."""
    try:
        endpoint, secret = endpoints.rotate(get_db(), endpoint_id, secret_key=get_settings().secret_key,
                                            actor=current_actor(), now=utcnow())
    except endpoints.WebhookError as exc:
        return _refused(exc)
    return _with_secret(endpoint, secret, 200)


@bp.delete("/webhooks/<int(max=2147483647):endpoint_id>")
@token_required
@admin_token
def delete_webhook(endpoint_id: int):
    try:
        endpoints.remove(get_db(), endpoint_id, actor=current_actor(), now=utcnow())
    except endpoints.WebhookError as exc:
        return _refused(exc)
    return "", 204


@bp.post("/webhooks/<int(max=2147483647):endpoint_id>/replay")
@token_required
@admin_token
def replay_webhook(endpoint_id: int):
    """Send events again: `{"event_ids": [...]}` or `{"since", "until"}`; 202 with how many were queued."""
    body = _body()
    try:
        queued = endpoints.replay(get_db(), endpoint_id, body, actor=current_actor(), now=utcnow())
    except endpoints.WebhookError as exc:
        return _refused(exc)
    return jsonify({"queued": queued}), 202
