"""One evaluation of the rules: claimed by one process per minute (the worker's) or per interval (the web's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from .. import signals
from ..config import Settings
from ..db import Database
from ..observability.metrics import ALERTS_FIRING
from .models import FIRING, Alert
from .rules import RULES, Context
from .state import Change, evaluate


def refresh_gauges(db: Database) -> None:
    """alerts_firing{rule}: 1 for each rule firing now, 0 for the others."""
    with db.transaction(write=False) as session:
        firing = set(session.scalars(select(Alert.rule).where(Alert.state == FIRING)).all())
    for rule in RULES:
        ALERTS_FIRING.labels(rule.name).set(1 if rule.name in firing else 0)


def evaluation_key(now: datetime, seconds: float) -> str:
    """The claim's key for the evaluation interval holding `now`: the minute itself at the default 60 s (the key
    the claims have always had, so workers of the previous release meet the same claim), else the interval's
    number since the epoch (a shorter ALERT_EVALUATE_SECONDS)."""
    return signals.minute_key(now) if seconds == 60 else signals.bucket_key(now, seconds)


def run_rules(db: Database, settings: Settings, now: datetime) -> list[Change] | None:
    """The worker's rules, once per ALERT_EVALUATE_SECONDS (a minute) across every worker; None when another worker
    has this interval."""
    if not signals.claim(db, signals.EVALUATED, evaluation_key(now, settings.alert_evaluate_seconds), now):
        return None
    changes = evaluate(db, tuple(rule for rule in RULES if not rule.by_web), Context(settings, now))
    with db.transaction() as session:
        signals.prune(session, now)
    refresh_gauges(db)
    return changes


def watch_workers(db: Database, settings: Settings, now: datetime, *, last_seen: Callable[[], datetime | None],
                  watching_since: datetime) -> list[Change] | None:
    """The web app's rules (worker_down), once per ALERT_WATCH_SECONDS across every web process; None when another has it."""
    interval = settings.alert_watch_seconds or 60.0  # 0: no thread watches, but a test may still call this
    if not signals.claim(db, signals.WATCHED, signals.bucket_key(now, interval), now):
        refresh_gauges(db)
        return None
    changes = evaluate(db, tuple(rule for rule in RULES if rule.by_web),
                       Context(settings, now, worker_last_seen=last_seen, watching_since=watching_since))
    refresh_gauges(db)
    return changes


def record_reconcile(db: Database, now: datetime) -> None:
    """A reconciliation run finished (reconcile_stale reads these)."""
    signals.record(db, signals.RECONCILE_FINISHED, signals.minute_key(now), now)
