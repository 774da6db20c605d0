"""The outbox: events written in the transaction of their cause, fanned out to endpoints by the worker.

Calls and campaigns write their events through database triggers (migration
0012_webhooks), so every path that moves them (the callback's fast path
included) writes its event in its own transaction, once per transition. Other
producers (alerts) call `record_event` inside their transaction. The worker's
`fan_out` then fixes each event's body and `webhook-id` once (retries and
replays send the same bytes under the same id) and queues one message per
subscribed, enabled endpoint.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..calls.queries import call_to_dict, get_calls
from ..campaigns.queries import campaign_to_dict, get_campaign
from ..db import utcnow
from .models import EVENT_TYPES, WebhookEndpoint, WebhookEvent, WebhookMessage

FAN_OUT_BATCH = 500
FAN_OUT_TRICKLE = 10  # events a round fans out while no endpoint answers: messages for the probes
FAILING_DISABLES_AFTER = timedelta(days=3)


def insert_for(session: Session, table: Any) -> Any:
    """INSERT for the session's dialect, which can say ON CONFLICT DO NOTHING."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def record_event(session: Session, type: str, data: dict[str, Any], *, dedupe_key: str, now: datetime | None = None) -> bool:
    """Write one event in `session`'s transaction, once per `dedupe_key` (e.g. "alert.firing:<alert id>").

    Whether it was new. Nothing is written while no endpoint is registered.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    now = now or utcnow()
    if not session.scalar(select(exists().where(WebhookEndpoint.id.is_not(None)))):
        return False
    statement = insert_for(session, WebhookEvent).values(
        type=type, dedupe_key=dedupe_key, payload=_body(type, now, data), created_at=now,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(WebhookEvent.id)
    return session.execute(statement).scalar() is not None


def _body(type: str, at: datetime, data: dict[str, Any]) -> str:
    return json.dumps({"type": type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
                      separators=(",", ":"), sort_keys=True)


def _data(session: Session, events: Sequence[WebhookEvent]) -> dict[int, dict[str, Any]]:
    """Each trigger-made event's `data`: the call as GET /api/calls/<id> shows it (without events), or the campaign."""
    calls = {call.id: call for call in get_calls(session, [e.subject for e in events if e.type.startswith("call.") and e.subject])}
    data: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.type.startswith("call.") and event.subject in calls:
            data[event.id] = call_to_dict(calls[event.subject])
        elif event.type.startswith("campaign.") and event.subject and event.subject.isdigit():
            campaign = get_campaign(session, int(event.subject))
            if campaign is not None:
                data[event.id] = campaign_to_dict(session, campaign)
    return data


def fan_out(session: Session, now: datetime, *, limit: int = FAN_OUT_BATCH) -> int:
    """Fix the body and id of up to `limit` new events and queue them for their endpoints; how many."""
    query = select(WebhookEvent).where(WebhookEvent.fanned_out_at.is_(None)).order_by(WebhookEvent.id).limit(limit)
    events = session.scalars(query.with_for_update(skip_locked=True)).all()  # SQLite: BEGIN IMMEDIATE serializes
    if not events:
        return 0
    data = _data(session, [event for event in events if event.payload is None])
    endpoints = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))).all()
    rows = []
    for event in events:
        if event.payload is None:
            # A call or campaign deleted since: its last known shape is gone, so the body says only which.
            event.payload = _body(event.type, event.created_at, data.get(event.id, {"id": event.subject}))
        event.msg_id = event.msg_id or f"msg_{uuid.uuid4().hex}"
        event.fanned_out_at = now
        rows += [{"event_id": event.id, "endpoint_id": endpoint.id, "state": "pending", "attempts": 0, "step": 0,
                  "next_attempt_at": now, "created_at": now} for endpoint in endpoints if endpoint.wants(event.type)]
    session.flush()
    if rows:
        session.execute(insert_for(session, WebhookMessage).values(rows).on_conflict_do_nothing(
            index_elements=["event_id", "endpoint_id"]))
    return len(events)


def failing_endpoints(session: Session, now: datetime, *, failing_for: timedelta = timedelta(hours=6)) -> list[dict[str, Any]]:
    """Endpoints the `webhook_failing` rule reports: disabled for failing 3 days, or failing longer than `failing_for`."""
    rows = session.scalars(select(WebhookEndpoint).where(
        (WebhookEndpoint.disabled_reason == "failing")
        | (WebhookEndpoint.enabled.is_(True) & (WebhookEndpoint.failing_since <= now - failing_for))
    ).order_by(WebhookEndpoint.id)).all()
    return [{"id": row.id, "url": row.url, "failing_since": row.failing_since, "disabled": not row.enabled,
             "disabled_reason": row.disabled_reason} for row in rows]
