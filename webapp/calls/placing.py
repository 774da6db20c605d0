"""Placing a call: commit the pending row, ask Exotel outside any transaction, record the answer."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts import audit
from ..accounts.audit import Actor
from ..campaigns.suppressions import screen_call
from ..db import Database, utcnow
from ..exotel import INTERACTIVE, ConnectRequest, ExotelClient, ExotelError, ExotelUnreachable, NotSent, Priority
from ..exotel.callbacks import parse_exotel_time
from ..exotel.status import EXOTEL_STATUSES
from ..models import Call, IdempotencyKey
from ..observability.metrics import CALLS_PLACED
from .overdue import is_overdue
from .signing import callback_token
from .status import FINAL
from .updates import advance_call
from .validation import CallInput, ValidationError

log = logging.getLogger(__name__)


class CallKeyConflict(Exception):
    """An Idempotency-Key of a placed call reused with a different request."""


@dataclass
class Placement:
    """The result of a request to place a call."""

    call: Call
    replayed: bool = False  # an earlier request with the same Idempotency-Key made this call
    error: ExotelError | None = None


def again_request(call: Call, now: datetime | None = None) -> dict[str, Any]:
    """A request to place `call` once more, in validate_call's shape: the same number, flow, ExoPhone, custom
    field and options. It becomes a call of its own (a new row, its own Sid); `call` itself is left as it is.

    Only a final call is placed again: one still ringing or in progress, or past its expected end without a
    final status (its callback lost: calls.overdue), may yet ring or be talking, and one whose outcome is
    `unknown` may have rung and may yet be listed by Exotel. Nobody is called twice by mistake.
    """
    if call.status == "unknown":
        raise ValidationError(
            "Exotel has not said whether this call was placed: it cannot be placed again until that is settled.",
            None, "outcome_unknown",
        )
    if call.status not in FINAL:
        why = ("it should have ended by now, but Exotel has not sent its final status yet (ask Exotel now, or wait "
               "for the worker's check)" if is_overdue(call, now or utcnow())
               else "it has not ended yet")
        raise ValidationError(
            f"This call cannot be placed again until it has its final status: {why}. Placing it again now could "
            "ring the customer twice.", None, "not_final",
        )
    request = {"from" if name == "from_number" else name: value for name, value in _call_fields(call).items()}
    return {key: value for key, value in request.items() if value is not None}


# What a call asks Exotel for: the same names on CallInput, on a Call row and on a ConnectRequest.
CALL_FIELDS = ("from_number", "caller_id", "flow_url", "call_type", "time_limit", "time_out", "custom_field")


def _call_fields(source: Any) -> dict[str, Any]:
    return {name: getattr(source, name) for name in CALL_FIELDS}


def callback_url(base_url: str, secret_key: str, call_id: str) -> str:
    """The per-call StatusCallback URL that Exotel will post to."""
    return f"{base_url.rstrip('/')}/webhooks/exotel/{call_id}/{callback_token(secret_key, call_id)}"


def _existing(db: Database, scope: str, key: str, fingerprint: str) -> Call | None:
    with db.transaction(write=False) as session:
        row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise CallKeyConflict("This Idempotency-Key was used for a different request.")
        return session.get(Call, row.call_id)


def _create_pending(
    db: Database, data: CallInput, scope: str | None, key: str | None, actor: Actor | None = None,
    override_suppression: bool = False,
) -> Call:
    with db.transaction() as session:
        call = Call(
            **_call_fields(data),
            status="pending",
            created_at=utcnow(),
            created_by=actor.name if actor is not None else None,
        )
        session.add(call)
        session.flush()
        # A suppressed number refuses the call here, and the row goes with the rollback (nothing is sent).
        screen_call(session, data.from_number, override=override_suppression, actor=actor, call_id=call.id,
                    now=call.created_at)
        if actor is not None:  # the audit row commits with the call's first row, or neither does
            audit.record(session, actor, "call.place", call.id, {"from_number": data.from_number, "caller_id": data.caller_id})
        if scope and key:
            session.add(IdempotencyKey(scope=scope, key=key, request_hash=data.fingerprint(), call_id=call.id))
    return call


def place_call(
    db: Database,
    client: ExotelClient,
    data: CallInput,
    *,
    secret_key: str,
    callback_base: str,
    timezone: ZoneInfo,
    scope: str | None = None,
    idempotency_key: str | None = None,
    actor: Actor | None = None,
    override_suppression: bool = False,
) -> Placement:
    """Place one call; an Idempotency-Key seen before in `scope` returns the first call instead.

    A suppressed number raises campaigns.suppressions.Suppressed, unless `override_suppression` (an admin's,
    checked by the caller with may_override), which the audit log records.
    """
    if scope and idempotency_key:
        existing = _existing(db, scope, idempotency_key, data.fingerprint())
        if existing is not None:
            return Placement(existing, replayed=True)
    try:
        # Committed before Exotel is asked, so an early callback finds its call.
        call = _create_pending(db, data, scope, idempotency_key, actor, override_suppression)
    except IntegrityError:
        # A concurrent twin with the same key won the insert: answer with its call.
        if not (scope and idempotency_key):
            raise
        existing = _existing(db, scope, idempotency_key, data.fingerprint())
        if existing is None:
            raise
        return Placement(existing, replayed=True)

    call, error = ask_exotel(
        db, client, call, secret_key=secret_key, callback_base=callback_base, timezone=timezone,
        events=data.status_callback_events,
    )
    return Placement(call, error=error)


def ask_exotel(
    db: Database,
    client: ExotelClient,
    call: Call,
    *,
    secret_key: str,
    callback_base: str,
    timezone: ZoneInfo,
    events: tuple[str, ...],
    priority: Priority = INTERACTIVE,
) -> tuple[Call, ExotelError | None]:
    """Send Exotel the request for a committed `pending` call and record its answer; the call as it now is.

    Nothing here re-sends: a timeout or 5xx leaves the call `unknown` for
    reconciliation, since Exotel may have placed it (it has no idempotency key).
    This deployment's own budget being spent (BudgetSpent), or its permit refusing
    for another reason (NotSent), sent nothing: the call stays `pending`, for the
    caller to ask again later or to settle.
    """
    request = ConnectRequest(
        **_call_fields(call),
        status_callback=callback_url(callback_base, secret_key, call.id),
        status_callback_events=events,
    )
    started = time.monotonic()
    error: ExotelError | None = None
    try:
        info = client.connect_to_flow(request, priority=priority)
    except NotSent as exc:
        return call, exc
    except ExotelError as exc:
        error = exc
    latency_ms = round((time.monotonic() - started) * 1000)

    with db.transaction() as session:
        if error is None:
            status = info.status if info.status in EXOTEL_STATUSES else "queued"
            placed_at = parse_exotel_time(info.date_created, timezone) or utcnow()
            advance_call(session, call.id, sid=info.sid, status=status, fill={"placed_at": placed_at})
        else:
            status = "unknown" if error.outcome_unknown else "rejected"
            code = "unreachable" if isinstance(error, ExotelUnreachable) else error.code
            advance_call(
                session,
                call.id,
                status=status,
                replace={"error_code": (code or "")[:32] or None, "error_message": error.message[:1000]},
            )
        found = session.get(Call, call.id, populate_existing=True)
        assert found is not None  # calls are never deleted
        call = found

    CALLS_PLACED.labels(call.status).inc()
    log.info(
        "call placed",
        extra={
            "event": "call_placed",
            "call_id": call.id,
            "sid": call.sid,
            "outcome": call.status if error is None else type(error).__name__,
            "http_status": getattr(error, "http_status", 200),
            "latency_ms": latency_ms,
        },
    )
    return call, error
