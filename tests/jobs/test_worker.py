"""The worker as a real process on each kind of queue: web-enqueued tasks, scheduled reconciliation,
one run at a time across workers, and a worker killed mid-run."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime

import pytest
import requests
from sqlalchemy import func, select

from tests.support.apps import LiveServer, make_app
from tests.support.workers import number, open_calls_in_simulator, worker_env
from webapp.calls.status import FINAL
from webapp.db import get_db
from webapp.models import Call, CallEvent

pytestmark = pytest.mark.processes

INTERVAL = 20  # seconds: the scheduled reconciliation's interval, instead of RECONCILE_EVERY_MINUTES' minute


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _statuses(app, ids) -> dict[str, str]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return dict(session.execute(select(Call.id, Call.status).where(Call.id.in_(ids))).all())


def _events(app, event_type="reconcile") -> list[str]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return list(session.scalars(select(CallEvent.call_id).where(CallEvent.event_type == event_type)))


def test_a_task_enqueued_by_the_web_app_runs_in_the_worker(queue, sim, workers):
    """A placement that ended without Exotel's answer queues a check; the worker adopts the call's Sid."""
    kind, database_url, queue_url = queue
    live = LiveServer()
    overrides = {"QUEUE_URL": queue_url} if queue_url else {}
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL=live.url, CHECK_CALL_DELAY=0.5, **overrides)
    live.serve(app)
    try:
        with app.app_context():
            from webapp.accounts import create_token

            token = create_token(get_db(), "worker-test")
        # Exotel places the call but its answer is a 503: the call is `unknown`, without a Sid.
        sim.state.configure(drop_callbacks=1.0)
        sim.state.add_fault(mode="status", status=503, place=True)
        response = requests.post(f"{live.url}/api/calls", json={"from": number(1), "app_id": "7"},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 502, response.text
        call = response.json()["call"]
        assert call["status"] == "unknown" and call["sid"] is None
        assert sim.state.wait_idle(10)
        (truth,) = sim.state.calls.values()

        # No periodic scheduler: only the queued task can settle it.
        worker = workers(worker_env(database_url, queue_url, sim.base_url), "--no-periodic")
        assert _wait(lambda: _statuses(app, [call["id"]])[call["id"]] == truth["status"], 20), worker.lines()[-20:]
        with app.app_context(), get_db().transaction(write=False) as session:
            assert session.get(Call, call["id"]).sid == truth["sid"]
        # The task logs after its commit: the line may follow the settled row by a moment.
        assert _wait(lambda: any("check_call" in line for line in worker.lines()), 5), worker.lines()[-20:]
    finally:
        live.stop()
        app.extensions["database"].engine.dispose()


def test_scheduled_reconciliation_settles_calls_whose_callbacks_were_dropped(queue_app, sim, workers):
    app, kind, database_url, queue_url = queue_app
    with app.app_context():
        ids = open_calls_in_simulator(sim, get_db(), 5)
    assert sim.state.wait_idle(10)
    assert set(_statuses(app, ids).values()) == {"in-progress"}

    worker = workers(worker_env(database_url, queue_url, sim.base_url))
    assert _wait(lambda: set(_statuses(app, ids).values()) <= FINAL, 20), worker.lines()[-20:]
    truth = {c["sid"]: c["status"] for c in sim.state.calls.values()}
    with app.app_context(), get_db().transaction(write=False) as session:
        assert {c.sid: c.status for c in session.scalars(select(Call))} == truth
    assert sorted(_events(app)) == sorted(ids)

    health = app.test_client().get("/healthz").get_json()
    assert health["worker"]["seen"] is True and health["worker"]["last_seen"]


def _runs(worker) -> list[tuple[float, float]]:
    """(start, end) of each reconciliation run in a worker's log."""
    runs, started = [], None
    for line in worker.lines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        moment = datetime.fromisoformat(entry["time"]).timestamp()
        if entry.get("event") == "reconcile_started":
            started = moment
        elif entry.get("event") == "reconcile_finished" and started is not None:
            runs.append((started, moment))
            started = None
    return runs


def test_two_workers_reconcile_once_an_interval_between_them(queue_app, sim, workers):
    """Each worker's scheduler enqueues the periodic reconciliation (here every second, for an interval of 20 s
    standing in for RECONCILE_EVERY_MINUTES' minute): the interval's claim lets one run through per interval
    across both."""
    app, kind, database_url, queue_url = queue_app
    with app.app_context():
        open_calls_in_simulator(sim, get_db(), 3)
    env = worker_env(database_url, queue_url, sim.base_url)
    every = ("--reconcile-seconds", str(INTERVAL))
    first, second = workers(env, *every), workers(env, *every)
    assert _wait(lambda: len(_runs(first)) + len(_runs(second)) >= 1, 30), first.lines()[-20:]
    time.sleep(INTERVAL * 1.1)  # past the next interval's claim (its time to live: 0.9 of the interval)
    first.stop(), second.stop()
    runs = sorted(_runs(first) + _runs(second))
    assert len(runs) == 2, runs  # the first interval's and the next one's, whichever worker ran them
    (_, first_end), (second_start, _) = runs
    assert second_start - runs[0][0] >= INTERVAL * 50 / 60, runs  # an interval apart, less the claim's margin
    assert second_start >= first_end  # never two at once
    skipped = [line for w in (first, second) for line in w.lines() if '"reason": "interval"' in line]
    assert skipped, "the workers never met at the interval's claim"


def test_a_worker_killed_mid_run_leaves_nothing_undone(queue_app, sim, workers):
    app, kind, database_url, queue_url = queue_app
    with app.app_context():
        ids = open_calls_in_simulator(sim, get_db(), 400)
    assert sim.state.wait_idle(15)

    def settled() -> int:
        return sum(status in FINAL for status in _statuses(app, ids).values())

    env = worker_env(database_url, queue_url, sim.base_url)
    interval = ("--reconcile-seconds", "10")  # not a minute: the heir waits for the victim's claim to end
    victim = workers(env, "--lock-seconds", "3", *interval)
    assert _wait(lambda: settled() > 0, 30), victim.lines()[-20:]
    victim.stop(signal.SIGKILL)
    left = len(ids) - settled()
    assert left > 0, "the run finished before the kill: nothing to redo"

    # The killed worker's lock and its claim of the interval expire (the claim with its interval); the next
    # interval's run settles what was left, each call once (in one run: long enough for the rest).
    heir = workers(env, "--lock-seconds", "60", *interval)
    assert _wait(lambda: settled() == len(ids), 90), heir.lines()[-20:]
    events = _events(app)
    assert sorted(events) == sorted(ids)
    with app.app_context(), get_db().transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Call).where(Call.status.not_in(FINAL))) == 0
