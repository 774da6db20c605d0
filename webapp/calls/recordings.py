"""A call's recording, for the browser: where Exotel keeps it, then the open stream (the web layer relays it)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from ..db import Database
from ..exotel.recordings import RecordingError, RecordingFetcher, RecordingStream, RecordingUnavailable
from ..models import Call, CallEvent

log = logging.getLogger(__name__)

#: Exotel may take a while after the call ends to make its recording available.
SETTLING = timedelta(minutes=10)


class NoRecording(RecordingError):
    """The call is unknown, or nothing Exotel said about it names a recording."""

    status = 404


def recording_addresses(db: Database, call_id: str) -> tuple[Call, list[tuple[str, bool]]]:
    """The call, and where its recording is: pre-signed URLs (newest first: they expire), then its RecordingUrl."""
    with db.transaction(write=False) as session:
        call = session.get(Call, call_id)
        if call is None:
            raise NoRecording("No call with that id.")
        payloads = session.scalars(
            select(CallEvent.payload).where(CallEvent.call_id == call_id).order_by(CallEvent.received_at.desc(), CallEvent.id.desc())
        ).all()
        session.expunge(call)
    # Bulk Call Details with RecordingUrlValidity (and maybe callbacks) carry a PreSignedRecordingUrl: no credentials needed.
    found = [_presigned(payload) for payload in payloads]
    addresses = [(url, True) for url in dict.fromkeys(url for url in found if url)]
    if call.recording_url and call.recording_url.strip():
        addresses.append((call.recording_url.strip(), False))
    if not addresses:
        raise NoRecording("This call has no recording.")
    return call, addresses


def _presigned(payload: str) -> str | None:
    try:
        body = json.loads(payload)
    except (TypeError, ValueError, RecursionError):
        return None
    value = body.get("PreSignedRecordingUrl") if isinstance(body, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def open_recording(db: Database, fetcher: RecordingFetcher, call_id: str, byte_range: str | None, *, now: datetime) -> RecordingStream:
    """The call's recording from Exotel, open and ready to relay; raises a RecordingError saying why not."""
    call, addresses = recording_addresses(db, call_id)
    failure: RecordingError | None = None
    for url, presigned in addresses:
        try:
            return fetcher.open(url, byte_range, presigned=presigned)
        except RecordingError as exc:
            # The reason goes to the log; never the URL (a pre-signed one is a credential while it lasts).
            log.warning("recording of call %s not fetched: %s (%s)", call_id, exc.reason, type(exc).__name__)
            failure = exc  # the last is the call's own RecordingUrl: its failure is the one to tell
    assert failure is not None
    if isinstance(failure, RecordingUnavailable):
        ended = call.ended_at or call.updated_at
        if ended is not None and now - ended < SETTLING:
            raise RecordingUnavailable("Exotel has not made this recording available yet: try again in a minute.", failure.reason)
        raise RecordingUnavailable("Exotel no longer has this recording (it keeps them for a limited time).", failure.reason)
    raise failure
