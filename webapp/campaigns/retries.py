"""The retry policy: which outcomes are tried again, how many times, and after how long."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..calls.checks import integral

RETRYABLE = ("busy", "no-answer", "failed")
MAX_RETRIES = 5
BACKOFFS = ("linear", "exponential")
DEFAULT_DELAY_MINUTES = 30
MAX_DELAY_MINUTES = 7 * 24 * 60


class RetryError(ValueError):
    """A retry policy that cannot be used as given."""

    def __init__(self, message: str, field: str = "retries"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `count` more attempts after an outcome in `on`, `delay_minutes` apart (growing by `backoff`)."""

    count: int = 0
    on: frozenset[str] = frozenset(RETRYABLE)
    delay_minutes: int = DEFAULT_DELAY_MINUTES
    backoff: str = "linear"

    def delay(self, retry: int) -> timedelta:
        """The wait before retry number `retry` (1 for the first retry).

        Linear waits `delay_minutes` times the retry's number (30, 60, 90 min);
        exponential doubles it each time (30, 60, 120 min).
        """
        factor = retry if self.backoff == "linear" else 2 ** (retry - 1)
        return timedelta(minutes=self.delay_minutes * factor)

    def next_attempt_at(self, outcome: str, attempts: int, ended_at: datetime) -> datetime | None:
        """When to try again after attempt number `attempts` ended with `outcome`; None when it is not retried."""
        if outcome not in self.on or attempts > self.count:
            return None
        return ended_at + self.delay(attempts)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "on": sorted(self.on), "delay_minutes": self.delay_minutes, "backoff": self.backoff}


def parse_retries(data: Mapping[str, Any] | None) -> RetryPolicy:
    """A policy from its JSON form; no retries when None."""
    if data is None:
        return RetryPolicy()
    if not isinstance(data, Mapping):
        raise RetryError("retries must be an object with count, on, delay_minutes and backoff.")
    unknown = set(data) - {"count", "on", "delay_minutes", "backoff"}
    if unknown:
        raise RetryError(f"Unknown retries field {sorted(unknown)[0]!r}.")
    count = integral(data.get("count", 0))
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_RETRIES:
        raise RetryError(f"retries.count must be a whole number from 0 to {MAX_RETRIES}.", "retries.count")
    on = data.get("on", list(RETRYABLE))
    if not isinstance(on, list | tuple) or any(not isinstance(item, str) or item not in RETRYABLE for item in on):
        raise RetryError(f"retries.on must be a list of {', '.join(RETRYABLE)}.", "retries.on")
    delay = integral(data.get("delay_minutes", DEFAULT_DELAY_MINUTES))
    if not isinstance(delay, int) or isinstance(delay, bool) or not 1 <= delay <= MAX_DELAY_MINUTES:
        raise RetryError(f"retries.delay_minutes must be a whole number from 1 to {MAX_DELAY_MINUTES}.", "retries.delay_minutes")
    backoff = data.get("backoff", "linear")
    if backoff not in BACKOFFS:
        raise RetryError("retries.backoff must be linear or exponential.", "retries.backoff")
    return RetryPolicy(count=count, on=frozenset(on), delay_minutes=delay, backoff=backoff)
