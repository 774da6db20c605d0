"""Exotel's StatusCallback: authenticate, read any encoding, record exactly once."""

from __future__ import annotations

import json
import logging
import re
import time

from flask import Blueprint, Request, Response, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from ...calls.events import Recorded, record_event
from ...calls.signing import verify_callback_token
from ...config import get_settings
from ...db import get_db
from ...exotel.body import MAX_BODY, BodyError, read_callback, too_large
from ...exotel.callbacks import parse_callback
from ...observability.metrics import CALLBACK_SECONDS, CALLBACKS
from ..errors import error_response

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

# A callback URL's last segment is its secret.
_CALLBACK_TOKEN = re.compile(r"(/webhooks/exotel/[^/\s?]*/)[^\s?\"]+")


class HideCallbackTokens(logging.Filter):
    """Rewrite a log line that names a callback URL (werkzeug's request log does) without its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/webhooks/exotel/" in message:
            record.msg, record.args = _CALLBACK_TOKEN.sub(r"\1<token>", message), ()
        return True


@bp.record_once
def _hide_tokens_in_request_logs(_state) -> None:
    """The development server (`flask run`, `make run`) logs each request's path: keep tokens out of it."""
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, HideCallbackTokens) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(HideCallbackTokens())

# The success answers never change: built once, not serialised per request.
_ANSWERS = {outcome: json.dumps({"result": outcome.value}).encode() + b"\n" for outcome in Recorded}
_OUTCOMES = {413: "too_large", 415: "unsupported_media_type"}  # the metric's outcome label; other 4xx: unreadable


def _body(req: Request) -> bytes:
    """The request body as the server handed it over: chunked framing removed, at most MAX_BODY bytes.

    With a Content-Length, werkzeug refuses a longer body (413) before reading and
    a shorter one as a disconnect. Without one (chunked), werkzeug would stop at
    max_content_length without a word, so the body is read here, one byte past
    the limit to tell. A body cut short, or chunk framing the server could not
    read, is a BodyError (400); servers raise different errors for it (werkzeug:
    OSError, ValueError; gunicorn: its ParseException, a plain Exception), hence
    the broad except around the read alone.
    """
    try:
        if req.content_length is not None:
            return req.get_data(cache=False)
        environ = req.environ
        if "wsgi.input_terminated" not in environ and "chunked" not in req.headers.get("Transfer-Encoding", "").lower():
            return b""  # no Content-Length and not chunked: no body (as werkzeug reads it)
        stream, chunks, size = environ["wsgi.input"], [], 0
        while size <= MAX_BODY and (chunk := stream.read(MAX_BODY + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BODY:
            raise too_large()
        return b"".join(chunks)
    except RequestEntityTooLarge:
        raise too_large() from None
    except BodyError:
        raise
    except Exception:  # whatever the input stream raised: the body could not be read
        raise BodyError(400, "unreadable_body", "The body ended early or its chunked framing is malformed.") from None


def _done(started: float, call_id: str, outcome: str, sid: str | None = None, event_type: str | None = None) -> None:
    """The callback's log line and metrics: call id, Sid, outcome, latency; never the URL's token."""
    elapsed = time.perf_counter() - started
    CALLBACKS.labels(outcome).inc()
    CALLBACK_SECONDS.observe(elapsed)
    log.info(
        "callback",
        extra={
            "event": "callback",
            "call_id": call_id,
            "sid": sid,
            "event_type": event_type,
            "outcome": outcome,
            "latency_ms": round(elapsed * 1000, 1),
        },
    )


@bp.route("/exotel/<call_id>/<token>", methods=["POST", "GET"])
def status_callback(call_id: str, token: str):
    """Record one StatusCallback for the call this URL was made for."""
    started = time.perf_counter()
    settings = get_settings()
    # The token first, in constant time, before a byte of the body is read.
    if len(call_id) > 64 or not verify_callback_token(settings.secret_key, call_id, token):
        _done(started, call_id[:64], "forbidden")
        return error_response(403, "forbidden", "This callback URL is not valid.")
    request.max_content_length = MAX_BODY
    try:
        fields = read_callback(request.method, request.headers, _body(request), request.query_string)
    except BodyError as exc:
        _done(started, call_id, _OUTCOMES.get(exc.status, "unreadable"))
        return error_response(exc.status, exc.code, exc.message)
    event = parse_callback(fields, settings.tz)
    try:
        outcome = record_event(get_db(), call_id, event)
    except SQLAlchemyError:
        # Answered by the app's error handler: 503 for an outage (Exotel retries), nothing committed.
        _done(started, call_id, "database_error", event.call_sid, event.event_type)
        raise
    _done(started, call_id, outcome.value, event.call_sid, event.event_type)
    return Response(_ANSWERS[outcome], status=200, mimetype="application/json")
