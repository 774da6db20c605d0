"""Delivering messages: claim due ones under a lease, send them signed, record each attempt and what follows.

A claim sets `lease` and `leased_until` on due messages in one transaction
(PostgreSQL: FOR UPDATE SKIP LOCKED, so two workers never claim one message;
SQLite: BEGIN IMMEDIATE serializes claims). Only the lease holder records the
outcome; a worker killed mid-delivery leaves its lease to expire, and the
message is sent again later under the same `webhook-id`.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from cryptography.fernet import InvalidToken
from sqlalchemy import and_, insert, or_, select, update
from standardwebhooks.webhooks import Webhook

from ..db import Database
from ..observability.metrics import WEBHOOK_DELIVERIES
from .addresses import EndpointRefused
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookMessage
from .outbox import FAILING_DISABLES_AFTER
from .probing import due_messages, endpoint_ids, probes_due
from .queries import Waiting, waiting
from .schedule import next_delay, retry_after
from .secrets import unseal

log = logging.getLogger(__name__)
RESPONSE_CAP = 1024  # characters of a response body kept in the log
USER_AGENT = "exotel-calls-webhooks/1"


@dataclass(frozen=True)
class Claimed:
    message_id: int
    lease: str
    event_id: int
    endpoint_id: int
    attempt: int  # this attempt's number (1 for the first)
    step: int  # its place in the retry schedule
    msg_id: str
    payload: str
    url: str
    secrets: tuple[str, ...]  # sealed: the current secret, then the previous while the rotation lasts


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    status_code: int | None
    error: str | None
    duration_ms: int
    response: str | None
    retry_after: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def claim(db: Database, now: datetime, *, lease_seconds: float, limit: int, scale: float = 1.0,
          work: Waiting | None = None) -> list[Claimed]:
    """Lease up to `limit` due messages of enabled endpoints to this caller; one being probed gets one, its probe.

    `work`: what `waiting` said at `now`, if the caller has just asked."""
    lease = str(uuid.uuid4())
    if not (work or waiting(db, now, scale=scale)).due:  # a read first: SQLite's write lock only when there is work
        return []
    with db.transaction() as session:
        # Endpoint by endpoint (each an index range): the earliest due of each, then the earliest of those.
        due: list[tuple[Any, Any]] = []  # (next_attempt_at, message id)
        for endpoint_id in endpoint_ids(session, failing=False):
            query = due_messages(endpoint_id, now).add_columns(WebhookMessage.next_attempt_at).limit(limit)
            due += [(at, message_id) for message_id, at in session.execute(_locked(query))]
        ids = [message_id for _at, message_id in sorted(due)[:limit]]
        for endpoint_id in probes_due(session, now, scale=scale, lock=True):
            ids += session.scalars(_locked(due_messages(endpoint_id, now).limit(1)))
        if not ids:
            return []
        session.execute(update(WebhookMessage).where(WebhookMessage.id.in_(ids)).values(
            lease=lease, leased_until=now + timedelta(seconds=lease_seconds)).execution_options(synchronize_session=False))
        rows = session.execute(
            select(WebhookMessage, WebhookEvent, WebhookEndpoint)
            .join(WebhookEvent, WebhookEvent.id == WebhookMessage.event_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookMessage.endpoint_id)
            .where(WebhookMessage.id.in_(ids))).all()
    claimed = []
    for message, event, endpoint in rows:
        sealed: tuple[str, ...] = (endpoint.secret,)
        if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
            sealed += (endpoint.previous_secret,)
        claimed.append(Claimed(message.id, lease, event.id, endpoint.id, message.attempts + 1, message.step,
                               event.msg_id or "", event.payload or "{}", endpoint.url, sealed))
    return claimed


def _locked(query: Any) -> Any:
    """PostgreSQL: the rows locked, and those another worker is claiming skipped (SQLite: BEGIN IMMEDIATE serializes)."""
    return query.with_for_update(skip_locked=True)


def signature(secrets: list[str], msg_id: str, timestamp: datetime, payload: bytes) -> str:
    """The `webhook-signature` header: one `v1,<sig>` per secret, space-separated (Standard Webhooks)."""
    return " ".join(Webhook(secret).sign(msg_id, timestamp, payload) for secret in secrets)


def send(claimed: Claimed, http: requests.Session, *, secret_key: str, timeout: float) -> Outcome:
    """One attempt: POST the body, signed; no redirect followed; the answer's first RESPONSE_CAP characters kept."""
    started = time.monotonic()
    body = claimed.payload.encode()
    try:
        secrets = [unseal(secret_key, sealed) for sealed in claimed.secrets]
    except InvalidToken:
        return Outcome(claimed, None, "the secret cannot be read: was SECRET_KEY changed? rotate it", 0, None)
    # The receiver checks webhook-timestamp against its own clock (5 minutes either way), so this is the
    # real time of sending, not the app's clock.
    sent_at = datetime.fromtimestamp(time.time(), UTC)
    headers = {"webhook-id": claimed.msg_id, "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": signature(secrets, claimed.msg_id, sent_at, body),
               "content-type": "application/json", "user-agent": USER_AGENT}
    try:
        with http.post(claimed.url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False,
                       stream=True) as response:
            snippet = response.raw.read(RESPONSE_CAP * 4, decode_content=True)[: RESPONSE_CAP * 4]
            text = snippet.decode("utf-8", errors="replace")[:RESPONSE_CAP]
            return Outcome(claimed, response.status_code, None, _ms(started), text or None,
                           response.headers.get("Retry-After"))
    except EndpointRefused as exc:
        error = str(exc)
    except requests.Timeout:
        error = f"no answer within {timeout:g} s"
    except requests.exceptions.SSLError:
        error = "TLS failed (certificate or handshake)"
    except requests.ConnectionError:
        error = "could not connect"
    except (requests.RequestException, OSError, ValueError) as exc:
        # Never str(exc): requests' messages quote the URL, and a URL may carry the receiver's token.
        error = f"request failed ({type(exc).__name__})"
    return Outcome(claimed, None, error, _ms(started), None)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def record(db: Database, outcomes: list[Outcome], now: datetime, *, scale: float = 1.0,
           rng: random.Random | None = None) -> None:
    """Log each attempt and move its message on (delivered, retried later, or failed); update the endpoints."""
    if not outcomes:
        return
    succeeded: set[int] = set()
    failed: set[int] = set()
    gone: set[int] = set()
    done: dict[tuple[str, int | None], list[int]] = {}  # delivered messages by (lease, status): one UPDATE each
    log_rows = []
    with db.transaction() as session:
        for outcome in outcomes:
            c = outcome.claimed
            log_rows.append({"event_id": c.event_id, "endpoint_id": c.endpoint_id, "attempt": c.attempt, "at": now,
                             "status_code": outcome.status_code, "error": outcome.error and outcome.error[:300],
                             "duration_ms": outcome.duration_ms, "response": outcome.response})
            WEBHOOK_DELIVERIES.labels(outcome="delivered" if outcome.delivered else "failed").inc()
            if outcome.delivered:
                done.setdefault((c.lease, outcome.status_code), []).append(c.message_id)
                succeeded.add(c.endpoint_id)
                continue
            values: dict[str, Any] = {"attempts": c.attempt, "lease": None, "leased_until": None,
                                      "last_status": outcome.status_code}
            if outcome.status_code == 410:
                values.update(state="failed", finished_at=now)
                gone.add(c.endpoint_id)
            else:
                failed.add(c.endpoint_id)
                delay = retry_after(outcome.retry_after, now) if outcome.status_code in (429, 503) else None
                if delay is None:
                    delay = next_delay(c.step + 1, scale=scale, rng=rng)
                if delay is None:
                    values.update(state="failed", finished_at=now, step=c.step + 1)
                else:
                    values.update(step=c.step + 1, next_attempt_at=now + timedelta(seconds=delay))
            # Only the lease holder moves the message on (a lease that expired was taken over).
            session.execute(update(WebhookMessage).where(WebhookMessage.id == c.message_id, WebhookMessage.lease == c.lease)
                            .values(values).execution_options(synchronize_session=False))
        session.execute(insert(WebhookDelivery), log_rows)
        for (lease, status), ids in done.items():
            session.execute(update(WebhookMessage).where(WebhookMessage.id.in_(ids), WebhookMessage.lease == lease).values(
                state="delivered", finished_at=now, attempts=WebhookMessage.attempts + 1, lease=None, leased_until=None,
                last_status=status).execution_options(synchronize_session=False))
        _endpoints(session, now, succeeded, failed - succeeded, gone)


def _endpoints(session: Any, now: datetime, succeeded: set[int], failed: set[int], gone: set[int]) -> None:
    """Success clears the failing streak; a failure starts it, and 3 days of it disable; 410 disables at once."""
    E = WebhookEndpoint
    recovered = session.scalars(select(E.id).where(E.id.in_(succeeded), E.failing_since.is_not(None))).all() if succeeded else []
    if recovered:
        # It answers again: its backlog goes now rather than at each message's next backed-off try (a 429's
        # Retry-After still stands).
        M = WebhookMessage
        session.execute(update(M).where(M.endpoint_id.in_(recovered), M.state == "pending", M.next_attempt_at > now,
                                        or_(M.last_status.is_(None), M.last_status != 429))
                        .values(next_attempt_at=now).execution_options(synchronize_session=False))
    if succeeded:
        session.execute(update(E).where(E.id.in_(succeeded), or_(E.failing_since.is_not(None), E.last_success_at.is_(None),
                                                                  E.last_success_at < now - timedelta(minutes=1)))
                        .values(failing_since=None, last_success_at=now).execution_options(synchronize_session=False))
    if failed:
        session.execute(update(E).where(E.id.in_(failed), E.failing_since.is_(None)).values(failing_since=now)
                        .execution_options(synchronize_session=False))
        stale = session.scalars(select(E.id).where(E.id.in_(failed), E.enabled.is_(True),
                                                   E.failing_since <= now - FAILING_DISABLES_AFTER)).all()
        _disable(session, stale, "failing", now)
    _disable(session, list(gone), "gone", now)


def _disable(session: Any, ids: list[int], reason: str, now: datetime) -> None:
    if not ids:
        return
    session.execute(update(WebhookEndpoint).where(and_(WebhookEndpoint.id.in_(ids), WebhookEndpoint.enabled.is_(True)))
                    .values(enabled=False, disabled_reason=reason, disabled_at=now).execution_options(synchronize_session=False))
    for endpoint_id in ids:
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, reason,
                    extra={"event": "webhook_disabled", "endpoint_id": endpoint_id, "reason": reason})
