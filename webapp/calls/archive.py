"""Archiving recordings (RECORDINGS_DIR): which calls' recordings to fetch, fetching one into a file, the row saying so.

How the worker learns a call ended: it does not need to. A periodic run reads
the calls that reached a final status with a RecordingUrl (callbacks or
reconciliation wrote it) and have no archive row yet, plus the rows due for
another try; so a worker that dies mid-fetch loses nothing, and its claim runs
out and the next run takes the call again. A claim is a row (an insert only
one worker wins, or a conditional update), so two workers never fetch one call.

A file is written whole or not at all: a temporary file in the same folder,
fsync'd, then renamed, then the folder fsync'd; only then does the row say
`archived`, with the file's SHA-256 and size.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..exotel.recordings import (
    RecordingError,
    RecordingFetcher,
    RecordingNotAllowed,
    RecordingStream,
    RecordingTooLarge,
    RecordingUnavailable,
)
from ..models import Call, CallRecording
from .recordings import NoRecording, recording_addresses
from .status import FINAL

log = logging.getLogger(__name__)

#: A claimed fetch whose worker died is due again after this long (longer than a fetch may last).
CLAIM = timedelta(minutes=15)
#: Backoff between tries: doubling from the first, never longer than the most; then the recording is given up.
FIRST_RETRY, LONGEST_RETRY, MAX_ATTEMPTS = timedelta(minutes=1), timedelta(minutes=30), 10
#: A 404 this long after the call ended means Exotel no longer keeps it (it makes recordings available in minutes).
NOT_READY_FOR_AT_MOST = timedelta(days=1)
#: Only calls changed this recently are looked at for a first fetch (older ones are long gone at Exotel).
LOOK_BACK = timedelta(days=30)
EXTENSIONS = {"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav"}


class Incomplete(RecordingError):
    """The body stopped before its end (a broken connection, the size or time limit)."""


@dataclass(frozen=True)
class Archived:
    """An archived recording, to serve from its file."""

    path: Path
    content_type: str
    size_bytes: int
    sha256: str


def due_calls(db: Database, now: datetime, limit: int) -> list[str]:
    """Calls whose recording is to be fetched now: rows due for another try first, then calls never tried."""
    with db.transaction(write=False) as session:
        retries = session.scalars(
            select(CallRecording.call_id).where(CallRecording.state == "pending", CallRecording.next_try_at <= now)
            .order_by(CallRecording.next_try_at).limit(limit)
        ).all()
        fresh = session.scalars(
            select(Call.id).outerjoin(CallRecording, CallRecording.call_id == Call.id)
            .where(CallRecording.call_id.is_(None), Call.status.in_(sorted(FINAL)), Call.recording_url.is_not(None),
                   Call.recording_url != "", Call.updated_at >= now - LOOK_BACK)
            .order_by(Call.updated_at).limit(max(0, limit - len(retries)))
        ).all()
    return [*retries, *fresh]


def claim(db: Database, call_id: str, now: datetime) -> bool:
    """Take `call_id`'s fetch for this worker until now + CLAIM; False when another worker has it or it is settled."""
    try:
        with db.transaction() as session:
            row = session.get(CallRecording, call_id)
            if row is None:
                session.add(CallRecording(call_id=call_id, state="pending", attempts=0, next_try_at=now + CLAIM))
                return True
            taken = session.execute(
                update(CallRecording).where(and_(CallRecording.call_id == call_id, CallRecording.state == "pending",
                                                 CallRecording.next_try_at <= now))
                .values(next_try_at=now + CLAIM).execution_options(synchronize_session=False)
            )
            return bool(getattr(taken, "rowcount", 0) == 1)
    except IntegrityError:
        return False  # another worker inserted the row first


def archive_call(db: Database, fetcher: RecordingFetcher, directory: str, call_id: str, now: datetime) -> str:
    """Fetch one claimed call's recording into `directory`; the row's new state (`archived`, `pending`, a failure)."""
    try:
        call, addresses = recording_addresses(db, call_id)
    except NoRecording as exc:
        return _settle(db, call_id, "failed", exc.reason)
    failure: RecordingError = NoRecording("no address")
    for url, presigned in addresses:
        try:
            stream = fetcher.open(url, presigned=presigned)
            try:
                name, size, digest = store(directory, stream)
            finally:
                stream.close()
        except RecordingError as exc:
            log.warning("recording of call %s not archived: %s (%s)", call_id, exc.reason, type(exc).__name__)
            failure = exc  # the last is the call's own RecordingUrl: its failure is the one that counts
            continue
        except OSError as exc:  # the folder: full, gone, not writable; the next try may find it mended
            log.error("recording of call %s not written: %s", call_id, exc.strerror or type(exc).__name__)
            failure = RecordingError("not written", f"disk: {exc.strerror or type(exc).__name__}")
            break
        return _archived(db, directory, call_id, name, stream.headers["Content-Type"], size, digest, now)
    ended = call.ended_at or call.updated_at
    final = _final_state(failure, now - ended if ended else timedelta(0))
    return _retry(db, call_id, failure.reason, now) if final is None else _settle(db, call_id, final, failure.reason)


def _final_state(failure: RecordingError, since_end: timedelta) -> str | None:
    """The row's final state for `failure`, or None when it is worth another try."""
    if isinstance(failure, RecordingNotAllowed):
        return "not_allowed"  # never fetched from anywhere but Exotel; another try changes nothing
    if isinstance(failure, RecordingTooLarge):
        return "too_large"
    if isinstance(failure, RecordingUnavailable) and since_end > NOT_READY_FOR_AT_MOST:
        return "expired"
    return None  # not ready yet, refused (credentials may be mended), unreachable, a 5xx, a disk problem


def store(directory: str, stream: RecordingStream) -> tuple[str, int, str]:
    """Write `stream` whole into a new file of `directory`: its name, size and SHA-256. Atomic: rename after fsync."""
    if stream.status != 200:
        raise RecordingError("not the whole file", f"HTTP {stream.status} to a plain GET")
    folder = Path(directory)
    name = uuid.uuid4().hex + EXTENSIONS.get(stream.headers["Content-Type"], ".bin")
    temporary = folder / f".{name}.part"
    digest, size = hashlib.sha256(), 0
    try:
        with open(temporary, "xb") as out:
            for chunk in stream.chunks():
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        expected = stream.headers.get("Content-Length", "")
        if not stream.complete or (expected.isdigit() and int(expected) != size):
            raise Incomplete("cut short", f"{size} of {expected or 'unknown'} bytes")
        os.replace(temporary, folder / name)
        _sync_folder(folder)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return name, size, digest.hexdigest()


def _sync_folder(folder: Path) -> None:
    """fsync the folder, so the rename itself survives a crash."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _archived(db: Database, directory: str, call_id: str, name: str, content_type: str, size: int, digest: str,
              now: datetime) -> str:
    try:
        with db.transaction() as session:
            session.execute(update(CallRecording).where(CallRecording.call_id == call_id).values(
                state="archived", file_name=name, content_type=content_type[:64], size_bytes=size, sha256=digest,
                archived_at=now, next_try_at=None, last_error=None))
    except BaseException:
        (Path(directory) / name).unlink(missing_ok=True)  # no row names it: it would never be served nor swept
        raise
    log.info("recording of call %s archived: %d bytes", call_id, size, extra={"event": "recording_archived", "call_id": call_id})
    return "archived"


def _retry(db: Database, call_id: str, reason: str, now: datetime) -> str:
    with db.transaction() as session:
        row = session.get(CallRecording, call_id)
        if row is None:
            return "gone"  # the call was deleted meanwhile
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.state, row.next_try_at = "failed", None
        else:
            row.next_try_at = now + min(LONGEST_RETRY, FIRST_RETRY * 2 ** (row.attempts - 1))
        row.last_error = reason[:200]
        return row.state


def _settle(db: Database, call_id: str, state: str, reason: str) -> str:
    with db.transaction() as session:
        session.execute(update(CallRecording).where(CallRecording.call_id == call_id)
                        .values(state=state, next_try_at=None, last_error=reason[:200]))
    return state


def archived_recording(db: Database, directory: str, call_id: str) -> Archived | None:
    """The call's archived recording when its file is here (a host without the shared folder has none)."""
    with db.transaction(write=False) as session:
        row = session.get(CallRecording, call_id)
        if row is None or row.state != "archived" or not row.file_name:
            return None
        found = Archived(Path(directory) / row.file_name, row.content_type or "application/octet-stream",
                         row.size_bytes or 0, row.sha256 or "")
    return found if found.path.is_file() else None


def sweep(db: Database, directory: str, keep_days: int, now: datetime, *, batch: int = 500) -> int:
    """Remove the archived files older than `keep_days` (0: none); their rows say `removed`. The count removed."""
    if keep_days <= 0:
        return 0
    removed = 0
    while True:
        with db.transaction(write=False) as session:
            rows = session.execute(
                select(CallRecording.call_id, CallRecording.file_name).where(
                    CallRecording.state == "archived", CallRecording.archived_at < now - timedelta(days=keep_days))
                .order_by(CallRecording.archived_at).limit(batch)
            ).all()
        for call_id, name in rows:
            # The file first: a row left `archived` without its file falls back to Exotel; a file without a row would stay for ever.
            if name:
                (Path(directory) / name).unlink(missing_ok=True)
            with db.transaction() as session:
                session.execute(update(CallRecording).where(CallRecording.call_id == call_id,
                                                            CallRecording.state == "archived")
                                .values(state="removed", file_name=None, removed_at=now))
            removed += 1
        if len(rows) < batch:
            return removed
