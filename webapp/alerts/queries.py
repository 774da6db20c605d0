"""Alerts as the API and the pages show them, and an admin's acknowledgement (audited)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..accounts.audit import Actor, record
from ..db import Database
from ..models import Call
from .models import FIRING, RESOLVED, Alert

STATES = ("firing", "resolved", "all")


class AlertNotFound(LookupError):
    """No alert has that id."""


def as_json(alert: Alert) -> dict[str, Any]:
    """The contract's shape of one alert."""
    return {
        "id": alert.id, "rule": alert.rule, "state": alert.state, "severity": alert.severity, "summary": alert.summary,
        "started_at": alert.started_at.isoformat(), "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        "acknowledged_by": alert.acknowledged_by,
    }


def list_alerts(session: Session, state: str = "all", limit: int = 200) -> list[Alert]:
    """Newest first; `state` one of STATES."""
    query = select(Alert).order_by(Alert.started_at.desc(), Alert.id.desc()).limit(limit)
    if state in (FIRING, RESOLVED):
        query = query.where(Alert.state == state)
    return list(session.scalars(query).all())


def firing(session: Session) -> list[Alert]:
    return list_alerts(session, FIRING, 50)


def get_alert(session: Session, alert_id: int) -> tuple[Alert, dict[str, Any], list[Call]]:
    """The alert, its detail, and the calls behind it (those the rule named that still exist)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(alert_id)
    detail = json.loads(alert.detail or "{}")
    ids = [str(call_id) for call_id in detail.pop("call_ids", None) or []]
    calls = list(session.scalars(select(Call).where(Call.id.in_(ids)).order_by(Call.created_at.desc())).all()) if ids else []
    return alert, detail, calls


def acknowledge(db: Database, alert_id: int, actor: Actor, now: datetime) -> Alert:
    """Mark the alert seen by `actor` (kept if acknowledged already), audited `alert.acknowledge`."""
    with db.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise AlertNotFound(alert_id)
        if alert.acknowledged_by is None:
            alert.acknowledged_by, alert.acknowledged_at = actor.name, now
            record(session, actor, "alert.acknowledge", f"alert:{alert.id}", {"rule": alert.rule, "state": alert.state},
                   at=now)
        session.flush()
        session.expunge(alert)
    return alert
