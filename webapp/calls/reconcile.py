"""Reconciliation: ask Exotel about calls whose outcome we never heard, and settle them.

Calls with a Sid are asked about by Sid, 100 to a Call Details request. Calls
without one (Exotel's answer to the connect request was lost: `unknown`, or a
process died mid-request: `pending`) are looked up by their From number,
ExoPhone and creation time (calls.adoption). The open calls are read in pages,
so a run's memory does not grow with the backlog; a run stopped halfway (a
deadline, a spent budget, a killed worker) loses nothing, because the next run
reads what is still open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select, tuple_

from ..db import Database, utcnow
from ..exotel import BudgetSpent, ExotelClient, ExotelError
from ..exotel.client import BULK_LIMIT
from ..models import Call
from .adoption import NEVER_PLACED_AFTER, Adoption, adopt_call, event_from_call_info
from .events import Recorded, record_event
from .status import FINAL

log = logging.getLogger(__name__)

__all__ = ["ReconcileReport", "ask_by_sid", "event_from_call_info", "open_call", "reconcile"]

PAGE_SIZE = BULK_LIMIT  # open calls read per page: one Call Details request each


@dataclass
class ReconcileReport:
    """What one run asked and learned."""

    open_calls: int = 0
    asked: int = 0
    settled: list[str] = field(default_factory=list)  # call ids now final
    updated: int = 0  # new reconcile events stored
    not_listed: list[str] = field(default_factory=list)  # Exotel did not list them (still in progress?)
    without_sid: list[tuple[str, str]] = field(default_factory=list)  # (call id, status) still without a Sid
    adopted: list[str] = field(default_factory=list)  # sid-less calls that found their Exotel call
    never_placed: list[str] = field(default_factory=list)  # sid-less calls settled as never placed
    ambiguous: list[str] = field(default_factory=list)  # sid-less calls with several candidates
    error: str | None = None
    incomplete: bool = False  # stopped early (deadline or budget): the next run goes on


def _open_pages(db: Database, cutoff: datetime, *, with_sid: bool, page_size: int) -> Iterator[list[Any]]:
    """Open calls created before `cutoff`, oldest first, `page_size` at a time (keyset pages)."""
    columns = (Call.id, Call.sid, Call.status, Call.from_number, Call.caller_id, Call.created_at, Call.time_limit)
    query = select(*columns).where(Call.status.not_in(FINAL), Call.created_at <= cutoff)
    query = query.where(Call.sid.is_not(None) if with_sid else Call.sid.is_(None))
    after: tuple[datetime, str] | None = None
    while True:
        page_query = query
        if after is not None:
            page_query = page_query.where(tuple_(Call.created_at, Call.id) > tuple_(*after))
        with db.transaction(write=False) as session:
            rows = list(session.execute(page_query.order_by(Call.created_at, Call.id).limit(page_size)).all())
        if not rows:
            return
        yield rows
        after = (rows[-1].created_at, rows[-1].id)
        if len(rows) < page_size:
            return


def open_call(db: Database, call_id: str) -> Any:
    """One call's row as reconciliation reads it, or None when it is final or missing."""
    columns = (Call.id, Call.sid, Call.status, Call.from_number, Call.caller_id, Call.created_at, Call.time_limit)
    with db.transaction(write=False) as session:
        return session.execute(select(*columns).where(Call.id == call_id, Call.status.not_in(FINAL))).first()


def ask_by_sid(db: Database, client: ExotelClient, rows: list[Row[Any]], tz: ZoneInfo, report: ReconcileReport) -> None:
    """Ask Exotel about `rows` (id, sid) in bulk and record each answer as a `reconcile` event (also early checks')."""
    by_sid: dict[str, str] = {row.sid: row.id for row in rows}
    report.asked += len(by_sid)
    infos = client.get_calls(by_sid)
    listed = set()
    for info in infos:
        call_id = by_sid.get(info.sid)
        if call_id is None:
            continue
        listed.add(info.sid)
        if record_event(db, call_id, event_from_call_info(info, tz)) is Recorded.STORED:
            report.updated += 1
        if info.status in FINAL:
            report.settled.append(call_id)
    report.not_listed += [by_sid[sid] for sid in by_sid if sid not in listed]


def reconcile(
    db: Database,
    client: ExotelClient,
    *,
    older_than_minutes: float,
    tz: ZoneInfo,
    now: datetime | None = None,
    deadline: float | None = None,
    page_size: int = PAGE_SIZE,
    never_placed_after: timedelta = NEVER_PLACED_AFTER,
) -> ReconcileReport:
    """Settle calls created more than `older_than_minutes` ago that are not final yet.

    `deadline` (time.monotonic()) stops the run between requests; `now` is the
    clock that decides the age of calls; a call without a Sid that Exotel does
    not list `never_placed_after` its creation was never placed (calls.adoption).
    """
    report = ReconcileReport()
    now = now or utcnow()
    cutoff = now - timedelta(minutes=older_than_minutes)

    def out_of_time() -> bool:
        if deadline is not None and time.monotonic() >= deadline:
            report.incomplete = True
            return True
        return False

    try:
        for rows in _open_pages(db, cutoff, with_sid=True, page_size=page_size):
            report.open_calls += len(rows)
            ask_by_sid(db, client, rows, tz, report)
            if out_of_time():
                return report
        for rows in _open_pages(db, cutoff, with_sid=False, page_size=page_size):
            report.open_calls += len(rows)
            for row in rows:
                if out_of_time():
                    return report
                outcome = adopt_call(db, client, row, tz, now=now, never_placed_after=never_placed_after)
                if outcome is Adoption.ADOPTED:
                    report.adopted.append(row.id)
                    report.settled.append(row.id)
                    report.updated += 1
                elif outcome is Adoption.NEVER_PLACED:
                    report.never_placed.append(row.id)
                    report.settled.append(row.id)
                else:
                    report.without_sid.append((row.id, row.status))
                    if outcome is Adoption.AMBIGUOUS:
                        report.ambiguous.append(row.id)
    except BudgetSpent as exc:
        report.incomplete = True
        log.info("reconcile: %s; the rest waits for the next run", exc.message)
    except ExotelError as exc:
        report.error = f"Exotel's Call Details API failed: {exc.message}"
        log.warning("reconcile: %s", report.error)
    return report
