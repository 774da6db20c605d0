"""The status rules: which status a call may move to. Pure, and mirrored in SQL."""

from __future__ import annotations

# Exotel's words plus three local ones (pending, rejected, unknown); see CONTRACT.md.
FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled", "rejected"})
KNOWN = FINAL | {"pending", "unknown", "queued", "ringing", "in-progress"}

# Progress order. A call only moves forward; every final status outranks every
# other, so nothing moves a call out of a final status.
RANK: dict[str, int] = {
    "pending": 0,
    "unknown": 1,
    "queued": 2,
    "ringing": 3,
    "in-progress": 4,
    **{status: 10 for status in FINAL},
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
