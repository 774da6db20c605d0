"""The app's fetcher of call recordings: its Exotel account's credentials, the limits of the settings."""

from __future__ import annotations

import threading

from flask import Flask

from ..config import get_settings
from ..exotel.recordings import RecordingFetcher
from .client import exotel_client

_lock = threading.Lock()


def recording_fetcher(app: Flask) -> RecordingFetcher:
    """The app's fetcher of recordings, made once."""
    with _lock:
        fetcher: RecordingFetcher | None = app.extensions.get("exotel_recordings")
        if fetcher is None:
            settings = get_settings(app)
            fetcher = app.extensions["exotel_recordings"] = exotel_client(app).recordings(
                max_bytes=settings.recording_max_bytes, max_seconds=settings.recording_max_seconds,
                read_timeout=settings.recording_read_timeout,
            )
    return fetcher
