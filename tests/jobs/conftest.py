"""Worker fixtures: a queue of each kind (SQLite file, the PostgreSQL database, Redis), real worker processes."""

from __future__ import annotations

import shutil
import signal

import pytest
from sqlalchemy import create_engine, text

from tests.support.apps import make_app
from tests.support.campaigns import CampaignSite
from tests.support.workers import QUEUE_TABLES, REDIS_URL, Worker, redis_or_fail


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
                                    "campaign_contacts, campaigns, suppressions, audit_log RESTART IDENTITY CASCADE"))
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
def workers(tmp_path):
    """Start workers with `start(env, *args)`; all are stopped at the end."""
    started: list[Worker] = []

    def start(env: dict[str, str], *args: str) -> Worker:
        worker = Worker(env, tmp_path / f"worker-{len(started)}.log", *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(signal.SIGKILL)


@pytest.fixture
def queue_app(queue, sim):
    """The web app on the queue's database and queue; yields (app, kind, database_url, queue_url)."""
    kind, database_url, queue_url = queue
    overrides = {"QUEUE_URL": queue_url} if queue_url else {}
    app = make_app(database_url, sim.base_url, **overrides)
    yield app, kind, database_url, queue_url
    app.extensions["database"].engine.dispose()




@pytest.fixture
def site(queue, sim):
    """The app on the queue's database served over HTTP, driving campaigns through its API (tests.support.campaigns)."""
    _kind, database_url, _queue_url = queue
    site = CampaignSite(database_url, sim.base_url)
    yield site
    site.close()
