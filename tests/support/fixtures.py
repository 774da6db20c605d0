"""Fixtures every test directory may ask for, registered by tests/conftest.py (`pytest_plugins`): a signed-in
client, and a queue of each kind (the worker's, the Exotel budget's storage)."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import create_engine, text

from .apps import make_app
from .signin import sign_in
from .workers import QUEUE_TABLES, REDIS_URL, redis_or_fail


@pytest.fixture
def signed_in(client, user):
    """The test client, signed in through the form as the `user` fixture's admin."""
    response = sign_in(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def queue(request, tmp_path):
    """(kind, database_url, queue_url or None): an empty queue of each kind beside a migrated database."""
    kind = request.param
    if kind == "sqlite":
        path = tmp_path / "calls.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield kind, f"sqlite:///{path}", None  # the default: queue.db beside calls.db
        return
    database_url = request.getfixturevalue("postgres_database")

    def empty() -> None:
        engine = create_engine(database_url)
        with engine.begin() as connection:
            # Campaigns too: a campaign left running would be dialled by the next test's workers.
            connection.execute(text(f"TRUNCATE call_events, idempotency_keys, calls, api_tokens, {', '.join(QUEUE_TABLES)}, "
                                    "campaign_contacts, campaigns, suppressions, audit_log, alerts, alert_signals, "
                                    "webhook_deliveries, webhook_messages, webhook_events, webhook_endpoints RESTART IDENTITY CASCADE"))
        engine.dispose()

    empty()
    try:
        if kind == "postgresql":
            yield kind, database_url, None  # the default: the PostgreSQL database itself
            return
        client = redis_or_fail(REDIS_URL)
        client.flushdb()
        try:
            yield kind, database_url, REDIS_URL
        finally:
            client.flushdb()
            client.close()
    finally:
        empty()  # killed workers leave heartbeats; later tests of this database expect none


@pytest.fixture
def worker_app(database_url, sim):
    """The app as the worker runs it: callbacks to PUBLIC_BASE_URL (nobody listens: none are sent)."""
    sim.state.configure(drop_callbacks=1.0)
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL="http://127.0.0.1:9")
    yield app
    app.extensions["jobs"].close()
    app.extensions["database"].engine.dispose()
