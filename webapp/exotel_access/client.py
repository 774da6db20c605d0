"""This app's Exotel client: one per app, made on first use, each request drawn from the budget."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy import event

from ..config import Settings, get_settings
from ..exotel import ExotelClient
from .observe import response_hook
from .permit import budget_permit, close_budget
from .responses import counted_session

_lock = threading.Lock()


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and as whom."""

    account_sid: str
    api_key: str
    api_token: str = field(repr=False)
    origin: str


@dataclass(frozen=True)
class ExotelAccess:
    """The wiring's answer to "which Exotel?": the account flows belong to, and the endpoint.

    Both are functions: the account is named on every page without starting anything,
    and the endpoint is asked once, when the first request leaves (the embedded
    simulator starts then).
    """

    account_sid: Callable[[], str]
    endpoint: Callable[[], Endpoint]


def credentials_access(settings: Settings) -> ExotelAccess:
    """Exotel itself, with the credentials of the settings."""
    # load_settings guarantees all three credentials (and so an origin) when any is set.
    assert settings.exotel_account_sid and settings.exotel_api_key and settings.exotel_api_token and settings.api_origin
    endpoint = Endpoint(settings.exotel_account_sid, settings.exotel_api_key, settings.exotel_api_token,
                        settings.api_origin)
    return ExotelAccess(account_sid=lambda: endpoint.account_sid, endpoint=lambda: endpoint)


def init_exotel(app: Flask, access: ExotelAccess) -> None:
    app.extensions["exotel_access"] = access
    # Whoever disposes the app's engine (shutdown, a fork, a test) is done with the budget's connections too.
    event.listen(app.extensions["database"].engine, "engine_disposed", lambda _engine: close_budget(app))


def exotel_client(app: Flask | None = None) -> ExotelClient:
    """This app's Exotel client, made on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's real app
    client: ExotelClient | None = app.extensions.get("exotel")
    if client is not None:
        return client
    with _lock:
        client = app.extensions.get("exotel")
        if client is None:
            settings = get_settings(app)
            endpoint = app.extensions["exotel_access"].endpoint()
            session = counted_session()  # every answer counted by status, for /metrics
            session.hooks["response"].append(response_hook(app))  # refusals and answers, for the alert rules
            client = ExotelClient(
                endpoint.account_sid, endpoint.api_key, endpoint.api_token, endpoint.origin,
                connect_timeout=settings.exotel_connect_timeout, read_timeout=settings.exotel_read_timeout,
                max_rate_limit_wait=settings.exotel_max_rate_limit_wait, session=session,
            ).with_permit(budget_permit(app))
            app.extensions["exotel"] = client
    return client


def account_sid(app: Flask | None = None) -> str:
    """The account whose flows calls connect to (for app_id -> flow URL)."""
    access: ExotelAccess = (app or current_app).extensions["exotel_access"]
    return access.account_sid()
