"""The checks of `flask --app webapp exotel check` and of the admin page: this deployment's Exotel account, before real use."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from ..config import REGIONS, get_settings
from ..exotel.health import Account, Check, Probe, check_account, check_public_base_url
from .client import exotel_client
from .permit import budget_permit


def _account(app: Flask) -> Account:
    settings = get_settings(app)
    client = exotel_client(app)  # the simulator's, when no credentials are set
    origins: dict[str, str] = {**REGIONS, **settings.region_origins}
    configured = None if settings.exotel_api_base else settings.exotel_region
    if settings.use_simulator:
        configured = None
    other = next(((name, origin) for name, origin in origins.items() if name != configured), None) if configured else None
    now = datetime.now(settings.tz)
    return Account(
        sid=client.account_sid, origin=origins[configured] if configured else client.base_url, region=configured,
        other_region=other, caller_id=settings.exotel_caller_id, tz_today=(now.replace(hour=0, minute=0, second=0), now),
    )


def run_checks(app: Flask) -> list[Check]:
    """Every check, in order: the account's (a few requests, from the shared budget), then PUBLIC_BASE_URL."""
    settings = get_settings(app)
    probe = Probe(exotel_client(app).credentials, budget_permit(app))
    try:
        checks = check_account(probe, _account(app))
    finally:
        probe.close()
    return [*checks, check_public_base_url(settings.public_base_url, simulator=settings.use_simulator)]
