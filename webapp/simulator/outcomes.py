"""Predictable call outcomes of the built-in Exotel simulator.

The outcome of a simulated call depends only on the LAST DIGITS of the dialled
``From`` number (digits only; ``+``, spaces and dashes are ignored):

=========== ============= =====================================================
Last digit  Outcome       What happens
=========== ============= =====================================================
``1``       ``busy``      rings, ends busy after 1.5 s; never answered
``2``       ``no-answer`` rings for ``TimeOut`` (default 30 s, simulated ring
                          capped at 6 s), ends ``no-answer``
``3``       ``failed``    ends ``failed`` after 1 s; never answered
``9``       ``refused``   the connect request itself is refused with HTTP 403
                          (trial account, unverified number): nothing is
                          placed, no callbacks are sent
``8888``    ``refused``   refused with HTTP 403 naming India's DND (NDNC)
                          registry, as Exotel refuses do-not-disturb numbers
``7777``    ``refused``   refused with HTTP 402: the account is out of
                          balance (a campaign pauses on it)
other       ``completed`` rings 2 s, is answered, talks for
                          :func:`conversation_seconds` (3-8 s), ends
                          ``completed`` with a recording
=========== ============= =====================================================

The talk time of a ``completed`` call is ``3 + (second-to-last digit % 6)``
seconds (3 s when the number has a single digit), capped by ``TimeLimit``.
All times are simulated seconds; the simulator multiplies them by its
``speed`` factor (``speed=0.02`` runs 50 times faster than real time).
"""

from __future__ import annotations

import re

COMPLETED = "completed"
BUSY = "busy"
NO_ANSWER = "no-answer"
FAILED = "failed"
REFUSED = "refused"

#: Final statuses a placed call can reach (``refused`` calls are never placed).
FINAL_STATUSES = frozenset({COMPLETED, BUSY, NO_ANSWER, FAILED})

_BY_LAST_DIGIT = {"1": BUSY, "2": NO_ANSWER, "3": FAILED, "9": REFUSED}
# Refusals by the number's ending: (HTTP status, Exotel's message). Checked longest first.
REFUSALS = {
    "8888": (403, "Call to a number registered on the DND (NDNC) registry is not allowed for this call type."),
    "7777": (402, "Insufficient balance: recharge your Exotel account to place calls."),
    "9": (403, "Call to unverified number is not allowed on a trial account. Verify the number in your Exotel dashboard."),
}

# Simulated seconds from placing the call to each milestone.
RING_SECONDS = 2.0  # a completed call is answered after ringing this long
BUSY_SECONDS = 1.5
FAILED_SECONDS = 1.0
DEFAULT_TIMEOUT_SECONDS = 30
MAX_SIMULATED_RING_SECONDS = 6.0  # keeps no-answer demos short


def _digits(number: str) -> str:
    """Return only the decimal digits of ``number``."""
    return re.sub(r"\D", "", number or "")


def outcome_for_number(from_number: str) -> str:
    """Return the simulated outcome for a call to ``from_number`` (see table)."""
    digits = _digits(from_number)
    if not digits:
        return COMPLETED
    if refusal_for_number(from_number) is not None:
        return REFUSED
    return _BY_LAST_DIGIT.get(digits[-1], COMPLETED)


def refusal_for_number(from_number: str) -> tuple[int, str] | None:
    """The (HTTP status, message) Exotel refuses a call to ``from_number`` with, or None (see table)."""
    digits = _digits(from_number)
    for ending in sorted(REFUSALS, key=len, reverse=True):
        if digits.endswith(ending):
            return REFUSALS[ending]
    return None


def conversation_seconds(from_number: str) -> int:
    """Return the talk time (3-8 s) of an answered call to ``from_number``."""
    digits = _digits(from_number)
    if len(digits) < 2:
        return 3
    return 3 + int(digits[-2]) % 6


def no_answer_seconds(timeout: int | None) -> float:
    """Return how long an unanswered call rings before it ends ``no-answer``."""
    ring = DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout
    return float(min(ring, MAX_SIMULATED_RING_SECONDS))
