"""The status rules: which status a call may move to. Pure, and mirrored in SQL."""

from __future__ import annotations

from ..exotel.status import ENDED, EXOTEL_STATUSES

# Exotel's words plus three local ones (pending, rejected, unknown); see CONTRACT.md.
# `rejected` (Exotel refused the request: never placed) is final like Exotel's ended words.
FINAL = ENDED | {"rejected"}
KNOWN = EXOTEL_STATUSES | {"pending", "rejected", "unknown"}

# Progress order. A call only moves forward; every final status outranks every
# other, so nothing moves a call out of a final status.
RANK: dict[str, int] = {
    "pending": 0,
    "unknown": 1,
    "queued": 2,
    "ringing": 3,
    "in-progress": 4,
    **dict.fromkeys(FINAL, 10),
}


def is_final(status: str) -> bool:
    """Whether no later event may change this status."""
    return status in FINAL


def next_status(current: str, proposed: str | None) -> str:
    """The status after an event proposing `proposed` reaches a call in `current`."""
    if proposed not in RANK or current in FINAL:
        return current
    if RANK[proposed] > RANK.get(current, 0):
        return proposed
    return current
