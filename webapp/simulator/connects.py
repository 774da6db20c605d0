"""The simulator's log of connect requests: when each arrived, for which number, and what it was answered.

Tests and benchmarks read it to see what reached "Exotel" and when (a pace, a
pause that must stop new requests), which the calls alone cannot tell: a
refused request places no call.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class ConnectLog:
    """Every valid, authenticated connect request, oldest first, with its arrival time (Unix seconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def received(self, from_number: str) -> dict[str, Any]:
        """Record a request on arrival; the call it placed and its answer are filled in later."""
        entry: dict[str, Any] = {"at": time.time(), "from": from_number, "status": None, "sid": None}
        with self._lock:
            self._entries.append(entry)
        return entry

    @staticmethod
    def placed(entry: dict[str, Any], sid: str) -> None:
        """Record the Sid of the call the request placed (before its answer, which a fault may delay or lose)."""
        entry["sid"] = sid

    @staticmethod
    def answered(entry: dict[str, Any], status: int) -> None:
        """Record the HTTP status the request was answered with."""
        entry["status"] = status

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the log."""
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
