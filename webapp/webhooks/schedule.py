"""The retry schedule: when a failed delivery is tried again. Pure.

Attempt 1 goes at once; after each failure the next waits the step's delay
below, plus 0-20 % jitter (never less, so the total holds), so that receivers
recovering from an outage are not hit by every sender in the same second. The
delays sum to 3 days 3 h 42 min: a receiver down over a long weekend still
gets every event. A 429 or 503 with Retry-After waits what it asks instead
(at most a day).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MINUTE, HOUR = 60, 3600
# Seconds to wait after failed attempt n (n = 1 is the first attempt).
DELAYS: tuple[int, ...] = (
    5, 30, 2 * MINUTE, 10 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR,
    12 * HOUR, 12 * HOUR, 12 * HOUR, 12 * HOUR, 12 * HOUR,
)
ATTEMPTS = len(DELAYS) + 1  # then the message is failed
JITTER = 0.2
MAX_RETRY_AFTER = 24 * HOUR


def next_delay(step: int, *, scale: float = 1.0, rng: random.Random | None = None) -> float | None:
    """Seconds before the attempt after failed attempt `step` (1-based), or None when none is left."""
    if step < 1 or step > len(DELAYS):
        return None
    return DELAYS[step - 1] * scale * (1 + (rng or random).uniform(0, JITTER))


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked by a Retry-After header (delta-seconds or an HTTP date), within 0..MAX_RETRY_AFTER; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), float(MAX_RETRY_AFTER))


def total_span(scale: float = 1.0) -> timedelta:
    """The shortest time from the first attempt to the last (no jitter)."""
    return timedelta(seconds=sum(DELAYS) * scale)
