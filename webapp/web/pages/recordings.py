"""A call's recording, relayed from Exotel: the browser never gets Exotel's address or the account's credentials."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ...calls.recordings import open_recording
from ...db import get_db, utcnow
from ...exotel.recordings import RecordingError
from ...exotel_access.recordings import recording_fetcher
from ..errors import error_response
from ..roles import page_rule

bp = Blueprint("recordings", __name__)
bp.before_request(page_rule(default="read"))  # signed in, any role
EXTENSIONS = {"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav"}


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
