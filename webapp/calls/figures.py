"""Figures about calls that only the database knows, for /metrics: each one count, each one indexed range.

Every instance of the app reads the same tables, so every instance reports the
same figures; the alerting rules take their max() across instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ..models import Call, CallEvent
from .status import FINAL, KNOWN

# Statuses a call leaves when its final word arrives, named (not "not final") so the
# (status, created_at) index answers the count.
OPEN = tuple(sorted(KNOWN - FINAL))
# A call counted as unsettled: no final status this long after it was created.
UNSETTLED_AFTER = timedelta(hours=1)
# A call Exotel accepted this long ago and no callback yet: answered calls have had their
# answered callback by then, unanswered ones their terminal callback (Exotel rings for about a minute).
CALLBACK_GRACE = timedelta(minutes=3)
# The calls looked at for missing callbacks and for the answer rate: the last hour's.
RECENT = timedelta(hours=1)


@dataclass(frozen=True)
class CallFigures:
    unsettled: int
    without_callback: int
    placed_last_hour: int
    answered_last_hour: int


def call_figures(session: Session, now: datetime) -> CallFigures:
    """The counts behind the alerting rules, as of `now`."""
    unsettled = session.scalar(
        select(func.count()).select_from(Call).where(Call.status.in_(OPEN), Call.created_at < now - UNSETTLED_AFTER)
    )
    recent = (Call.created_at >= now - RECENT, Call.sid.is_not(None))
    # Reconciliation's own findings are not callbacks: a call it settled still never heard from Exotel.
    callback = exists().where(CallEvent.call_id == Call.id, CallEvent.event_type != "reconcile")
    without_callback = session.scalar(
        select(func.count()).select_from(Call).where(*recent, Call.placed_at <= now - CALLBACK_GRACE, ~callback)
    )
    placed, answered = session.execute(
        select(func.count(), func.count(Call.answered_at)).select_from(Call).where(*recent)
    ).one()
    return CallFigures(unsettled=unsettled or 0, without_callback=without_callback or 0,
                       placed_last_hour=placed or 0, answered_last_hour=answered or 0)
