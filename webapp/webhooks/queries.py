"""Reading endpoints, their recent deliveries, and the delivery figures (metrics, the UI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ..db import Database
from .models import PENDING, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookMessage
from .probing import endpoint_ids, has_due, next_probes, starved

RECENT = 50


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def endpoint_to_dict(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the API shows it: never its secret."""
    return {
        "id": endpoint.id, "url": endpoint.url, "events": endpoint.events.split(","), "description": endpoint.description,
        "enabled": endpoint.enabled, "disabled_reason": endpoint.disabled_reason, "failing_since": _iso(endpoint.failing_since),
        "last_success_at": _iso(endpoint.last_success_at), "created_at": _iso(endpoint.created_at),
        "secret_rotating_until": _iso(endpoint.previous_secret_until),
    }


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all())


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint | None:
    return session.get(WebhookEndpoint, endpoint_id)


def recent_deliveries(session: Session, endpoint_id: int, *, limit: int = RECENT) -> list[dict[str, Any]]:
    """The endpoint's latest attempts, newest first: event, attempt, status, time, response snippet (as text)."""
    rows = session.execute(
        select(WebhookDelivery, WebhookEvent.type, WebhookEvent.msg_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.at.desc(), WebhookDelivery.id.desc()).limit(limit)
    ).all()
    return [{"event_id": d.event_id, "type": type_, "webhook_id": msg_id, "attempt": d.attempt, "at": _iso(d.at),
             "status_code": d.status_code, "error": d.error, "duration_ms": d.duration_ms, "response": d.response}
            for d, type_, msg_id in rows]


@dataclass(frozen=True)
class Backlog:
    pending: int  # messages not yet delivered nor given up
    oldest_seconds: float  # age of the oldest of them (0 when none)
    failing: int  # endpoints failing now, or disabled for it


def backlog(session: Session, now: datetime) -> Backlog:
    pending, oldest = session.execute(
        select(func.count(), func.min(WebhookMessage.created_at)).where(PENDING)).one()
    unsent, first = session.execute(
        select(func.count(), func.min(WebhookEvent.created_at)).where(WebhookEvent.fanned_out_at.is_(None))).one()
    earliest: datetime | None = min((t for t in (oldest, first) if t is not None), default=None)
    failing = session.scalar(select(func.count()).select_from(WebhookEndpoint).where(
        (WebhookEndpoint.disabled_reason == "failing") | (WebhookEndpoint.enabled.is_(True) & WebhookEndpoint.failing_since.is_not(None))))
    if earliest is not None and earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    return Backlog(pending + unsent, max(0.0, (now - earliest).total_seconds()) if earliest else 0.0, failing or 0)


@dataclass(frozen=True)
class Waiting:
    fan_out: bool  # events to fan out now: some endpoint answers, or one being probed has nothing to probe with
    due: bool  # messages due now for an enabled endpoint that answers, or a probe due (probing.py)
    healthy: bool = True  # some enabled endpoint answers (neither failing now nor never answered)
    next_probe: datetime | None = None  # when the next probe can go (None: no endpoint has one waiting)


def waiting(db: Database, now: datetime, *, scale: float = 1.0) -> Waiting:
    """Whether the worker has anything to do, read without taking a write lock; a few index lookups per endpoint."""
    with db.transaction(write=False) as session:
        unfanned = session.scalar(select(exists().where(WebhookEvent.fanned_out_at.is_(None))))
        healthy = endpoint_ids(session, failing=False)
        probes = next_probes(session, now, scale=scale)
        due = any(has_due(session, endpoint_id, now) for endpoint_id in healthy) or any(at <= now for at in probes.values())
        fan_out = unfanned and (bool(healthy) or starved(session, now))
    return Waiting(bool(fan_out), due, bool(healthy), min(probes.values(), default=None))
