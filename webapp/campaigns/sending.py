"""Sending one claimed campaign attempt to Exotel, with the client the caller hands in.

Runs in the worker, outside any request: callbacks go to the base the caller names
(PUBLIC_BASE_URL). The attempt is a committed `pending` call; once the client's permit
grants the request, the attempt passes the gate (campaigns.gate), so a campaign paused
or canceled, or a number suppressed, while the attempt waited for a slot places nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ..calls.placing import ask_exotel
from ..db import Database, utcnow
from ..exotel import BULK, ExotelClient, ExotelError, Priority
from ..models import Call
from .gate import mark_sending
from .models import Campaign


def send_campaign_attempt(
    db: Database, client: ExotelClient, call_id: str, *, secret_key: str, callback_base: str, timezone: ZoneInfo,
    now: Callable[[], datetime] = utcnow,
) -> ExotelError | None:
    """Ask Exotel for attempt `call_id` as bulk work; Exotel's refusal, or None (sent, or nothing to send)."""
    with db.transaction(write=False) as session:
        call = session.get(Call, call_id)
        campaign = session.get(Campaign, call.campaign_id) if call is not None and call.campaign_id else None
    if call is None or campaign is None:
        return None
    events = tuple(event for event in campaign.status_callback_events.split(",") if event)
    budget = client.permit

    def permit_while_running(priority: Priority) -> None:
        """A budget slot, then the attempt's gate: the slot may come after a wait (a spent budget, Exotel's
        Retry-After), and a campaign paused or canceled, or a number suppressed, meanwhile places nothing."""
        if budget is not None:
            budget(priority)
        mark_sending(db, call_id, now())

    _call, error = ask_exotel(
        db, client.with_permit(permit_while_running), call, secret_key=secret_key, callback_base=callback_base,
        timezone=timezone, events=events, priority=BULK,
    )
    return error
