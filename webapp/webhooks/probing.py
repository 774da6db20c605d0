"""Probing an endpoint that is failing: one due message at a time, at most once per probe interval.

While an endpoint fails, sending its backlog would only multiply failures, so
each claim sends it a single due message, its probe; the first 2xx sends the
rest at once (delivery._endpoints). A probe goes only when none is in flight
for the endpoint and its last attempt is older than the probe interval, which
grows with the outage: every PROBE_MIN seconds at first, one-twentieth of the
outage's length later on, at most every PROBE_MAX seconds. A receiver back after
2 minutes is therefore found within seconds, one back after a weekend within a
minute, and a long outage costs an attempt a minute, not several a second.

Events are not fanned out to a failing endpoint that already has a message to
probe with (outbound.py): during an outage the workers write nearly nothing,
so the callbacks that keep arriving have the database to themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from .models import PENDING, WebhookDelivery, WebhookEndpoint, WebhookMessage

PROBE_MIN = 2.0  # seconds
PROBE_MAX = 60.0
PROBE_SHARE = 1 / 20  # of the outage's length so far


def probe_interval(failing_for: timedelta, *, scale: float = 1.0) -> timedelta:
    """The least time between two attempts at an endpoint that has been failing for `failing_for`."""
    seconds = min(PROBE_MAX, max(PROBE_MIN, failing_for.total_seconds() * PROBE_SHARE))
    return timedelta(seconds=seconds * scale)


def _failing(session: Session, *, lock: bool) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True), WebhookEndpoint.failing_since.is_not(None))
    if lock:
        # PostgreSQL: a second worker claiming at the same moment skips the endpoint, so one probe goes, not two.
        query = query.with_for_update(skip_locked=True, key_share=True)  # FOR NO KEY UPDATE: new messages still insert
    return list(session.scalars(query.order_by(WebhookEndpoint.id)))


def probes_due(session: Session, now: datetime, *, scale: float = 1.0, lock: bool = False) -> list[int]:
    """The failing endpoints to probe now: a due message waits, none is in flight, the last try is old enough."""
    due = []
    for endpoint in _failing(session, lock=lock):
        M = WebhookMessage
        mine = (M.endpoint_id == endpoint.id, PENDING)
        if session.scalar(select(exists().where(*mine, M.leased_until > now))):
            continue  # a probe is in flight
        if not session.scalar(select(exists().where(*mine, M.next_attempt_at <= now,
                                                     or_(M.leased_until.is_(None), M.leased_until <= now)))):
            continue
        last = session.scalar(select(func.max(WebhookDelivery.at)).where(WebhookDelivery.endpoint_id == endpoint.id))
        failing_since = _aware(endpoint.failing_since, now)
        if last is None or now - _aware(last, now) >= probe_interval(now - failing_since, scale=scale):
            due.append(endpoint.id)
    return due


def starved(session: Session) -> bool:
    """Whether a failing endpoint has no message left to probe with (new events must be fanned out to it)."""
    return bool(session.scalar(select(exists().where(
        WebhookEndpoint.enabled.is_(True), WebhookEndpoint.failing_since.is_not(None),
        ~exists().where(WebhookMessage.endpoint_id == WebhookEndpoint.id, PENDING)))))


def _aware(value: datetime | None, now: datetime) -> datetime:
    """SQLite hands back naive UTC times; compare them with `now` as aware ones."""
    if value is None:
        return now
    return value if value.tzinfo is not None else value.replace(tzinfo=now.tzinfo)
