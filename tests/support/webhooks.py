"""Outbound webhook helpers: an admin token, registering an endpoint through the API, and one delivery
round run in the test's process (the worker's own steps: fan out, claim, send, record)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from webapp.accounts import create_token
from webapp.accounts.audit import Actor
from webapp.config import get_settings
from webapp.db import get_db, utcnow
from webapp.webhooks import delivery, endpoints, record_event
from webapp.webhooks.addresses import http_session
from webapp.webhooks.models import WebhookDelivery, WebhookEvent
from webapp.webhooks.outbox import fan_out


def admin_headers(app) -> dict[str, str]:
    with app.app_context():
        return {"Authorization": f"Bearer {create_token(get_db(), f'hooks-admin-{uuid.uuid4().hex[:8]}', role='admin')}"}


def register(client, headers: dict[str, str], url: str, events: list[str] | None = None) -> dict[str, Any]:
    """POST /api/webhooks; the answer (with the secret)."""
    response = client.post("/api/webhooks", json={"url": url, "events": events or ["call.answered", "call.completed"]},
                           headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def pump(app, *, rounds: int = 3) -> int:
    """Fan out and deliver what is due now, `rounds` times; how many attempts were made."""
    attempts = 0
    settings = get_settings(app)
    http = http_session(allow_private=settings.webhook_allow_private)
    with app.app_context():
        db = get_db()
        for _ in range(rounds):
            with db.transaction() as session:
                fan_out(session, settings.now())
            claimed = delivery.claim(db, settings.now(), lease_seconds=60, limit=100, scale=settings.webhook_retry_scale)
            outcomes = [delivery.send(c, http, secret_key=settings.secret_key, timeout=settings.webhook_timeout)
                        for c in claimed]
            delivery.record(db, outcomes, settings.now(), scale=settings.webhook_retry_scale)
            attempts += len(outcomes)
    http.close()
    return attempts


def events(app) -> list[tuple[str, str | None]]:
    """Every event row as (type, subject), oldest first."""
    with app.app_context(), get_db().transaction(write=False) as session:
        return [(e.type, e.subject) for e in session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]


def webhook_endpoint(db) -> int:
    """An endpoint (on a public name, written without resolving it) with one event and one delivery whose
    response is HTML, for the pages; its id."""
    given = endpoints.EndpointInput(url="https://crm.example.com/hooks", events=("call.completed", "alert.firing"),
                                    description="CRM")
    endpoint, _secret = endpoints.create(db, given, secret_key="pages", actor=Actor("system"), now=utcnow())
    with db.transaction() as session:
        record_event(session, "alert.firing", {"rule": "worker_down"}, dedupe_key="alert.firing:pages", now=utcnow())
        event = session.scalars(select(WebhookEvent)).first()
        event.msg_id = "msg_pages"
        session.add(WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, attempt=1, at=utcnow(), status_code=500,
                                    duration_ms=12, response="<html><b>Internal error</b></html>"))
    return endpoint.id
