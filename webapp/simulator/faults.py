"""Failures injected into the next connect requests: a queue of :class:`Fault`."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from .options import number

FAULT_MODES = ("status", "timeout", "garbage", "reset", "ratelimit")
# Whether a fault's request is placed anyway when the caller does not say:
# a 200 (garbage) or a slow 200 (timeout) means Exotel accepted the call.
_DEFAULT_PLACE = {"status": False, "timeout": True, "garbage": True, "reset": False, "ratelimit": False}
#: Exotel's documented voice API limit, reported by ``ratelimit`` faults when no limit is set.
EXOTEL_RATE_LIMIT = 200


@dataclass
class Fault:
    """A failure injected into the next connect request(s)."""

    mode: str
    times: int = 1
    status: int = 500
    place: bool = False
    delay: float = 3.0
    retry_after: int = 1

    def as_dict(self) -> dict[str, Any]:
        """Return the fault as JSON-friendly data."""
        return dict(self.__dict__)

    def rate_limit_headers(self, limit: int | None) -> dict[str, str]:
        """Return the 429 headers of a ``ratelimit`` fault, reporting ``limit`` (or Exotel's)."""
        return {
            "Retry-After": str(self.retry_after),
            "X-RateLimit-Limit": str(limit or EXOTEL_RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(time.time() + self.retry_after)),
        }


def make_fault(mode: str, *, times: int = 1, status: int = 500, place: bool | None = None,
               delay: float = 3.0, retry_after: int = 1) -> Fault:
    """Validate a fault's fields (ValueError names the bad one) and return it."""
    if mode not in FAULT_MODES:
        raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError("times must be a positive integer")
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("status must be an HTTP error status (400-599)")
    if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
        raise ValueError("retry_after must be a non-negative integer")
    delay = number(delay, "delay", minimum=0.0)
    if place is None:
        place = _DEFAULT_PLACE[mode]
    return Fault(mode=mode, times=times, status=status, place=bool(place) and mode != "ratelimit",
                 delay=delay, retry_after=retry_after)


class FaultQueue:
    """Faults consumed in order, one use per connect request."""

    def __init__(self) -> None:
        """Create an empty queue."""
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()

    def add(self, fault: Fault) -> Fault:
        """Queue ``fault`` behind the others."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self) -> Fault | None:
        """Consume one use of the oldest queued fault, if any."""
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.popleft()
            return fault

    def pending(self) -> list[Fault]:
        """Return the queued faults (a copy)."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._faults.clear()
