"""Rules over what this app's Exotel traffic recorded (webapp.signals): exotel_refusing, budget_saturated."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...campaigns.refusals import DND_WORDS
from ...signals import BUDGET_REFUSED, BUDGET_WAIT, EXOTEL_OK, EXOTEL_REFUSED, AlertSignal
from .base import Context, Finding

SATURATION_WINDOW = timedelta(minutes=5)


def exotel_refusing(session: Session, ctx: Context) -> Finding | None:
    """Exotel refused the account (401, 402, or a 403 that is not a number's DND listing) in the last day and has
    accepted nothing since: bad credentials, no balance, or the account's limits."""
    rows = session.scalars(
        select(AlertSignal).where(AlertSignal.kind == EXOTEL_REFUSED, AlertSignal.at >= ctx.now - timedelta(days=1))
        .order_by(AlertSignal.at.desc()).limit(200)
    ).all()
    refusals = [row for row in rows if not any(word in (row.detail or "").lower() for word in DND_WORDS)]
    if not refusals:
        return None
    last = refusals[0]
    accepted_since = session.scalar(select(func.count()).select_from(AlertSignal).where(
        AlertSignal.kind == EXOTEL_OK, AlertSignal.at > last.at))
    if accepted_since:
        return None
    status, _, message = (last.detail or "").partition(" ")
    meaning = {"401": "the API key or token is wrong", "402": "the balance or plan does not allow calls",
               "403": "the account is not allowed to make this call"}.get(status, "the account was refused")
    return Finding(
        f"Exotel refuses this account's requests ({status}: {meaning}){': ' + message if message else ''}.",
        {"status": status, "message": message, "refusals": len(refusals), "last_at": last.at.isoformat()},
    )


def budget_saturated(session: Session, ctx: Context) -> Finding | None:
    """Requests waited for, or were refused, a slot of EXOTEL_REQUESTS_PER_MINUTE in most of the last 5 minutes."""
    minutes = session.scalars(
        select(AlertSignal.key).where(AlertSignal.kind.in_((BUDGET_WAIT, BUDGET_REFUSED)),
                                      AlertSignal.at >= ctx.now - SATURATION_WINDOW).distinct()
    ).all()
    refused = session.scalar(select(func.count()).select_from(AlertSignal).where(
        AlertSignal.kind == BUDGET_REFUSED, AlertSignal.at >= ctx.now - SATURATION_WINDOW))
    if len(minutes) < ctx.settings.budget_saturated_minutes:
        return None
    return Finding(
        f"Requests waited for the Exotel budget ({ctx.settings.exotel_requests_per_minute} a minute) in "
        f"{len(minutes)} of the last 5 minutes{f', and were refused in {refused}' if refused else ''}.",
        {"minutes": len(minutes), "refused_minutes": refused, "limit": ctx.settings.exotel_requests_per_minute},
    )
