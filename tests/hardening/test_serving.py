"""The README's gunicorn command serves the app: callbacks stored once, metrics summed over workers."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.hardening.support import new_call
from tests.support.calls import callback_path
from tests.support.processes import gunicorn, stop

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.processes
def test_the_readme_gunicorn_command_records_each_callback_once(app, database_url, tmp_path):
    (tmp_path / "metrics").mkdir()
    calls = [new_call(app) for _ in range(4)]
    # As README.md, "Running in production", gives it (two workers suffice here).
    process, url = gunicorn(database_url, tmp_path / "gunicorn.log", workers=2,
                            extra_env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")})
    try:
        def deliver(call) -> list[int]:
            # Each call's terminal callback five times on one kept-alive connection, as a retrying sender would.
            fields = {"CallSid": call.sid, "EventType": "terminal", "Status": "completed",
                      "DateUpdated": "2026-11-27 14:01:30", "ConversationDuration": "12"}
            with requests.Session() as session:
                return [session.post(url + callback_path(call.id), files={k: (None, v) for k, v in fields.items()},
                                     timeout=30).status_code for _ in range(5)]

        with ThreadPoolExecutor(4) as pool:
            statuses = [status for answer in pool.map(deliver, calls) for status in answer]
        metrics = requests.get(url + "/metrics", timeout=10).text
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)

    assert statuses == [200] * 20
    engine = create_engine(database_url)
    with engine.connect() as connection:
        events = connection.execute(text("SELECT call_id, count(*) FROM call_events GROUP BY call_id")).all()
        finals = connection.execute(text("SELECT status FROM calls")).scalars().all()
    engine.dispose()
    assert sorted(events) == sorted((call.id, 1) for call in calls)
    assert finals == ["completed"] * 4
    # Whichever worker answered the scrape, it counts every worker's callbacks.
    counted = {line.split(" ")[0]: float(line.split(" ")[1]) for line in metrics.splitlines()
               if line.startswith("exotel_callbacks_total{")}
    assert counted == {'exotel_callbacks_total{result="stored"}': 4.0, 'exotel_callbacks_total{result="duplicate"}': 16.0}


def _settings(database_url: str) -> dict:
    """gunicorn.conf.py's module namespace, read as gunicorn reads it, for one DATABASE_URL."""
    import runpy
    from unittest import mock

    with mock.patch.dict(os.environ, {"DATABASE_URL": database_url}):
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_settings_follow_the_database():
    assert _settings("sqlite:///instance/calls.db")["threads"] == 1
    postgres = _settings("postgresql+psycopg://app@db/calls")
    assert postgres["threads"] == 2 and postgres["reuse_port"] and postgres["preload_app"]
    assert postgres["timeout"] > 30  # placing a call may wait 30 s for Exotel


def test_workers_freeze_what_they_loaded_out_of_the_collectors_sight():
    import gc

    hook = _settings("sqlite://")["post_worker_init"]
    assert gc.get_freeze_count() == 0
    try:
        hook(worker=None)
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def _control(path: Path) -> dict:
    """`show workers` over gunicorn's control socket at `path`."""
    from gunicorn.ctl.client import ControlClient

    with ControlClient(str(path), timeout=5) as client:
        return client.send_command("show workers")


@pytest.mark.processes
def test_each_gunicorn_instance_keeps_its_own_control_socket(sqlite_template, tmp_path):
    """Two instances on one host: stopping one leaves the other its control socket."""
    import shutil

    shutil.copy(sqlite_template, tmp_path / "calls.db")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": ""}
    first, _ = gunicorn(f"sqlite:///{tmp_path / 'calls.db'}", tmp_path / "first.log", workers=1, extra_env=env)
    second = None
    try:
        second, _ = gunicorn(f"sqlite:///{tmp_path / 'calls.db'}", tmp_path / "second.log", workers=1, extra_env=env)
        sockets = {process.pid: home / ".gunicorn" / f"gunicorn-{process.pid}.ctl" for process in (first, second)}
        deadline = time.monotonic() + 10  # the socket opens once the workers have started
        while not all(path.exists() for path in sockets.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sorted(path.name for path in (home / ".gunicorn").iterdir()) == sorted(p.name for p in sockets.values())
        stop(second)
        assert not sockets[second.pid].exists()
        assert _control(sockets[first.pid])["count"] == 1  # the first instance still answers on its own
    finally:
        stop(first)
        if second is not None:
            stop(second)
