"""The JSON API for backend systems: one blueprint under /api, bearer tokens, JSON errors."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request

from ...accounts import authenticate_token
from ...config import get_settings
from ...db import get_db
from ..errors import error_response
from ..openapi import document
from ..roles import token_allows

bp = Blueprint("api", __name__, url_prefix="/api")


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse the request with 401 unless it carries a live bearer token, and with 403 unless
    the token's role allows the method (a viewer's token reads and does nothing else)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        api_token = authenticate_token(get_db(), token.strip()) if scheme.lower() == "bearer" else None
        if api_token is None:
            response = error_response(401, "unauthorized", "A valid API token is required: Authorization: Bearer <token>.")
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
        g.api_token = api_token
        if not token_allows(api_token.role):
            return error_response(403, "forbidden", f"This token's role ({api_token.role}) may only read.")
        return view(*args, **kwargs)

    return wrapper


@bp.get("/openapi.json")
def openapi() -> Any:
    """The API described as OpenAPI 3.1 (public: it holds no data)."""
    return jsonify(document(get_settings().exotel_requests_per_minute))


# The routes, one module per resource, registered on the blueprint above.
from . import calls, campaigns, suppressions  # noqa: E402,F401
