"""Exotel's StatusCallback: authenticate, read any encoding, record exactly once."""

from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Request, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from ..calls.events import record_event
from ..db import get_db
from ..exotel.callbacks import fields_from_form, parse_callback
from ..signing import verify_callback_token
from .errors import error_response

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

MAX_BODY = 64 * 1024
MAX_PARTS = 200  # a callback has about 25 fields; Legs add 3 per leg
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class UnreadableBody(ValueError):
    """A body that cannot be read as what its Content-Type says."""


def read_fields(req: Request) -> dict:
    """Query parameters merged with the body's fields (the body wins), whatever the encoding."""
    fields = fields_from_form(req.args.items(multi=True))
    mimetype = req.mimetype
    has_body = bool(req.content_length) or req.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if mimetype in FORM_TYPES:
        try:
            form = req.form
        except ValueError as exc:  # werkzeug refuses some malformed multipart this way
            raise UnreadableBody(str(exc)) from None
        fields.update(fields_from_form(form.items(multi=True)))
    elif mimetype == "application/json" or mimetype.endswith("+json"):
        raw = req.get_data(cache=False)
        if raw.strip():
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise UnreadableBody("the body is not valid JSON") from None
            if not isinstance(body, dict):
                raise UnreadableBody("the JSON body must be an object")
            fields.update(body)
    elif has_body and mimetype:
        return None  # a content type we do not read: 415
    elif has_body and req.get_data(cache=False).strip():
        return None
    return fields


@bp.route("/exotel/<call_id>/<token>", methods=["POST", "GET"])
def status_callback(call_id: str, token: str):
    """Record one StatusCallback for the call this URL was made for."""
    started = time.perf_counter()
    settings = current_app.extensions["settings"]
    if len(call_id) > 64 or not verify_callback_token(settings.secret_key, call_id, token):
        return error_response(403, "forbidden", "This callback URL is not valid.")
    request.max_content_length = MAX_BODY
    request.max_form_parts = MAX_PARTS
    request.max_form_memory_size = MAX_BODY
    try:
        fields = read_fields(request)
    except RequestEntityTooLarge:
        return error_response(413, "body_too_large", f"The body is over {MAX_BODY // 1024} KiB or has too many parts.")
    except (UnreadableBody, BadRequest) as exc:
        message = exc.args[0] if isinstance(exc, UnreadableBody) else "The body could not be read."
        return error_response(400, "unreadable_body", message)
    if fields is None:
        return error_response(
            415, "unsupported_media_type", "Send multipart/form-data, application/x-www-form-urlencoded or application/json."
        )
    event = parse_callback(fields, settings.tz)
    outcome = record_event(get_db(), call_id, event)
    log.info(
        "callback",
        extra={
            "event": "callback",
            "call_id": call_id,
            "sid": event.call_sid,
            "event_type": event.event_type,
            "outcome": outcome.value,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return jsonify({"result": outcome.value})
