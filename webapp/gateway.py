"""This app's wiring of the call services: its Exotel client (the real API, or the built-in
simulator when no credentials are set), and placing a call for the current request."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from werkzeug.exceptions import BadRequest

from .accounts.audit import Actor
from .calls.placing import Placement, ask_exotel, place_call
from .calls.validation import CallInput
from .config import Settings, get_settings
from .db import get_db, utcnow
from .exotel import BULK, INTERACTIVE, ExotelClient, ExotelError, Permit, Priority
from .jobs import get_jobs
from .models import Call

log = logging.getLogger(__name__)
_lock = threading.Lock()


def _start_embedded_simulator(app: Flask) -> tuple[str, str]:
    """Start this process's simulator on a free loopback port; return its origin."""
    from .simulator import SimulatorServer, defaults  # imported only when used

    token = secrets.token_urlsafe(16)
    options = defaults.from_environment()  # SIMULATOR_SPEED, SIMULATOR_DROP_CALLBACKS, ...
    if "SIMULATOR_SPEED" in app.config:
        options["speed"] = app.config["SIMULATOR_SPEED"]
    server = SimulatorServer(defaults.ACCOUNT_SID, defaults.API_KEY, token, **options)
    server.start()
    app.extensions["simulator"] = server
    log.info("Exotel simulator listening on %s", server.base_url)
    return token, server.base_url


def exotel_client(app: Flask | None = None) -> ExotelClient:
    """This app's Exotel client, made on first use (and the simulator started with it)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's real app
    client = app.extensions.get("exotel")
    if client is not None:
        return client
    with _lock:
        client = app.extensions.get("exotel")
        if client is None:
            client = _make_client(app, get_settings(app)).with_permit(budget_permit(app))
            app.extensions["exotel"] = client
    return client


def _make_client(app: Flask, settings: Settings) -> ExotelClient:
    timeouts = {
        "connect_timeout": app.config.get("EXOTEL_CONNECT_TIMEOUT", 5.0),
        "read_timeout": app.config.get("EXOTEL_READ_TIMEOUT", 30.0),
        "max_rate_limit_wait": app.config.get("EXOTEL_MAX_RATE_LIMIT_WAIT", 10.0),
    }
    if not settings.use_simulator:
        # load_settings guarantees all three credentials (and so an origin) when any is set.
        assert settings.exotel_account_sid and settings.exotel_api_key and settings.exotel_api_token and settings.api_origin
        return ExotelClient(
            settings.exotel_account_sid, settings.exotel_api_key, settings.exotel_api_token, settings.api_origin, **timeouts
        )
    from .simulator import defaults  # the simulator's account: imported only without credentials

    if settings.exotel_api_base:  # a standalone simulator (`python -m webapp.simulator`)
        return ExotelClient(defaults.ACCOUNT_SID, defaults.API_KEY, defaults.API_TOKEN, settings.exotel_api_base, **timeouts)
    token, origin = _start_embedded_simulator(app)
    return ExotelClient(defaults.ACCOUNT_SID, defaults.API_KEY, token, origin, **timeouts)


def budget_permit(app: Flask) -> Permit:
    """Draw each request to Exotel from the deployment's budget: a person waits a few seconds at most."""
    from .observability.metrics import BUDGET_REFUSED, BUDGET_WAITS

    jobs = get_jobs(app)
    waits = {INTERACTIVE: app.config.get("EXOTEL_BUDGET_WAIT", 3.0), BULK: app.config.get("EXOTEL_BUDGET_BULK_WAIT", 30.0)}

    def permit(priority: Priority) -> None:
        try:
            jobs.budget.take(priority, wait=waits[priority], on_wait=lambda _seconds: BUDGET_WAITS.labels(priority).inc())
        except Exception:
            BUDGET_REFUSED.labels(priority).inc()
            raise

    return permit


def account_sid(app: Flask | None = None) -> str:
    """The account whose flows calls connect to (for app_id -> flow URL)."""
    settings: Settings = get_settings(app)
    if settings.use_simulator or settings.exotel_account_sid is None:
        from .simulator import defaults  # the account the simulator plays, embedded or standalone

        return defaults.ACCOUNT_SID
    return settings.exotel_account_sid


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
        exotel_client().with_permit(prepaid),
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
        get_jobs(app).enqueue("check_call", call_id, delay=app.config.get("CHECK_CALL_DELAY", 180.0))
    except Exception:  # the queue being down must not turn a placed call into an error page
        log.warning("could not queue a check of call %s", call_id, exc_info=True)


def send_campaign_attempt(app: Flask, call_id: str) -> ExotelError | None:
    """Ask Exotel for one claimed campaign attempt (a committed `pending` call), as bulk work of the budget.

    Runs in the worker, outside any request: callbacks go to PUBLIC_BASE_URL.
    """
    from .campaigns.models import Campaign
    from .campaigns.sending import mark_sending

    settings = get_settings(app)
    if not settings.public_base_url:  # the dispatcher claims nothing without it
        raise RuntimeError("PUBLIC_BASE_URL is not set: the worker cannot tell Exotel where to send callbacks")
    db = get_db()
    with db.transaction(write=False) as session:
        call = session.get(Call, call_id)
        campaign = session.get(Campaign, call.campaign_id) if call is not None and call.campaign_id else None
    if call is None or campaign is None:
        return None
    events = tuple(event for event in campaign.status_callback_events.split(",") if event)
    permit = budget_permit(app)

    def permit_while_running(priority: Priority) -> None:
        """A budget slot, then the attempt's gate: the slot may come after a wait (a spent budget, Exotel's
        Retry-After), and a campaign paused or canceled, or a number suppressed, meanwhile places nothing."""
        permit(priority)
        mark_sending(db, call_id, utcnow())

    _call, error = ask_exotel(
        db, exotel_client(app).with_permit(permit_while_running), call, secret_key=settings.secret_key,
        callback_base=settings.public_base_url, timezone=settings.tz, events=events, priority=BULK,
    )
    return error
