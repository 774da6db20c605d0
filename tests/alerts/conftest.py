"""The alerts' fixtures: a local JSON receiver, and the app sending to it."""

from __future__ import annotations

import pytest

from tests.support.apps import make_app
from tests.support.receivers import JsonReceiver


@pytest.fixture
def receiver():
    receiver = JsonReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def alert_app(database_url, sim, receiver):
    """The app with ALERT_URLS naming the receiver (with a password that must never show) and a public origin."""
    app = make_app(database_url, sim.base_url, ALERT_URLS=receiver.url(userinfo="hookuser:hook-pass-s3cret"),
                   PUBLIC_BASE_URL="https://calls.example.com")
    yield app
    app.extensions["database"].engine.dispose()
