"""The simulator's own per-minute request limit: a sliding 60-second window, as Exotel enforces."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateWindow:
    """Counts requests in the last minute and refuses those over ``limit`` (None = no limit)."""

    def __init__(self, limit: int | None = None, clock: Callable[[], float] = time.time) -> None:
        """Create an empty window; ``clock`` returns epoch seconds."""
        self._lock = threading.Lock()
        self._times: deque[float] = deque()
        self._clock = clock
        self.limit = limit

    def set_limit(self, limit: int | None) -> None:
        """Change the limit and start a fresh window."""
        with self._lock:
            self.limit = limit or None
            self._times.clear()

    def clear(self) -> None:
        """Forget the requests counted so far."""
        with self._lock:
            self._times.clear()

    def check(self) -> tuple[bool, dict[str, str]]:
        """Count one request if it fits; return (allowed, X-RateLimit-* and, when refused, Retry-After)."""
        with self._lock:
            limit = self.limit
            if not limit:
                return True, {}
            now = self._clock()
            while self._times and self._times[0] <= now - WINDOW_SECONDS:
                self._times.popleft()
            allowed = len(self._times) < limit
            if allowed:
                self._times.append(now)
            reset = self._times[0] + WINDOW_SECONDS if self._times else now + WINDOW_SECONDS
            headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(limit - len(self._times)),
                "X-RateLimit-Reset": str(math.ceil(reset)),
            }
            if not allowed:
                # The oldest request leaves the window then: one more fits.
                headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
            return allowed, headers
