"""Ask Exotel now: a person asks Exotel about one call that is not final, with one request, audited.

The ask first claims the call (`checked_at` moved to now, only where nobody
asked within ASK_GAP, worker or person): a double click or a script looping on
the button sends Exotel one request per call per ASK_GAP, and the rest are
refused before anything leaves. A call with a Sid is read with Call Details
(one call, at a person's priority); one without (Exotel's answer to the connect
request was lost) is looked for as reconciliation's adoption looks for it. What
Exotel says is recorded as reconciliation records it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from ..accounts import audit
from ..accounts.audit import Actor
from ..db import Database
from ..exotel import INTERACTIVE, ExotelClient
from ..models import Call
from .adoption import Adoption, adopt_call, event_from_call_info
from .events import record_event
from .reconcile import open_call
from .status import FINAL

ASK_GAP = timedelta(seconds=30)


class Asked(enum.Enum):
    FINAL = "final"  # Exotel gave the call's final status: it is now recorded
    OPEN = "open"  # Exotel knows the call and says it has not ended
    NOT_LISTED = "not_listed"  # a call without a Sid that Exotel does not list (yet)
    NEVER_PLACED = "never_placed"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class AskAnswer:
    """What one ask learned: its kind and the status Exotel gave, if any."""

    kind: Asked
    status: str | None = None


class AskRefused(Exception):
    """The ask was not sent: the call is final or gone, or Exotel was asked about it moments ago."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def _claim(db: Database, call_id: str, actor: Actor, now: datetime, gap: timedelta) -> bool:
    """Take the call's ask for `now` and audit it in one transaction; False when it is final, gone or asked lately."""
    statement = (
        update(Call)
        .where(Call.id == call_id, Call.status.not_in(FINAL), or_(Call.checked_at.is_(None), Call.checked_at <= now - gap))
        .values(checked_at=now, updated_at=Call.updated_at)  # the call itself did not change
        .returning(Call.sid)
        .execution_options(synchronize_session=False)
    )
    with db.transaction() as session:
        row = session.execute(statement).first()
        if row is None:
            return False
        audit.record(session, actor, "call.check", call_id, {"sid": row.sid} if row.sid else None, at=now)
    return True


def _refusal(db: Database, call_id: str, now: datetime, gap: timedelta) -> AskRefused:
    with db.transaction(write=False) as session:
        row = session.execute(select(Call.status, Call.checked_at).where(Call.id == call_id)).first()
    if row is None:
        return AskRefused("No call with that id.", status=404)
    if row.status in FINAL:
        return AskRefused("This call already has its final status: there is nothing to ask Exotel.", status=409)
    wait = max(1, round((row.checked_at + gap - now).total_seconds())) if row.checked_at else 1
    return AskRefused(f"Exotel was asked about this call moments ago. Ask again in {wait} seconds.",
                      status=429, retry_after=wait)


def ask_exotel(db: Database, client: ExotelClient, call_id: str, actor: Actor, *, tz: ZoneInfo, now: datetime,
               never_placed_after: timedelta, gap: timedelta = ASK_GAP) -> AskAnswer:
    """Ask Exotel about one call now and record the answer; AskRefused when nothing was sent.

    Exotel's own failures come out as ExotelError (BudgetSpent when the budget is spent: then nothing left).
    """
    if not _claim(db, call_id, actor, now, gap):
        raise _refusal(db, call_id, now, gap)
    row: Any = open_call(db, call_id)
    if row is None:  # settled between the claim and now (a callback): nothing to ask
        return AskAnswer(Asked.FINAL, _status(db, call_id))
    if row.sid is None:
        outcome = adopt_call(db, client, row, tz, now=now, never_placed_after=never_placed_after, priority=INTERACTIVE)
        kinds = {Adoption.ADOPTED: Asked.OPEN, Adoption.WAITING: Asked.NOT_LISTED,
                 Adoption.NEVER_PLACED: Asked.NEVER_PLACED, Adoption.AMBIGUOUS: Asked.AMBIGUOUS}
        status = _status(db, call_id)
        kind = Asked.FINAL if outcome is Adoption.ADOPTED and status in FINAL else kinds[outcome]
        return AskAnswer(kind, status)
    info = client.get_call(row.sid)
    record_event(db, call_id, event_from_call_info(info, tz))
    return AskAnswer(Asked.FINAL if info.status in FINAL else Asked.OPEN, info.status)


def _status(db: Database, call_id: str) -> str | None:
    with db.transaction(write=False) as session:
        return session.scalar(select(Call.status).where(Call.id == call_id))
