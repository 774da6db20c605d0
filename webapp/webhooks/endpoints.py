"""Endpoints: register, change, rotate the secret, delete, replay; each audited, the secret shown once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from ..accounts.audit import Actor, record
from ..db import Database
from ..models import AuditEntry
from .addresses import EndpointRefused, check_url
from .models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookMessage
from .outbox import insert_for
from .secrets import new_secret, seal

ROTATION_OVERLAP = timedelta(hours=24)  # the old secret signs too for this long after a rotation
MAX_ENDPOINTS = 50
MAX_DESCRIPTION = 500
REPLAY_MAX_EVENTS = 10_000
REPLAYS_PER_MINUTE = 5  # per endpoint


class WebhookError(Exception):
    """A request about endpoints that cannot be done; `code` as the API says it, `field` when one is at fault."""

    def __init__(self, message: str, code: str = "invalid_field", field: str | None = None):
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


@dataclass(frozen=True)
class EndpointInput:
    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None


def parse_input(body: Any, *, partial: bool, allow_private: bool) -> EndpointInput:
    """The fields of a create (`partial` False: url and events required) or a change, checked; WebhookError if not."""
    if not isinstance(body, dict):
        raise WebhookError("The body must be a JSON object.", "invalid_json")
    url = events = description = enabled = None
    if "url" in body or not partial:
        try:
            url = check_url(body.get("url"), allow_private=allow_private)
        except EndpointRefused as exc:
            raise WebhookError(str(exc), "invalid_url", "url") from None
    if "events" in body or not partial:
        given = body.get("events")
        if not isinstance(given, list) or not given or not all(isinstance(e, str) and e in EVENT_TYPES for e in given):
            raise WebhookError(f"Give events: a non-empty list of {', '.join(EVENT_TYPES)}.", field="events")
        events = tuple(sorted(set(given), key=EVENT_TYPES.index))
    if body.get("description") is not None:
        if not isinstance(body["description"], str) or len(body["description"]) > MAX_DESCRIPTION:
            raise WebhookError(f"description: text of at most {MAX_DESCRIPTION} characters.", field="description")
        description = body["description"].strip()
    if "enabled" in body:
        if not isinstance(body["enabled"], bool) or not partial:
            raise WebhookError("enabled: true or false (a new endpoint is enabled).", field="enabled")
        enabled = body["enabled"]
    return EndpointInput(url, events, description, enabled)


def receiver(url: str) -> str:
    """What the audit log keeps of an endpoint's URL: scheme, host and port. Receivers often put their token
    in the path or the query (a CRM's "catch hook" URL), and the audit log outlives the endpoint."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def create(db: Database, given: EndpointInput, *, secret_key: str, actor: Actor, now: datetime) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned this once; stored only encrypted)."""
    secret = new_secret()
    with db.transaction() as session:
        if (session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0) >= MAX_ENDPOINTS:
            raise WebhookError(f"At most {MAX_ENDPOINTS} endpoints; delete one first.", "too_many")
        endpoint = WebhookEndpoint(url=given.url, events=",".join(given.events or ()), description=given.description,
                                   enabled=True, secret=seal(secret_key, secret), created_by=actor.name,
                                   created_at=now, updated_at=now)
        session.add(endpoint)
        session.flush()
        record(session, actor, "webhook.create", f"webhook:{endpoint.id}",
               {"receiver": receiver(endpoint.url), "events": list(given.events or ())}, at=now)
    return endpoint, secret


def update_endpoint(db: Database, endpoint_id: int, given: EndpointInput, *, actor: Actor, now: datetime) -> WebhookEndpoint:
    with db.transaction() as session:
        endpoint = _get(session, endpoint_id)
        changed: dict[str, Any] = {}
        if given.url is not None:
            endpoint.url = given.url
            changed["receiver"] = receiver(given.url)
        if given.events is not None:
            endpoint.events = ",".join(given.events)
            changed["events"] = list(given.events)
        if given.description is not None:
            endpoint.description = changed["description"] = given.description
        if given.enabled is not None:
            endpoint.enabled = changed["enabled"] = given.enabled
            if given.enabled:  # a fresh start: the 3 days of failures count again from the next failure
                endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
            else:
                endpoint.disabled_at = now
        endpoint.updated_at = now
        record(session, actor, "webhook.update", f"webhook:{endpoint.id}", changed, at=now)
    return endpoint


def rotate(db: Database, endpoint_id: int, *, secret_key: str, actor: Actor, now: datetime) -> tuple[WebhookEndpoint, str]:
    """A new secret; the current one keeps signing beside it for ROTATION_OVERLAP."""
    secret = new_secret()
    with db.transaction() as session:
        endpoint = _get(session, endpoint_id)
        endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + ROTATION_OVERLAP
        endpoint.secret, endpoint.updated_at = seal(secret_key, secret), now
        record(session, actor, "webhook.rotate", f"webhook:{endpoint.id}", {"old_secret_until": (now + ROTATION_OVERLAP).isoformat()}, at=now)
    return endpoint, secret


def remove(db: Database, endpoint_id: int, *, actor: Actor, now: datetime) -> None:
    with db.transaction() as session:
        endpoint = _get(session, endpoint_id)
        for table in (WebhookDelivery, WebhookMessage):
            session.execute(delete(table).where(table.endpoint_id == endpoint_id))
        session.delete(endpoint)
        record(session, actor, "webhook.delete", f"webhook:{endpoint_id}", {"receiver": receiver(endpoint.url)}, at=now)


def replay(db: Database, endpoint_id: int, body: Any, *, actor: Actor, now: datetime) -> int:
    """Send events again to one endpoint (same `webhook-id`, a fresh retry schedule): `{"event_ids": [...]}` or
    `{"since", "until"}` (ISO 8601). How many were queued. WebhookError("rate_limited") past REPLAYS_PER_MINUTE."""
    if not isinstance(body, dict):
        raise WebhookError("The body must be a JSON object.", "invalid_json")
    with db.transaction() as session:
        endpoint = _get(session, endpoint_id)
        recent = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "webhook.replay", AuditEntry.target == f"webhook:{endpoint_id}",
            AuditEntry.at > now - timedelta(minutes=1)))
        if (recent or 0) >= REPLAYS_PER_MINUTE:
            raise WebhookError(f"At most {REPLAYS_PER_MINUTE} replays a minute per endpoint; try again shortly.", "rate_limited")
        query = select(WebhookEvent.id, WebhookEvent.type).where(WebhookEvent.msg_id.is_not(None))
        if "event_ids" in body:
            ids = body["event_ids"]
            if not isinstance(ids, list) or not ids or len(ids) > REPLAY_MAX_EVENTS or not all(
                    isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise WebhookError(f"event_ids: a list of 1 to {REPLAY_MAX_EVENTS} event ids.", field="event_ids")
            query = query.where(WebhookEvent.id.in_(ids))
            detail: dict[str, Any] = {"event_ids": len(ids)}
        else:
            since, until = _when(body.get("since"), "since"), _when(body.get("until"), "until")
            if since >= until:
                raise WebhookError("since must be before until.", field="since")
            query = query.where(WebhookEvent.created_at >= since, WebhookEvent.created_at < until)
            detail = {"since": since.isoformat(), "until": until.isoformat()}
        events = [row.id for row in session.execute(query.order_by(WebhookEvent.id).limit(REPLAY_MAX_EVENTS + 1))
                  if endpoint.wants(row.type)]
        if len(events) > REPLAY_MAX_EVENTS:
            raise WebhookError(f"More than {REPLAY_MAX_EVENTS} events; replay a shorter range.", field="since")
        _requeue(session, endpoint_id, events, now)
        record(session, actor, "webhook.replay", f"webhook:{endpoint_id}", {**detail, "queued": len(events)}, at=now)
    return len(events)


def _requeue(session: Session, endpoint_id: int, event_ids: Sequence[int], now: datetime) -> None:
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start:start + 500]
        session.execute(update(WebhookMessage).where(and_(
            WebhookMessage.endpoint_id == endpoint_id, WebhookMessage.event_id.in_(chunk))).values(
            state="pending", step=0, next_attempt_at=now, finished_at=None).execution_options(synchronize_session=False))
        session.execute(insert_for(session, WebhookMessage).values([
            {"event_id": event_id, "endpoint_id": endpoint_id, "state": "pending", "attempts": 0, "step": 0,
             "next_attempt_at": now, "created_at": now} for event_id in chunk
        ]).on_conflict_do_nothing(index_elements=["event_id", "endpoint_id"]))


def _when(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise WebhookError(f"{field}: an ISO 8601 time with its zone, e.g. 2026-12-06T10:00:00Z.", field=field)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise WebhookError(f"{field}: an ISO 8601 time with its zone, e.g. 2026-12-06T10:00:00Z.", field=field) from None
    if when.tzinfo is None:
        raise WebhookError(f"{field}: give the time's zone (Z for UTC).", field=field)
    return when


def _get(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookError("No such webhook endpoint.", "not_found")
    return endpoint
