"""Rules over the calls and their callbacks: callbacks_missing, calls_unsettled, answer_rate_drop."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ...models import Call, CallEvent
from .base import Context, Finding

CALLBACK_TYPES = ("answered", "terminal", "status")  # what Exotel posts; `reconcile` rows are the product's own
NOT_FINAL = ("pending", "queued", "ringing", "in-progress", "unknown")
MAX_CALL_SECONDS = 14400  # Exotel's longest time_limit: an answered call may talk this long
LOOKBACK = timedelta(hours=1)
SHOWN = 20  # calls named in an alert


def callbacks_missing(session: Session, ctx: Context) -> Finding | None:
    """At least N calls Exotel accepted in the last hour, older than the grace period, with no callback, and no
    callback received since the latest of them: Exotel cannot reach PUBLIC_BASE_URL (or the callbacks are lost)."""
    settings = ctx.settings
    newest = ctx.now - timedelta(minutes=settings.callbacks_missing_grace_minutes)
    called_back = exists().where(CallEvent.call_id == Call.id, CallEvent.event_type.in_(CALLBACK_TYPES))
    rows = session.execute(
        select(Call.id, Call.created_at).where(Call.sid.is_not(None), Call.created_at >= ctx.now - LOOKBACK,
                                               Call.created_at <= newest, ~called_back)
        .order_by(Call.created_at.desc()).limit(500)
    ).all()
    if len(rows) < settings.callbacks_missing_calls:
        return None
    since_latest = session.scalar(select(func.count()).select_from(CallEvent).where(
        CallEvent.event_type.in_(CALLBACK_TYPES), CallEvent.received_at > rows[0].created_at))
    if since_latest:
        return None  # callbacks arrive again: the ones missing are from before the fix
    return Finding(
        f"{len(rows)} calls Exotel accepted in the last hour got no status callback after "
        f"{settings.callbacks_missing_grace_minutes:g} minutes: check that Exotel can reach PUBLIC_BASE_URL.",
        {"calls": len(rows), "public_base_url": settings.public_base_url},
        tuple(row.id for row in rows[:SHOWN]),
    )


def calls_unsettled(session: Session, ctx: Context) -> Finding | None:
    """Calls of the last week still without a final status an hour (or a whole call's length) after they began."""
    after = timedelta(minutes=ctx.settings.unsettled_after_minutes)
    rows = session.execute(
        select(Call.id, Call.status, Call.answered_at, Call.time_limit)
        .where(Call.status.in_(NOT_FINAL), Call.created_at < ctx.now - after, Call.created_at >= ctx.now - timedelta(days=7))
        .order_by(Call.created_at).limit(500)
    ).all()
    stuck = [row for row in rows if not (
        row.status == "in-progress" and row.answered_at is not None
        and row.answered_at + timedelta(seconds=row.time_limit or MAX_CALL_SECONDS) + after > ctx.now)]
    if not stuck:
        return None
    unknown = sum(1 for row in stuck if row.status == "unknown")
    return Finding(
        f"{len(stuck)} calls have no final status more than {ctx.settings.unsettled_after_minutes:g} minutes on "
        f"({unknown} unknown): reconciliation has not settled them.",
        {"calls": len(stuck), "unknown": unknown},
        tuple(row.id for row in stuck[:SHOWN]),
    )


def _rate(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    placed, answered = session.execute(
        select(func.count(), func.count(Call.answered_at))
        .where(Call.sid.is_not(None), Call.created_at >= start, Call.created_at < end)
    ).one()
    return int(placed), int(answered)


def answer_rate_drop(session: Session, ctx: Context) -> Finding | None:
    """The answer rate of the hour that ended 10 minutes ago (its calls have rung out) under the given share of the same
    hour's rate over the previous 7 days, both with at least the minimum volume of calls placed."""
    settings = ctx.settings
    end = ctx.now - timedelta(minutes=10)
    start = end - timedelta(hours=1)
    placed, answered = _rate(session, start, end)
    if placed < settings.answer_rate_min_calls:
        return None
    base_placed = base_answered = 0
    for days in range(1, 8):
        some_placed, some_answered = _rate(session, start - timedelta(days=days), end - timedelta(days=days))
        base_placed, base_answered = base_placed + some_placed, base_answered + some_answered
    if base_placed < settings.answer_rate_min_calls or base_answered == 0:
        return None
    rate, baseline = answered / placed, base_answered / base_placed
    if rate >= baseline * settings.answer_rate_drop_ratio:
        return None
    return Finding(
        f"Answer rate {rate:.0%} over the last hour ({answered} of {placed} calls), against {baseline:.0%} in the same "
        f"hours of the previous 7 days.",
        {"placed": placed, "answered": answered, "rate": round(rate, 4), "baseline": round(baseline, 4),
         "baseline_placed": base_placed},
    )
