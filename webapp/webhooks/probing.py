"""Probing an endpoint that is failing, or new: one due message at a time, at most once per probe interval.

While an endpoint fails, sending its backlog would only multiply failures, so
each claim sends it a single due message, its probe; the first 2xx sends the
rest at once (delivery._endpoints). An endpoint that has never answered 2xx is
probed the same way, its first probe at once: a mistyped URL, or a receiver not
yet deployed, costs one failed attempt rather than a batch. A probe goes only
when none is in flight for the endpoint and its last attempt is older than the
probe interval, which grows with the outage: every PROBE_MIN seconds at first,
one-twentieth of the outage's length later on, at most every PROBE_MAX seconds.
A receiver back after 2 minutes is therefore found within seconds, one back
after a weekend within a minute, and a long outage costs an attempt a minute,
not several a second.

Events are not fanned out to a failing endpoint that already has a message due
to probe with (outbound.py): during an outage the workers write nearly nothing,
so the callbacks that keep arriving have the database to themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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


def _enabled(session: Session, *, failing: bool, lock: bool = False) -> list[tuple[int, datetime | None]]:
    """(id, failing_since) of the enabled endpoints to probe (failing now, or never answered), or of the others."""
    E = WebhookEndpoint
    probed = or_(E.failing_since.is_not(None), E.last_success_at.is_(None))
    query = select(E.id, E.failing_since).where(E.enabled.is_(True), probed if failing else ~probed)
    if lock:
        # PostgreSQL: a second worker claiming at the same moment skips the endpoint, so one probe goes, not two.
        # FOR NO KEY UPDATE: new messages for the endpoint still insert meanwhile.
        query = query.with_for_update(skip_locked=True, key_share=True)
    return [(endpoint_id, since) for endpoint_id, since in session.execute(query.order_by(E.id))]


def endpoint_ids(session: Session, *, failing: bool) -> list[int]:
    """Enabled endpoints to probe (failing now, or never answered), or those that answer."""
    return [endpoint_id for endpoint_id, _since in _enabled(session, failing=failing)]


def due_messages(endpoint_id: int, now: datetime) -> Any:
    """One endpoint's messages due now and not held, earliest first (ix_webhook_messages_endpoint_pending)."""
    M = WebhookMessage
    return select(M.id).where(M.endpoint_id == endpoint_id, PENDING, M.next_attempt_at <= now,
                              or_(M.leased_until.is_(None), M.leased_until <= now)).order_by(M.next_attempt_at)


def has_due(session: Session, endpoint_id: int, now: datetime) -> bool:
    return session.scalar(due_messages(endpoint_id, now).limit(1)) is not None


def next_probes(session: Session, now: datetime, *, scale: float = 1.0, lock: bool = False) -> dict[int, datetime]:
    """When each endpoint being probed can next be: its first pending message is due and the last try old enough.

    Endpoints with a probe in flight, or with nothing pending, are left out."""
    M = WebhookMessage
    times = {}
    for endpoint_id, failing_since in _enabled(session, failing=True, lock=lock):
        if session.scalar(select(exists().where(M.endpoint_id == endpoint_id, M.lease.is_not(None), M.leased_until > now))):
            continue  # a probe is in flight (ix_webhook_messages_leased)
        first = session.scalar(select(func.min(M.next_attempt_at)).where(M.endpoint_id == endpoint_id, PENDING))
        if first is None:
            continue
        last = session.scalar(select(func.max(WebhookDelivery.at)).where(WebhookDelivery.endpoint_id == endpoint_id))
        ready = _aware(first, now)
        if last is not None:
            ready = max(ready, _aware(last, now) + probe_interval(now - _aware(failing_since, now), scale=scale))
        times[endpoint_id] = ready
    return times


def probes_due(session: Session, now: datetime, *, scale: float = 1.0, lock: bool = False) -> list[int]:
    """The endpoints to probe now: a due message waits, none is in flight, the last try is old enough."""
    return [endpoint_id for endpoint_id, ready in next_probes(session, now, scale=scale, lock=lock).items() if ready <= now]


def starved(session: Session, now: datetime) -> bool:
    """Whether an endpoint being probed has no message due to probe with (new events must be fanned out to it).

    Due, not merely pending: a message already tried waits out its own backoff (5 s, 30 s, 2 min ...), and
    an outage's next probe must not wait for it while newer events sit in the outbox."""
    return any(not has_due(session, endpoint_id, now) for endpoint_id in endpoint_ids(session, failing=True))


def _aware(value: datetime | None, now: datetime) -> datetime:
    """SQLite hands back naive UTC times; compare them with `now` as aware ones."""
    if value is None:
        return now
    return value if value.tzinfo is not None else value.replace(tzinfo=now.tzinfo)
