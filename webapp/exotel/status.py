"""Exotel's call status words: what its API and callbacks may report about a call."""

from __future__ import annotations

# Final on Exotel's side: the call is over.
ENDED = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
# Still going: Exotel's Call Details show these for a call not yet over.
UNDER_WAY = frozenset({"queued", "ringing", "in-progress"})
EXOTEL_STATUSES = ENDED | UNDER_WAY
