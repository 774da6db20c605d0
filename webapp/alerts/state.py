"""Fire, hold, resolve: each alert fires once, holds while its condition holds, and resolves once after a hold time.

Every fire goes through `fire` and every resolve through `resolve`, each inside
the transaction that writes the row, with its outbound webhook event
(`alert.firing`, `alert.resolved`): both commit, or neither. At most one alert per rule fires at
a time: a unique index on (rule) where state = 'firing', so two evaluations
racing each other insert one row; the loser's insert fails and it holds instead.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Database
from ..webhooks import record_event
from .models import FIRING, RESOLVED, Alert
from .queries import as_json
from .rules import Context, Finding, Rule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """What an evaluation did to one rule's alert."""

    rule: str
    action: str  # "fired", "resolved"
    alert_id: int


def _detail(finding: Finding) -> str:
    return json.dumps({**finding.detail, "call_ids": list(finding.call_ids)}, default=str)


def fire(session: Session, rule: Rule, finding: Finding, now: datetime) -> Alert | None:
    """Add the rule's firing alert, or None when a concurrent evaluation fired it first."""
    alert = Alert(rule=rule.name, state=FIRING, severity=rule.severity, summary=finding.summary, detail=_detail(finding),
                  started_at=now, last_held_at=now, notify_attempts=0)
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None
    record_event(session, "alert.firing", as_json(alert), dedupe_key=f"alert.firing:{alert.id}", now=now)
    log.warning("alert %s firing: %s", rule.name, finding.summary, extra={"event": "alert_firing", "rule": rule.name})
    return alert


def resolve(session: Session, alert: Alert, now: datetime) -> None:
    """The alert's condition has been clear for the hold time: it resolves (and its second notification is due)."""
    alert.state, alert.resolved_at, alert.clear_since = RESOLVED, now, None
    alert.next_notify_at, alert.notify_attempts, alert.notify_error = None, 0, None
    record_event(session, "alert.resolved", as_json(alert), dedupe_key=f"alert.resolved:{alert.id}", now=now)
    log.warning("alert %s resolved", alert.rule, extra={"event": "alert_resolved", "rule": alert.rule})


def apply(session: Session, rule: Rule, finding: Finding | None, now: datetime, hold: timedelta) -> Change | None:
    """One evaluation's result for `rule`, in `session`'s transaction."""
    current = session.scalars(
        select(Alert).where(Alert.rule == rule.name, Alert.state == FIRING).with_for_update()
    ).first()
    if finding is not None:
        if current is None:
            fired = fire(session, rule, finding, now)
            return Change(rule.name, "fired", fired.id) if fired is not None else None
        current.last_held_at, current.clear_since = now, None
        current.summary, current.detail = finding.summary, _detail(finding)
        return None
    if current is None:
        return None
    if current.clear_since is None:
        current.clear_since = now
    if now - current.clear_since >= hold:
        resolve(session, current, now)
        return Change(rule.name, "resolved", current.id)
    return None


def evaluate(db: Database, rules: tuple[Rule, ...], ctx: Context) -> list[Change]:
    """Check each rule and apply its result, one transaction per rule (one rule's failure leaves the others)."""
    hold = timedelta(minutes=ctx.settings.alert_hold_minutes)
    changes = []
    for rule in rules:
        try:
            with db.transaction() as session:
                change = apply(session, rule, rule.check(session, ctx), ctx.now, hold)
        except Exception:
            log.exception("alert rule %s failed", rule.name, extra={"event": "alert_rule_failed", "rule": rule.name})
            continue
        if change is not None:
            changes.append(change)
    return changes
