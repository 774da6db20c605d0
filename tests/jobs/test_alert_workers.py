"""Alerts with real worker processes: worker_down noticed by the web app when every worker is killed -9, and
callbacks_missing end to end (the simulator drops the callbacks, the worker's rules fire it, a callback resolves it),
each delivered to a local JSON receiver through Apprise."""

from __future__ import annotations

import json
import signal
import time

import pytest
import requests

from tests.support.apps import LiveServer, make_app
from tests.support.credentials import API_TOKEN, SECRET_KEY
from tests.support.processes import gunicorn, stop
from tests.support.receivers import JsonReceiver
from tests.support.workers import number, worker_env
from webapp.accounts import create_token
from webapp.db import get_db

BOTH = pytest.mark.parametrize("queue", ["sqlite", "postgresql"], indirect=True)
HOOK_PASSWORD = "hook-pass-s3cret"
EVALUATE_SECONDS = 5  # the worker's rules run once per this interval in callbacks_missing's test (a minute in production)
WITHIN = 2 * EVALUATE_SECONDS + 20  # two intervals, and room for the worker's start


@pytest.fixture
def receiver():
    receiver = JsonReceiver()
    yield receiver
    receiver.stop()


def _served(database_url, queue_url, sim, receiver, **overrides):
    live = LiveServer()
    extra = {"QUEUE_URL": queue_url} if queue_url else {}
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL=live.url,
                   ALERT_URLS=receiver.url(userinfo=f"u:{HOOK_PASSWORD}"), **extra, **overrides)
    live.serve(app)
    return app, live


@BOTH
def test_worker_down_is_noticed_by_the_web_app_when_every_worker_is_killed(queue, sim, workers, receiver):
    kind, database_url, queue_url = queue
    app, live = _served(database_url, queue_url, sim, receiver, ALERT_WATCH_SECONDS=1, WORKER_DOWN_AFTER_SECONDS=4,
                        ALERT_HOLD_MINUTES=0)
    try:
        env = worker_env(database_url, queue_url, sim.base_url)
        started = [workers(env), workers(env)]
        # Both beating before the web app's first request starts its watch (else it would rightly see none).
        assert receiver.wait_for(lambda _bodies: _beating(app) == 2, 30), started[0].lines()[-20:]
        assert requests.get(f"{live.url}/healthz", timeout=5).json()["worker"]["seen"]
        for worker in started:
            worker.proc.send_signal(signal.SIGKILL)
            worker.proc.wait(10)
        assert receiver.wait_for(lambda bodies: len(bodies) >= 1, 30), receiver.bodies
        assert receiver.titles() == ["[firing] worker_down"]
        assert f"{live.url}/alerts/" in receiver.bodies[0]["message"]

        workers(env)  # a worker is back: resolved once, after the hold time
        assert receiver.wait_for(lambda bodies: len(bodies) >= 2, 40), receiver.bodies
        assert receiver.titles() == ["[firing] worker_down", "[resolved] worker_down"]
        alerts = requests.get(f"{live.url}/api/alerts", headers=_token(app), timeout=5).json()["alerts"]
        assert [(a["rule"], a["state"]) for a in alerts] == [("worker_down", "resolved")]
    finally:
        live.stop()
        app.extensions["database"].engine.dispose()


def _beating(app) -> int:
    from sqlalchemy import func, select

    from webapp.jobs.tables import WorkerHeartbeat

    with app.app_context(), get_db().transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(WorkerHeartbeat)))


def _token(app) -> dict[str, str]:
    with app.app_context():
        return {"Authorization": f"Bearer {create_token(get_db(), 'alerts')}"}


@BOTH
def test_callbacks_missing_fires_when_the_simulator_drops_callbacks_and_resolves_when_they_come(queue, sim, workers,
                                                                                              receiver):
    kind, database_url, queue_url = queue
    app, live = _served(database_url, queue_url, sim, receiver)
    try:
        headers = _token(app)
        sim.state.configure(drop_callbacks=1.0)
        for index in range(3):
            placed = requests.post(f"{live.url}/api/calls", json={"from": number(index), "app_id": "7"},
                                   headers=headers, timeout=10)
            assert placed.status_code == 201, placed.text
        env = worker_env(database_url, queue_url, sim.base_url, PUBLIC_BASE_URL=live.url,
                         ALERT_URLS=receiver.url(userinfo=f"u:{HOOK_PASSWORD}"))
        # Past the grace of 3 s, the alert arrives within two of the rules' intervals.
        worker = workers(env, "--tune", "CALLBACKS_MISSING_GRACE_MINUTES=0.05", "--tune", "ALERT_HOLD_MINUTES=0",
                         "--tune", f"ALERT_EVALUATE_SECONDS={EVALUATE_SECONDS}")
        assert receiver.wait_for(lambda bodies: len(bodies) >= 1, WITHIN), worker.lines()[-30:]
        assert receiver.titles() == ["[firing] callbacks_missing"]
        message = receiver.bodies[0]["message"]
        assert "PUBLIC_BASE_URL" in message and message.count(f"{live.url}/calls/") == 3

        sim.state.configure(drop_callbacks=0.0)  # fixed: the next call's callbacks arrive
        placed = requests.post(f"{live.url}/api/calls", json={"from": number(9), "app_id": "7"}, headers=headers,
                               timeout=10)
        assert placed.status_code == 201, placed.text
        assert receiver.wait_for(lambda bodies: len(bodies) >= 2, WITHIN), worker.lines()[-30:]
        assert receiver.titles() == ["[firing] callbacks_missing", "[resolved] callbacks_missing"]
        everything = json.dumps(receiver.bodies) + "\n".join(worker.lines())
        for secret in (HOOK_PASSWORD, API_TOKEN, SECRET_KEY):
            assert secret not in everything
    finally:
        live.stop()
        app.extensions["database"].engine.dispose()


@BOTH
def test_under_gunicorn_the_web_processes_notice_worker_down_once(queue, sim, workers, receiver, tmp_path):
    """Each gunicorn process watches from its start (post_worker_init); two of them notify once."""
    kind, database_url, queue_url = queue
    app = "webapp:create_app({'ALERT_WATCH_SECONDS': 1, 'WORKER_DOWN_AFTER_SECONDS': 4, 'ALERT_HOLD_MINUTES': 0})"
    extra = {"ALERT_URLS": receiver.url(userinfo=f"u:{HOOK_PASSWORD}"), **({"QUEUE_URL": queue_url} if queue_url else {})}
    worker = workers(worker_env(database_url, queue_url, sim.base_url))  # beating before the web processes watch
    with make_app(database_url, sim.base_url).app_context() as context:
        assert receiver.wait_for(lambda _bodies: _beating(context.app) == 1, 30), worker.lines()[-20:]
        context.app.extensions["database"].engine.dispose()
    web, url = gunicorn(database_url, tmp_path / "gunicorn.log", app=app, workers=2, extra_env=extra)
    try:
        assert requests.get(f"{url}/healthz", timeout=5).json()["worker"]["seen"]
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(10)
        assert receiver.wait_for(lambda bodies: len(bodies) >= 1, 30), (tmp_path / "gunicorn.log").read_text()[-2000:]
        time.sleep(3)  # both processes have looked again meanwhile: still one notification
        assert receiver.titles() == ["[firing] worker_down"]
        assert HOOK_PASSWORD not in (tmp_path / "gunicorn.log").read_text()
    finally:
        stop(web)

