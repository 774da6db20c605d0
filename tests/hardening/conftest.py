"""Hardening fixtures: an app whose database can be taken away, served in-process or over HTTP."""

from __future__ import annotations

import base64
import logging

import pytest
from flask import request_finished

from tests.hardening.support import Outage, dump_tables
from tests.support.apps import LiveServer, make_app
from tests.support.credentials import API_KEY, API_TOKEN, SECRET_KEY
from webapp.observability.logs import JsonFormatter

SECRETS = {
    "EXOTEL_API_TOKEN": API_TOKEN,
    "Basic credentials": base64.b64encode(f"{API_KEY}:{API_TOKEN}".encode()).decode(),
    "SECRET_KEY": SECRET_KEY,
}


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




@pytest.fixture(autouse=True)
def no_secrets(request, caplog):
    """Every hardening test: the Exotel token (raw or in Basic credentials) and SECRET_KEY appear in
    no log line (root, webapp, werkzeug at DEBUG), no answer the apps gave, and no table."""
    caplog.set_level(logging.WARNING, logger="sqlalchemy")  # SQL echo: test_secrets turns it on
    for name in (None, "webapp", "werkzeug", "urllib3"):  # last: set_level also sets the handler's level
        caplog.set_level(logging.DEBUG, logger=name)
    answers: list[str] = []
    # Asked for now, so the database outlives this fixture's check at the end.
    database_url = request.getfixturevalue("database_url") if "database_url" in request.fixturenames else None

    def capture(sender, response, **_extra):
        if not response.is_streamed:
            answers.append(f"{response.status} {dict(response.headers)!r} {response.get_data(as_text=True)}")

    request_finished.connect(capture)
    try:
        yield answers
    finally:
        request_finished.disconnect(capture)
    formatter = JsonFormatter()
    seen = [formatter.format(record) for record in caplog.records]
    seen += answers
    if database_url is not None:
        seen.append(dump_tables(database_url))
    text = "\n".join(seen)
    for name, secret in SECRETS.items():
        assert secret not in text, f"{name} leaked"
