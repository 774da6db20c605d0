"""Periodic work done once per interval across all workers, whatever their number and their clocks.

Huey's scheduler runs in every worker started with periodic tasks, each on its
own minute: with two workers, every periodic task is enqueued twice per
interval, and a lock only stops the two runs overlapping. So a periodic task
first claims its interval: one key per task in the queue's own storage, set
only if absent, expiring after the interval less a margin (so that the next
interval's run, enqueued a little earlier or later in its minute, finds it
free). The expiry is counted by the storage: Redis's clock, PostgreSQL's
(`clock_timestamp()` in queue.ExpiringPostgresStorage), or the one host of a
SQLite file; so two hosts whose clocks disagree still make one claim per
interval, and a killed worker's claim ends with its interval.

Why the queue's storage rather than a table of the app's: it is where the
workers already meet (the same atomic put-if-absent makes Huey's task locks),
on all three queue kinds, with no migration and no cleanup job (one key per
task name, reused).
"""

from __future__ import annotations

import math
from typing import Any

MARGIN_SHARE = 0.1  # of the interval, left free before the next one
MARGIN_MAX = 30.0  # seconds


def claim_ttl(seconds: float) -> int:
    """How long a claim for an interval of `seconds` lasts (whole seconds: Redis's EX takes an integer)."""
    return max(1, math.floor(seconds - min(seconds * MARGIN_SHARE, MARGIN_MAX)))


def claim_interval(huey: Any, name: str, seconds: float) -> bool:
    """Claim the run of `name` for the current interval of `seconds`: True for the one caller across all
    workers that should run it now, False while an earlier claim of the interval holds."""
    return bool(huey.put_if_empty(f"{huey.name}.interval.{name}", "1", ttl=claim_ttl(seconds)))
