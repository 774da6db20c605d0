"""Rules over the background work: worker_down (the web app evaluates it) and reconcile_stale."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...signals import EVALUATED, RECONCILE_FINISHED, AlertSignal
from .base import Context, Finding


def worker_down(session: Session, ctx: Context) -> Finding | None:
    """No worker heartbeat for WORKER_DOWN_AFTER_SECONDS (none at all since this web process began watching)."""
    assert ctx.worker_last_seen is not None, "worker_down is evaluated by the web app, which reads the heartbeats"
    after = timedelta(seconds=ctx.settings.worker_down_after_seconds)
    last = ctx.worker_last_seen()
    reference = last or ctx.watching_since or ctx.now
    if ctx.now - reference < after:
        return None
    since = f"since {last:%Y-%m-%d %H:%M} UTC" if last else "since this web server started"
    return Finding(
        f"No background worker has been seen {since}: campaigns, reconciliation and alert rules are stopped.",
        {"last_seen": last.isoformat() if last else None},
    )


def reconcile_stale(session: Session, ctx: Context) -> Finding | None:
    """No reconciliation finished for three of its intervals and 5 minutes more, while the worker evaluating the
    rules has been running at least as long (RECONCILE_EVERY_MINUTES=0 turns reconciliation, and this rule, off)."""
    every = ctx.settings.reconcile_every_minutes
    if every <= 0:
        return None
    limit = timedelta(minutes=3 * every + 5)
    last = session.scalar(select(func.max(AlertSignal.at)).where(AlertSignal.kind == RECONCILE_FINISHED))
    if last is not None and ctx.now - last < limit:
        return None
    running_since = session.scalar(select(func.min(AlertSignal.at)).where(AlertSignal.kind == EVALUATED))
    if running_since is None or ctx.now - running_since < limit:
        return None  # the workers have not been up long enough to have reconciled
    since = f"since {last:%Y-%m-%d %H:%M} UTC" if last else "since the workers started"
    return Finding(
        f"Reconciliation has not finished a run {since} (it should every {every} minutes): calls without a "
        f"callback are not being settled.",
        {"last_finished": last.isoformat() if last else None, "every_minutes": every},
    )
