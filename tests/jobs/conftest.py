"""Worker fixtures: real worker processes (the `queue` of each kind is in tests/support/fixtures.py)."""

from __future__ import annotations

import signal

import pytest

from tests.support.apps import make_app
from tests.support.campaigns import CampaignSite
from tests.support.workers import Worker


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
