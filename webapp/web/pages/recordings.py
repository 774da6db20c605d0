"""A call's recording, relayed from Exotel: the browser never gets Exotel's address or the account's credentials."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, send_file

from ...calls.archive import archived_recording
from ...calls.recordings import open_recording
from ...config import get_settings
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
    """The call's recording: the archived copy when there is one, else Exotel's, streamed; a Range is answered with 206."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, for its extensions
    directory = get_settings(app).recordings_dir
    archived = archived_recording(get_db(), directory, call_id) if directory else None
    if archived is not None:
        # From the file, in pieces (a Range seeks in it); its checksum is its ETag.
        response = send_file(archived.path, mimetype=archived.content_type, conditional=True, etag=archived.sha256,
                             max_age=0)
        return _private(response, call_id, archived.content_type)
    try:
        stream = open_recording(get_db(), recording_fetcher(app), call_id, request.headers.get("Range"), now=utcnow())
    except RecordingError as exc:
        return error_response(exc.status, "recording_unavailable", exc.message)
    response = Response(stream.chunks(), status=stream.status, headers=stream.headers, direct_passthrough=True)
    response.call_on_close(stream.close)
    return _private(response, call_id, stream.headers["Content-Type"])


def _private(response: Response, call_id: str, content_type: str) -> Response:
    extension = EXTENSIONS.get(content_type, "")
    response.headers["Content-Disposition"] = f'inline; filename="call-{call_id[:64]}-recording{extension}"'
    response.headers["Cache-Control"] = "private, no-store"  # a customer's voice: kept by no cache
    return response
