"""Early checks: ask Exotel about calls past their expected end, instead of waiting for the 15-minute sweep.

A call that should have ended (calls.overdue) but has no final status is asked
about CHECK_AFTER[0] after that moment and once more CHECK_AFTER[1] after it,
never more: the periodic reconciliation goes on after that. The asks go in
bulk, 100 Sids to a Call Details request, drawn from the shared budget at the
reconciliation's (bulk) priority, and what Exotel says is recorded exactly as
reconciliation records it (one `reconcile` event per distinct answer; a final
status never moves).

Any number of workers run this every minute: each claims its calls first
(`checked_at` moved to now, only where it is empty or older than CLAIM_GAP),
so two workers never ask about one call in the same minute.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, tuple_, update

from ..db import Database
from ..exotel import BudgetSpent, ExotelClient, ExotelError, NotSent
from ..exotel.client import BULK_LIMIT
from ..models import Call
from .overdue import GRACE, overdue_since
from .reconcile import ReconcileReport, ask_by_sid
from .status import FINAL, KNOWN

log = logging.getLogger(__name__)

# After the call's overdue moment: the first ask, then the second (and last).
CHECK_AFTER = (timedelta(minutes=2), timedelta(minutes=5))
MAX_CHECKS = len(CHECK_AFTER)
# A claim holds a call this long: the task runs every minute, so one minute sees one ask per call.
CLAIM_GAP = timedelta(seconds=50)
PAGE_SIZE = 500  # open calls read per page


def check_due(call: Any, now: datetime) -> bool:
    """Whether the worker should ask Exotel about `call` now: its next early check's time has come."""
    since = overdue_since(call)
    checks = call.checks or 0
    if since is None or checks >= MAX_CHECKS:
        return False
    if now < since + CHECK_AFTER[checks]:
        return False
    if call.checked_at is None:
        return True
    # Spaced as the schedule spaces them, even when the first ask came late (a worker was down).
    spacing = CHECK_AFTER[checks] - CHECK_AFTER[checks - 1] if checks else CLAIM_GAP
    return bool(now - call.checked_at >= spacing)


def _open_pages(db: Database, now: datetime) -> Iterator[list[Any]]:
    """Open calls with a Sid placed long enough ago to be due, with fewer than MAX_CHECKS asks (keyset pages)."""
    columns = (Call.id, Call.sid, Call.status, Call.placed_at, Call.answered_at, Call.time_out, Call.time_limit,
               Call.checks, Call.checked_at)
    # No call is due before placed_at + GRACE + the first check: the database leaves the rest out. The open
    # statuses named (not "not final"): the status index then finds them among millions of ended calls.
    query = select(*columns).where(
        Call.status.in_(sorted(KNOWN - FINAL)), Call.sid.is_not(None), Call.placed_at <= now - GRACE - CHECK_AFTER[0],
        func.coalesce(Call.checks, 0) < MAX_CHECKS,
    )
    after: tuple[datetime, str] | None = None
    while True:
        page_query = query if after is None else query.where(tuple_(Call.placed_at, Call.id) > tuple_(*after))
        with db.transaction(write=False) as session:
            rows = list(session.execute(page_query.order_by(Call.placed_at, Call.id).limit(PAGE_SIZE)).all())
        if not rows:
            return
        yield rows
        after = (rows[-1].placed_at, rows[-1].id)
        if len(rows) < PAGE_SIZE:
            return


def claim(db: Database, call_ids: list[str], now: datetime, gap: timedelta = CLAIM_GAP) -> list[Any]:
    """Mark `call_ids` asked at `now` where nobody asked within `gap`; the (id, sid) rows this caller now holds."""
    if not call_ids:
        return []
    statement = (
        update(Call)
        .where(Call.id.in_(call_ids), Call.status.not_in(FINAL), Call.sid.is_not(None),
               func.coalesce(Call.checks, 0) < MAX_CHECKS,
               or_(Call.checked_at.is_(None), Call.checked_at <= now - gap))
        # The call itself did not change: its updated_at (the report cache's cue) stays.
        .values(checked_at=now, updated_at=Call.updated_at)
        .returning(Call.id, Call.sid)
        .execution_options(synchronize_session=False)
    )
    with db.transaction() as session:
        return list(session.execute(statement).all())


def _count_asked(db: Database, call_ids: list[str]) -> None:
    with db.transaction() as session:
        session.execute(
            update(Call).where(Call.id.in_(call_ids))
            .values(checks=func.coalesce(Call.checks, 0) + 1, updated_at=Call.updated_at)
            .execution_options(synchronize_session=False)
        )


def run_early_checks(db: Database, client: ExotelClient, *, tz: ZoneInfo, now: datetime) -> ReconcileReport:
    """Ask Exotel, in bulk, about every call whose early check is due at `now`; what was asked and learned."""
    report = ReconcileReport()
    due: list[str] = []
    for rows in _open_pages(db, now):
        report.open_calls += len(rows)
        due += [row.id for row in rows if check_due(row, now)]
    try:
        for start in range(0, len(due), BULK_LIMIT):
            held = claim(db, due[start : start + BULK_LIMIT], now)
            if not held:
                continue
            try:
                ask_by_sid(db, client, held, tz, report)
            except NotSent:
                raise  # nothing left: the calls are asked about on a later run, and the ask is not counted
            except ExotelError:
                _count_asked(db, [row.id for row in held])  # the request reached Exotel: it counts
                raise
            _count_asked(db, [row.id for row in held])
    except BudgetSpent as exc:
        report.incomplete = True
        log.info("early checks: %s; the rest waits for the next run", exc.message)
    except ExotelError as exc:
        report.error = f"Exotel's Call Details API failed: {exc.message}"
        log.warning("early checks: %s", report.error)
    return report
