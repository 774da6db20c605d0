"""A call's recording, relayed from Exotel: the browser never gets Exotel's address or the account's credentials."""

from __future__ import annotations

import threading

from flask import Blueprint, Flask, Response, current_app, request

from ..calls.recordings import open_recording
from ..db import get_db, utcnow
from ..exotel.recordings import RecordingError, RecordingFetcher
from ..gateway import exotel_client
from .errors import error_response
from .roles import page_rule

bp = Blueprint("recordings", __name__)
bp.before_request(page_rule(default="read"))  # signed in, any role
_lock = threading.Lock()
EXTENSIONS = {"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav"}


def recording_fetcher(app: Flask) -> RecordingFetcher:
    """The app's fetcher of recordings, made once, with its Exotel account's credentials and its limits."""
    with _lock:
        fetcher: RecordingFetcher | None = app.extensions.get("exotel_recordings")
        if fetcher is None:
            limits = {"max_bytes": app.config.get("RECORDING_MAX_BYTES", 200 * 1024 * 1024),
                      "max_seconds": app.config.get("RECORDING_MAX_SECONDS", 600.0),
                      "read_timeout": app.config.get("RECORDING_READ_TIMEOUT", 20.0)}
            fetcher = app.extensions["exotel_recordings"] = exotel_client(app).recordings(**limits)
    return fetcher


@bp.get("/calls/<call_id>/recording")
def call_recording(call_id: str) -> Response:
    """The call's recording, streamed with Exotel's Content-Type; a Range is passed on and answered with 206."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, for its extensions
    try:
        stream = open_recording(get_db(), recording_fetcher(app), call_id, request.headers.get("Range"), now=utcnow())
    except RecordingError as exc:
        return error_response(exc.status, "recording_unavailable", exc.message)
    response = Response(stream.chunks(), status=stream.status, headers=stream.headers, direct_passthrough=True)
    extension = EXTENSIONS.get(stream.headers["Content-Type"], "")
    response.headers["Content-Disposition"] = f'inline; filename="call-{call_id[:64]}-recording{extension}"'
    response.headers["Cache-Control"] = "private, no-store"  # a customer's voice: kept by no cache
    response.call_on_close(stream.close)
    return response
