"""The outbound webhook tests' app (private receivers allowed: they listen on loopback) and a receiver that
verifies each delivery with the standardwebhooks library."""

from __future__ import annotations

import pytest

from tests.support.apps import make_app
from tests.support.receiver import Receiver


@pytest.fixture
def hook_app(database_url, sim):
    app = make_app(database_url, sim.base_url, WEBHOOK_ALLOW_PRIVATE="1")
    yield app
    app.extensions["database"].engine.dispose()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()
