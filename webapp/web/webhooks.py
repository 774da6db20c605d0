"""Exotel's StatusCallback: authenticate, read any encoding, record exactly once."""

from __future__ import annotations

import io
import json
import logging
import time

from flask import Blueprint, Request, Response, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from ..calls.events import Recorded, record_event
from ..calls.signing import verify_callback_token
from ..config import get_settings
from ..db import get_db
from ..exotel.callbacks import fields_from_form, parse_callback
from ..exotel.multipart import ParserLimitReached, read_form_fields
from ..observability.metrics import CALLBACK_SECONDS, CALLBACKS
from .errors import error_response

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

MAX_BODY = 64 * 1024
MAX_PARTS = 200  # a callback has about 25 fields; Legs add 3 per leg
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

# The success answers never change: built once, not serialised per request.
_ANSWERS = {outcome: json.dumps({"result": outcome.value}).encode() + b"\n" for outcome in Recorded}


class UnreadableBody(ValueError):
    """A body that cannot be read as what its Content-Type says."""


def _buffer_chunked_body(req: Request) -> None:
    """Read a body sent without Content-Length (chunked) here, refusing it past MAX_BODY.

    Werkzeug stops reading such a stream at max_content_length without a word, so
    an oversized body would be parsed cut short instead of refused.
    """
    stream = req.environ["wsgi.input"]
    chunks, size = [], 0
    while size <= MAX_BODY:
        chunk = stream.read(MAX_BODY + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_BODY:
        raise RequestEntityTooLarge()
    req.environ["wsgi.input"] = io.BytesIO(b"".join(chunks))
    req.environ["CONTENT_LENGTH"] = str(size)
    req.environ.pop("wsgi.input_terminated", None)


def _read_multipart(req: Request) -> list[tuple[str, str]] | None:
    """A multipart body's fields by the fast parser; None: leave it to werkzeug's `req.form`."""
    boundary = req.mimetype_params.get("boundary")
    if not boundary:
        return None
    body = req.get_data()  # cached: werkzeug re-reads it if this parser gives up
    try:
        return read_form_fields(body, boundary, MAX_PARTS)
    except ParserLimitReached:
        raise RequestEntityTooLarge() from None


def read_fields(req: Request) -> dict | None:
    """Query parameters merged with the body's fields (the body wins), whatever the encoding; None: 415."""
    fields = fields_from_form(req.args.items(multi=True)) if req.args else {}
    mimetype = req.mimetype
    chunked = req.content_length is None and req.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if chunked:
        _buffer_chunked_body(req)
    has_body = bool(req.content_length)
    if mimetype == "multipart/form-data" and (quick := _read_multipart(req)) is not None:
        fields.update(fields_from_form(quick))
    elif mimetype in FORM_TYPES:
        try:
            form = req.form
        except ValueError as exc:  # werkzeug refuses some malformed multipart this way
            raise UnreadableBody(str(exc)) from None
        items = form.items(multi=True)
        if mimetype != "multipart/form-data":  # werkzeug counts multipart parts itself
            items = list(items)
            if len(items) > MAX_PARTS:
                raise RequestEntityTooLarge()
        fields.update(fields_from_form(items))
    elif mimetype == "application/json" or mimetype.endswith("+json"):
        raw = req.get_data(cache=False)
        if raw.strip():
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise UnreadableBody("the body is not valid JSON") from None
            if not isinstance(body, dict):
                raise UnreadableBody("the JSON body must be an object")
            fields.update(body)
    elif has_body and mimetype:
        return None  # a content type we do not read: 415
    elif has_body and req.get_data(cache=False).strip():
        return None
    return fields


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
    request.max_form_parts = MAX_PARTS
    request.max_form_memory_size = MAX_BODY
    try:
        fields = read_fields(request)
    except RequestEntityTooLarge:
        _done(started, call_id, "too_large")
        return error_response(413, "body_too_large", f"The body is over {MAX_BODY // 1024} KiB or has too many parts.")
    except (UnreadableBody, BadRequest) as exc:
        _done(started, call_id, "unreadable")
        message = exc.args[0] if isinstance(exc, UnreadableBody) else "The body could not be read."
        return error_response(400, "unreadable_body", message)
    if fields is None:
        _done(started, call_id, "unsupported_media_type")
        return error_response(
            415, "unsupported_media_type", "Send multipart/form-data, application/x-www-form-urlencoded or application/json."
        )
    event = parse_callback(fields, settings.tz)
    try:
        outcome = record_event(get_db(), call_id, event)
    except SQLAlchemyError:
        # Answered by the app's error handler: 503 for an outage (Exotel retries), nothing committed.
        _done(started, call_id, "database_error", event.call_sid, event.event_type)
        raise
    _done(started, call_id, outcome.value, event.call_sid, event.event_type)
    return Response(_ANSWERS[outcome], status=200, mimetype="application/json")
