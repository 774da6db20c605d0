"""Placing a call for the current request: the API's and the pages' one way to place one.

The request names where Exotel posts the callbacks (unless PUBLIC_BASE_URL does);
a call placed without Exotel's answer is looked up later by the worker.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest

from ..accounts.audit import Actor
from ..calls.placing import Placement, place_call
from ..calls.validation import CallInput
from ..config import Settings, get_settings
from ..db import get_db
from ..exotel import INTERACTIVE, Priority
from ..exotel_access import budget_permit, exotel_client
from ..jobs import get_jobs
from ..jobs.tasks import check_call

log = logging.getLogger(__name__)


def callback_base() -> str:
    """Where Exotel should post callbacks: PUBLIC_BASE_URL, or the origin this request came to.

    The request's origin only for a loopback host or one named in ALLOWED_HOSTS:
    the Host header is the client's to choose, and the callback URL carries the
    call's token.
    """
    settings: Settings = get_settings()
    if settings.public_base_url:
        return settings.public_base_url
    host = (urlsplit(f"//{request.host}").hostname or "").rstrip(".")
    if not (_is_loopback(host) or host in settings.allowed_hosts):
        raise BadRequest(
            f"Callbacks cannot be sent to host {host[:100]!r}: set PUBLIC_BASE_URL, or list the host in ALLOWED_HOSTS."
        )
    return request.host_url


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def place(
    data: CallInput, *, scope: str, idempotency_key: str | None, actor: Actor | None = None,
    override_suppression: bool = False,
) -> Placement:
    """Place a validated call for `actor`, with this app's database, Exotel client and settings."""
    settings: Settings = get_settings()
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, for other threads
    # The slot is taken before the call's row is written: a spent budget leaves no row and sends nothing
    # (BudgetSpent reaches the view). The connect request then uses that slot; a re-send after
    # Exotel's own 429 draws another.
    permit = budget_permit(app)
    permit(INTERACTIVE)
    paid = [True]

    def prepaid(priority: Priority) -> None:
        if paid:
            paid.pop()
            return
        permit(priority)

    placement = place_call(
        get_db(),
        exotel_client(app).with_permit(prepaid),
        data,
        secret_key=settings.secret_key,
        callback_base=callback_base(),
        timezone=settings.tz,
        scope=scope,
        idempotency_key=idempotency_key,
        actor=actor,
        override_suppression=override_suppression,
    )
    if placement.call.status == "unknown" and not placement.call.sid and not placement.replayed:
        _check_later(app, placement.call.id)
    return placement


def _check_later(app: Flask, call_id: str) -> None:
    """Ask the worker to look the call up once Exotel may list it; the periodic run is the safety net."""
    try:
        get_jobs(app).enqueue_in(get_settings(app).check_call_delay, check_call, call_id)
    except Exception:  # the queue being down must not turn a placed call into an error page
        log.warning("could not queue a check of call %s", call_id, exc_info=True)
