"""Recordings archived by the worker (RECORDINGS_DIR): fetched once their call has ended, removed once too old.

Downloads do not draw from the Exotel request budget: the budget stands for
Exotel's limit on its voice API (200 requests a minute per account), and a
recording is a file served from Exotel's recordings storage, not an API call;
the route that relays one for a person does not draw from it either. The
archive bounds itself instead: one run fetches at most RECORDING_ARCHIVE_BATCH
recordings, one at a time, each under the fetcher's size and time limits.
"""

from __future__ import annotations

import logging

from flask import Flask

from ..calls.archive import archive_call, claim, due_calls, sweep
from ..config import get_settings
from ..db import get_db
from ..exotel_access.recordings import recording_fetcher

log = logging.getLogger(__name__)


def run_archive(app: Flask) -> dict[str, int]:
    """One archiving run: each due call claimed, then fetched; how many ended in each state."""
    settings = get_settings(app)
    counts: dict[str, int] = {}
    if not settings.recordings_dir:
        return counts
    with app.app_context():
        db = get_db()
        for call_id in due_calls(db, settings.now(), settings.recording_archive_batch):
            if not claim(db, call_id, settings.now()):
                continue  # another worker has it
            state = archive_call(db, recording_fetcher(app), settings.recordings_dir, call_id, get_settings(app).now())
            counts[state] = counts.get(state, 0) + 1
    if counts:
        log.info("recordings archiving run: %s", counts, extra={"event": "recordings_archived", **counts})
    return counts


def run_sweep(app: Flask) -> int:
    """Remove archived recordings older than RECORDINGS_KEEP_DAYS; how many were removed."""
    settings = get_settings(app)
    if not settings.recordings_dir or settings.recordings_keep_days <= 0:
        return 0
    with app.app_context():
        removed = sweep(get_db(), settings.recordings_dir, settings.recordings_keep_days, settings.now())
    if removed:
        log.info("recordings removed: %d", removed, extra={"event": "recordings_swept", "removed": removed})
    return removed
