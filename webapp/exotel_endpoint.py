"""Which Exotel this app talks to: Exotel itself with credentials, else the built-in simulator.

Part of the app's wiring, with create_app and the commands: the one place outside
webapp/simulator that imports it, and only inside the functions below, so an app
with credentials never loads a simulator module. Without credentials the account
is the simulator's, and the endpoint a standalone simulator (EXOTEL_API_BASE) or
one started in this process when the first request leaves.
"""

from __future__ import annotations

import logging
import secrets

from flask import Flask

from .config import Settings
from .exotel_access import Endpoint, ExotelAccess
from .exotel_access.client import credentials_access

log = logging.getLogger(__name__)


def exotel_access(app: Flask, settings: Settings) -> ExotelAccess:
    if not settings.use_simulator:
        return credentials_access(settings)
    return ExotelAccess(account_sid=_simulator_account, endpoint=lambda: _simulator_endpoint(app, settings))


def _simulator_account() -> str:
    from .simulator import defaults  # the account the simulator plays, embedded or standalone

    return defaults.ACCOUNT_SID


def _simulator_endpoint(app: Flask, settings: Settings) -> Endpoint:
    from .simulator import defaults

    if settings.exotel_api_base:  # a standalone simulator (`python -m webapp.simulator`)
        return Endpoint(defaults.ACCOUNT_SID, defaults.API_KEY, defaults.API_TOKEN, settings.exotel_api_base)
    return _start_embedded_simulator(app, settings)


def _start_embedded_simulator(app: Flask, settings: Settings) -> Endpoint:
    """Start this process's simulator on a free loopback port."""
    from .simulator import SimulatorServer, defaults

    token = secrets.token_urlsafe(16)
    options = defaults.from_environment()  # SIMULATOR_SPEED, SIMULATOR_DROP_CALLBACKS, ...
    if settings.simulator_speed is not None:
        options["speed"] = settings.simulator_speed
    server = SimulatorServer(defaults.ACCOUNT_SID, defaults.API_KEY, token, **options)
    server.start()
    app.extensions["simulator"] = server
    log.info("Exotel simulator listening on %s", server.base_url)
    return Endpoint(defaults.ACCOUNT_SID, defaults.API_KEY, token, server.base_url)
