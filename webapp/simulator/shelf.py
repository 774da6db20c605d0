"""What the simulator's recordings do beyond playing: a size of their own, late availability, deletion.

Exotel answers 404 for a recording it has not made available yet (minutes after
the call) and again once it no longer keeps it; a long call's file runs to tens
of megabytes. The shelf lets a test or a benchmark ask for each of those.
"""

from __future__ import annotations

import threading
from typing import Any


class RecordingShelf:
    """Per-recording state, shared by the simulator's threads: the size served, fetches refused, recordings dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.size_bytes: int | None = None  # None: the short tone
        self.unavailable_for = 0  # each recording answers 404 to this many fetches before it is ready
        self._refused: dict[str, int] = {}
        self._deleted: set[str] = set()

    def configure(self, options: Any) -> None:
        """Apply `{"size_bytes": N|null, "unavailable_for": N}`; ValueError names a bad value."""
        if not isinstance(options, dict) or set(options) - {"size_bytes", "unavailable_for"}:
            raise ValueError("expected an object with size_bytes and/or unavailable_for")
        size = options.get("size_bytes", self.size_bytes)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 64 <= size <= 1 << 30):
            raise ValueError("size_bytes must be a whole number of bytes from 64 to 1 GiB, or null")
        later = options.get("unavailable_for", self.unavailable_for)
        if isinstance(later, bool) or not isinstance(later, int) or not 0 <= later <= 1000:
            raise ValueError("unavailable_for must be a whole number from 0 to 1000")
        with self._lock:
            self.size_bytes, self.unavailable_for = size, later

    def delete(self, sid: str) -> None:
        """Stop serving `sid`'s recording, as Exotel does once its keeping time is over."""
        with self._lock:
            self._deleted.add(sid)

    def available(self, sid: str) -> bool:
        """Whether `sid`'s recording is served now; each call counts one fetch towards its availability."""
        with self._lock:
            if sid in self._deleted:
                return False
            refused = self._refused.get(sid, 0)
            if refused < self.unavailable_for:
                self._refused[sid] = refused + 1
                return False
            return True

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"size_bytes": self.size_bytes, "unavailable_for": self.unavailable_for, "deleted": sorted(self._deleted)}

    def clear(self) -> None:
        with self._lock:
            self.size_bytes, self.unavailable_for = None, 0
            self._refused.clear()
            self._deleted.clear()
