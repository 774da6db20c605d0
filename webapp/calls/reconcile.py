"""Reconciliation: ask Exotel's Call Details API about calls whose outcome we never heard."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..db import Database, utcnow
from ..exotel import CallInfo, ExotelClient, ExotelError
from ..exotel.callbacks import CallbackEvent, parse_callback
from ..models import Call
from .events import Recorded, record_event
from .status import FINAL

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    """What one run asked and learned."""

    open_calls: int = 0
    asked: int = 0
    settled: list[str] = field(default_factory=list)  # call ids now final
    updated: int = 0  # new reconcile events stored
    not_listed: list[str] = field(default_factory=list)  # Exotel did not list them (still in progress?)
    without_sid: list[tuple[str, str]] = field(default_factory=list)  # (call id, status)
    error: str | None = None


def event_from_call_info(info: CallInfo, tz: ZoneInfo) -> CallbackEvent:
    """A Call Details answer read as one event of type `reconcile`."""
    fields = {
        "CallSid": info.sid,
        "Status": info.status,
        "DateUpdated": info.date_updated,
        "EndTime": info.end_time,
        "ConversationDuration": info.conversation_duration,
        "RecordingUrl": info.recording_url,
        "AnsweredBy": info.answered_by,
    }
    event = parse_callback({k: v for k, v in fields.items() if v is not None}, tz)
    return dataclasses.replace(event, event_type="reconcile", payload=info.raw)


def reconcile(db: Database, client: ExotelClient, *, older_than_minutes: float, tz: ZoneInfo) -> ReconcileReport:
    """Settle calls created more than `older_than_minutes` ago that are not final yet."""
    report = ReconcileReport()
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(Call.id, Call.sid, Call.status)
            .where(Call.status.not_in(FINAL), Call.created_at <= cutoff)
            .order_by(Call.created_at)
        ).all()
    report.open_calls = len(rows)
    report.without_sid = [(row.id, row.status) for row in rows if not row.sid]
    by_sid = {row.sid: row.id for row in rows if row.sid}
    report.asked = len(by_sid)
    if not by_sid:
        return report
    try:
        infos = client.get_calls(by_sid)
    except ExotelError as exc:
        report.error = f"Exotel's Call Details API failed: {exc.message}"
        log.warning("reconcile: %s", report.error)
        return report
    listed = set()
    for info in infos:
        call_id = by_sid.get(info.sid)
        if call_id is None:
            continue
        listed.add(info.sid)
        outcome = record_event(db, call_id, event_from_call_info(info, tz))
        if outcome is Recorded.STORED:
            report.updated += 1
        if info.status in FINAL:
            report.settled.append(call_id)
    report.not_listed = [by_sid[sid] for sid in by_sid if sid not in listed]
    return report
