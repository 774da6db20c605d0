"""The JSON API's blueprint under /api, its bearer tokens, and its OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from ...accounts import authenticate_token
from ...accounts.unknown_tokens import UnknownTokens, record_unknown_tokens
from ...config import get_settings
from ...db import get_db
from ..browser.login import now
from ..errors import error_response
from ..roles import forbidden, token_allows, token_permission
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api")


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse the request with 401 unless it carries a live bearer token, and with 403 unless
    the token's role allows the method (a viewer's token reads and does nothing else).
    Both refusals are audited: a 403 each time, a token that is no live token a row per address a minute."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        presented = scheme.lower() == "bearer" and bool(token.strip())
        api_token = authenticate_token(get_db(), token.strip()) if presented else None
        _audit_unknown_tokens(refused=presented and api_token is None)
        if api_token is None:
            response = error_response(401, "unauthorized", "A valid API token is required: Authorization: Bearer <token>.")
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        g.api_token = api_token
        if not token_allows(api_token.role):
            return forbidden(f"This token's role ({api_token.role}) may only read.", needed=token_permission())
        return view(*args, **kwargs)

    return wrapper


def _audit_unknown_tokens(*, refused: bool) -> None:
    """Count this request's unknown token, if any, and write the rows now due (see accounts.unknown_tokens)."""
    tally: UnknownTokens = current_app.extensions.setdefault("unknown_tokens", UnknownTokens())
    record_unknown_tokens(get_db(), tally.refused(request.remote_addr, now()) if refused else tally.due())


@bp.get("/openapi.json")
def openapi() -> Any:
    """The API described as OpenAPI 3.1 (public: it holds no data)."""
    return jsonify(document(get_settings().exotel_requests_per_minute))

