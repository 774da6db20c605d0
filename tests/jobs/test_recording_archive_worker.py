"""A real worker process archives an ended call's recording into RECORDINGS_DIR, on each kind of queue."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pytest
import requests

from tests.support.apps import make_app
from tests.support.calls import add_call, archive_row
from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN
from tests.support.workers import worker_env
from webapp.db import utcnow
from webapp.jobs import get_jobs
from webapp.jobs.tasks import archive_recordings

pytestmark = pytest.mark.processes
SID = "c" * 32


def test_the_worker_archives_an_ended_calls_recording(queue, sim, workers, tmp_path):
    _kind, database_url, queue_url = queue
    folder = tmp_path / "recordings"
    app = make_app(database_url, sim.base_url, **({"QUEUE_URL": queue_url} if queue_url else {}))
    try:
        url = f"{sim.base_url}/recordings/{ACCOUNT_SID}/{SID}.wav"
        call = add_call(app, sid=SID, recording_url=url, ended_at=utcnow() - timedelta(minutes=1))
        truth = requests.get(url, auth=(API_KEY, API_TOKEN), timeout=5).content

        worker = workers(worker_env(database_url, queue_url, sim.base_url, RECORDINGS_DIR=str(folder)), "--no-periodic")
        with app.app_context():
            get_jobs(app).enqueue(archive_recordings)  # what the scheduler enqueues every minute
        deadline = time.monotonic() + 20
        while (row := archive_row(app, call.id)) is None or row.state != "archived":
            assert time.monotonic() < deadline, worker.lines()[-20:]
            time.sleep(0.1)
        assert row.sha256 == hashlib.sha256(truth).hexdigest() and row.size_bytes == len(truth)
        assert (folder / row.file_name).read_bytes() == truth
    finally:
        app.extensions["database"].engine.dispose()
