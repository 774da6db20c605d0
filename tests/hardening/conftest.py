"""Hardening fixtures: an app whose database can be taken away, served in-process or over HTTP."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer, make_app
from tests.hardening.support import Outage


@pytest.fixture
def outage(database_url, tmp_path):
    """An Outage for this test's database; the app must use `outage.app_url`."""
    outage = Outage(database_url, tmp_path)
    yield outage
    outage.close()


@pytest.fixture
def outage_app(outage, sim):
    """An app whose database can be taken away: through the proxy (PostgreSQL) or locked (SQLite)."""
    app = make_app(outage.app_url, sim.base_url, SQLITE_BUSY_TIMEOUT=1.0)
    yield app
    app.extensions["database"].engine.dispose()


@pytest.fixture
def outage_live_app(outage, sim):
    """outage_app served over real HTTP, so the simulator's callbacks reach it; yields (app, server)."""
    live = LiveServer()
    app = make_app(outage.app_url, sim.base_url, PUBLIC_BASE_URL=live.url, SQLITE_BUSY_TIMEOUT=1.0)
    live.serve(app)
    yield app, live
    live.stop()
    app.extensions["database"].engine.dispose()


