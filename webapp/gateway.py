"""This app's wiring of the call services: its Exotel client (the real API, or the built-in
simulator when no credentials are set), and placing a call for the current request."""

from __future__ import annotations

import logging
import secrets
import threading

from flask import Flask, current_app, request

from .accounts.audit import Actor
from .calls.placing import Placement, place_call
from .calls.validation import CallInput
from .config import Settings, get_settings
from .db import get_db
from .exotel import ExotelClient
from .simulator import defaults as simulator_defaults

log = logging.getLogger(__name__)

# The account the simulator plays, embedded or standalone (`python -m webapp.simulator`).
SIMULATOR_ACCOUNT_SID = simulator_defaults.ACCOUNT_SID

_lock = threading.Lock()


def _start_embedded_simulator(app: Flask) -> tuple[str, str]:
    """Start this process's simulator on a free loopback port; return its origin."""
    from .simulator import SimulatorServer  # imported only when used

    token = secrets.token_urlsafe(16)
    server = SimulatorServer(SIMULATOR_ACCOUNT_SID, simulator_defaults.API_KEY, token, speed=app.config.get("SIMULATOR_SPEED", 1.0))
    server.start()
    app.extensions["simulator"] = server
    log.info("Exotel simulator listening on %s", server.base_url)
    return token, server.base_url


def exotel_client(app: Flask | None = None) -> ExotelClient:
    """This app's Exotel client, made on first use (and the simulator started with it)."""
    app = app or current_app._get_current_object()
    client = app.extensions.get("exotel")
    if client is not None:
        return client
    with _lock:
        client = app.extensions.get("exotel")
        if client is None:
            client = _make_client(app, get_settings(app))
            app.extensions["exotel"] = client
    return client


def _make_client(app: Flask, settings: Settings) -> ExotelClient:
    timeouts = {
        "connect_timeout": app.config.get("EXOTEL_CONNECT_TIMEOUT", 5.0),
        "read_timeout": app.config.get("EXOTEL_READ_TIMEOUT", 30.0),
        "max_rate_limit_wait": app.config.get("EXOTEL_MAX_RATE_LIMIT_WAIT", 10.0),
    }
    if not settings.use_simulator:
        return ExotelClient(
            settings.exotel_account_sid, settings.exotel_api_key, settings.exotel_api_token, settings.api_origin, **timeouts
        )
    if settings.exotel_api_base:
        d = simulator_defaults
        return ExotelClient(d.ACCOUNT_SID, d.API_KEY, d.API_TOKEN, settings.exotel_api_base, **timeouts)
    token, origin = _start_embedded_simulator(app)
    return ExotelClient(SIMULATOR_ACCOUNT_SID, simulator_defaults.API_KEY, token, origin, **timeouts)


def account_sid(app: Flask | None = None) -> str:
    """The account whose flows calls connect to (for app_id -> flow URL)."""
    settings: Settings = get_settings(app)
    return SIMULATOR_ACCOUNT_SID if settings.use_simulator else settings.exotel_account_sid


def callback_base() -> str:
    """Where Exotel should post callbacks: PUBLIC_BASE_URL, or the origin this request came to."""
    settings: Settings = get_settings()
    return settings.public_base_url or request.host_url


def place(data: CallInput, *, scope: str, idempotency_key: str | None, actor: Actor | None = None) -> Placement:
    """Place a validated call for `actor`, with this app's database, Exotel client and settings."""
    settings: Settings = get_settings()
    return place_call(
        get_db(),
        exotel_client(),
        data,
        secret_key=settings.secret_key,
        callback_base=callback_base(),
        timezone=settings.tz,
        scope=scope,
        idempotency_key=idempotency_key,
        actor=actor,
    )
