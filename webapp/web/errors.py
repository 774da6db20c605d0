"""Error answers: JSON for the API and the webhook, HTML for people; a database fault is a 503."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/api/", "/webhooks/", "/healthz")


def wants_json() -> bool:
    return request.path.startswith(MACHINE_PREFIXES) or request.accept_mimetypes.best == "application/json"


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None,
) -> Response:
    """One error in the contract's shape: {"error": {"code", "message", "field"?}}, or the error page for people."""
    if wants_json():
        error = {"code": code, "message": message}
        if field:
            error["field"] = field
        response = jsonify({"error": error})
    else:
        try:
            response = make_response(render_template("error.html", status=status, message=message))
        except Exception:  # no template yet, or the template itself failed
            response = make_response(f"{status}: {message}\n")
            response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def route() -> str:
    """The request's route as declared (`/webhooks/exotel/<call_id>/<token>`), never its raw path:
    a path may carry a secret (a callback token) that no log line may hold."""
    rule = request.url_rule
    return rule.rule if rule is not None else "(no route)"


def _is_database_down(exc: Exception) -> bool:
    if isinstance(exc, (OperationalError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        # werkzeug's own headers of the error: a 405's Allow (the methods the route takes), a 401's WWW-Authenticate.
        own = {name: value for name, value in exc.get_headers() if name.lower() != "content-type"}
        return error_response(exc.code or 500, code, exc.description or exc.name, headers=own or None)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if _is_database_down(exc):
            # Exotel retries a 5xx; a 503 says "try again", and nothing was committed.
            log.warning("database unavailable on %s %s: %s", request.method, route(), type(getattr(exc, "orig", exc)).__name__)
            return error_response(503, "database_unavailable", "The database is unavailable; try again shortly.", headers={"Retry-After": "5"})
        log.exception("unhandled error on %s %s", request.method, route())
        return error_response(500, "internal_error", InternalServerError.description)
