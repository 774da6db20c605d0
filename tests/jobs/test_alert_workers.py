"""Alerts with real worker processes: worker_down noticed by the web app when every worker is killed -9, and
callbacks_missing end to end (the simulator drops the callbacks, the worker's rules fire it, a callback resolves it),
each delivered to a local JSON receiver through Apprise."""

from __future__ import annotations

import json
import signal

import pytest
import requests

from tests.support.apps import LiveServer, make_app
from tests.support.credentials import API_TOKEN, SECRET_KEY
from tests.support.receivers import JsonReceiver
from tests.support.workers import number, worker_env
from webapp.accounts import create_token
from webapp.db import get_db

BOTH = pytest.mark.parametrize("queue", ["sqlite", "postgresql"], indirect=True)
HOOK_PASSWORD = "hook-pass-s3cret"


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
        seen = lambda: requests.get(f"{live.url}/healthz", timeout=5).json()["worker"]["seen"]  # noqa: E731
        assert receiver.wait_for(lambda _bodies: seen(), 30), started[0].lines()[-20:]  # the first request starts the watch
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
        worker = workers(env, "--tune", "CALLBACKS_MISSING_GRACE_MINUTES=0.05", "--tune", "ALERT_HOLD_MINUTES=0")
        # The rules run at each minute's turn: the alert arrives within two.
        assert receiver.wait_for(lambda bodies: len(bodies) >= 1, 150), worker.lines()[-30:]
        assert receiver.titles() == ["[firing] callbacks_missing"]
        message = receiver.bodies[0]["message"]
        assert "PUBLIC_BASE_URL" in message and message.count(f"{live.url}/calls/") == 3

        sim.state.configure(drop_callbacks=0.0)  # fixed: the next call's callbacks arrive
        placed = requests.post(f"{live.url}/api/calls", json={"from": number(9), "app_id": "7"}, headers=headers,
                               timeout=10)
        assert placed.status_code == 201, placed.text
        assert receiver.wait_for(lambda bodies: len(bodies) >= 2, 150), worker.lines()[-30:]
        assert receiver.titles() == ["[firing] callbacks_missing", "[resolved] callbacks_missing"]
        everything = json.dumps(receiver.bodies) + "\n".join(worker.lines())
        for secret in (HOOK_PASSWORD, API_TOKEN, SECRET_KEY):
            assert secret not in everything
    finally:
        live.stop()
        app.extensions["database"].engine.dispose()
