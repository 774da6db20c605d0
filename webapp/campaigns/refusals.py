"""What Exotel's refusal of a campaign attempt means for its campaign, and the attempt a stopped campaign keeps."""

from __future__ import annotations

from ..exotel import ExotelError, NotSent

DND_WORDS = ("dnd", "ndnc", "do not disturb")


class CampaignStopped(NotSent):
    """The attempt's campaign was paused or canceled while its send waited (a budget slot, Exotel's Retry-After)."""


class NumberSuppressed(NotSent):
    """The attempt's number was suppressed after its claim, before it was sent: it is never sent."""


def is_dnd_refusal(error: ExotelError) -> bool:
    """Exotel's refusal to call a number registered on India's Do Not Disturb list (403, naming DND/NDNC)."""
    return getattr(error, "http_status", None) == 403 and any(word in error.message.lower() for word in DND_WORDS)


def stops_campaign(error: ExotelError) -> bool:
    """A refusal that says the account cannot call at all now (out of balance: 402; not allowed: 401)."""
    return getattr(error, "http_status", None) in (401, 402)
