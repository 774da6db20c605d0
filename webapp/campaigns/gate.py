"""The gate a campaign attempt passes just before its request leaves for Exotel.

Checking first and sending after is a race: a pause or a suppression committed between the check and the
send would still be dialled. So the check is the condition of the one statement that marks the attempt as
being sent (an UPDATE of its `calls` row): what was committed before that statement started is seen, on
PostgreSQL as on SQLite, and what commits after it was answered after the attempt left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, update
from sqlalchemy.engine import CursorResult

from ..db import Database
from ..models import Call
from .models import Campaign
from .refusals import CampaignStopped, NumberSuppressed
from .suppressions import find, is_suppressed

STOPPED = "Not placed: the campaign stopped before this attempt was dialled."
SUPPRESSED = "Not placed: the number was suppressed before this attempt was dialled."


def mark_sending(db: Database, call_id: str, now: datetime) -> None:
    """Mark a claimed attempt as leaving now, in one statement that also requires it still pending, its campaign
    running and its number not suppressed; otherwise raise NumberSuppressed or CampaignStopped (nothing is sent)."""
    running = exists().where(Campaign.id == Call.campaign_id, Campaign.status == "running")
    with db.transaction() as session:
        result = session.execute(
            update(Call)
            .where(Call.id == call_id, Call.status == "pending", running, ~is_suppressed(Call.from_number))
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        if result.rowcount == 1:
            return
        # Refused: now only the reason is looked up.
        call = session.get(Call, call_id)
        if call is not None and find(session, call.from_number) is not None:
            raise NumberSuppressed(SUPPRESSED, code="suppressed")
    raise CampaignStopped(STOPPED)
