"""A worker whose host clock is 2 minutes behind (Debian's libfaketime) still works on the shared clock, the
database's: it heartbeats as alive, reconciles with the right cutoff, and its claims carry the true time, so a
second worker with a right clock claims nothing twice beside it."""

from __future__ import annotations

import glob
import json
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.campaigns import us_number
from tests.support.waiting import wait_for
from tests.support.workers import CALLER_ID, number, worker_env
from webapp.calls.status import FINAL
from webapp.db import get_db, utcnow
from webapp.models import Call

pytestmark = pytest.mark.processes

SKEW = timedelta(minutes=-2)
FLOW = "http://my.exotel.com/x/exoml/start_voice/1"


def _faketime_library() -> str:
    """libfaketime, installed from Debian's packages when missing (as the Makefile gets its tools)."""
    found = glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
    if not found:
        subprocess.run([str(Path(__file__).parents[2] / "scripts" / "ensure-command"), "faketime", "faketime"],
                       check=True)
        found = glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1")
    assert found, "libfaketime is missing"
    return found[0]


def _skewed(env: dict[str, str]) -> dict[str, str]:
    return {**env, "LD_PRELOAD": _faketime_library(), "FAKETIME": f"{int(SKEW.total_seconds())}s",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def _open_call(app, sim, index: int, age: timedelta) -> str:
    """A call Exotel has finished but whose callbacks never came, created `age` ago (true time). Answered, with an
    hour's TimeLimit, so it is not past its expected end: the early checks leave it to the sweep's age cutoff."""
    simulated = sim.state.place_call(from_number="0" + number(index)[3:], caller_id=CALLER_ID, flow_url=FLOW)
    with app.app_context(), get_db().transaction() as session:
        call = Call(id=str(uuid.uuid4()), sid=simulated.sid, from_number=number(index), caller_id=CALLER_ID,
                    flow_url=FLOW, status="in-progress", created_at=utcnow() - age, placed_at=utcnow() - age,
                    answered_at=utcnow() - age + timedelta(seconds=5), time_limit=3600)
        session.add(call)
    return call.id


def _status(app, call_id: str) -> str:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.get(Call, call_id).status


def _log_times(worker) -> list[datetime]:
    """The host clock's time of each JSON log line the worker wrote."""
    return [datetime.fromisoformat(json.loads(line)["time"]) for line in worker.lines() if line.startswith("{")]


@pytest.mark.parametrize("queue", ["postgresql", "redis"], indirect=True)
def test_a_worker_two_minutes_behind_works_on_the_databases_clock(queue, sim, workers, site):
    _kind, database_url, queue_url = queue
    app = site.app
    older = _open_call(app, sim, 1, timedelta(minutes=16))  # past the 15 minutes' cutoff
    younger = _open_call(app, sim, 2, timedelta(minutes=14))  # not yet: its callbacks may still come
    assert sim.state.wait_idle(10)
    env = worker_env(database_url, queue_url, sim.base_url, PUBLIC_BASE_URL=site.url,
                     RECONCILE_OLDER_THAN_MINUTES="15", CAMPAIGN_LOST_AFTER_MINUTES="1")
    behind = workers(_skewed(env))

    # Its heartbeat is alive to a web server on the right clock.
    client = app.test_client()
    health = wait_for(lambda: (h := client.get("/healthz").get_json())["worker"]["seen"] and h, timeout=30,
                      what="the skewed worker seen alive")
    [listed] = health["workers"]
    assert listed["alive"] is True
    assert abs(datetime.fromisoformat(listed["last_seen"]) - utcnow()) < timedelta(seconds=30)
    # ... though its host's clock is indeed 2 minutes behind (what it stamps its own log lines with), as it said.
    assert behind.wait_for('"event": "clock_offset"', 5), behind.lines()[-20:]
    assert behind.wait_for('"event": "reconcile_finished"', 30), behind.lines()[-20:]
    assert all(abs(at - datetime.now(UTC) - SKEW) < timedelta(seconds=30) for at in _log_times(behind)[-3:])

    # It reconciled with the true cutoff: the 16-minute-old call, not the 14-minute-old one.
    assert _status(app, older) in FINAL
    assert _status(app, younger) == "in-progress"

    # A second worker on the right clock joins; a campaign is dialled by both: each contact once, every
    # attempt stamped with the true time (a claim 2 minutes old would be a lost one to the other worker).
    workers(env)
    numbers = [us_number(index) for index in range(1, 41)]
    started = utcnow()
    campaign_id = site.create(numbers, calls_per_minute=600)["id"]
    wait_for(lambda: site.campaign(campaign_id)["status"] == "completed", timeout=90, what="the campaign completed")
    finished = utcnow()
    sim.state.wait_idle()
    calls = site.calls(campaign_id)
    assert len(calls) == len(numbers) and {c.status for c in calls} == {"completed"}
    at_exotel = Counter(call["from"] for call in sim.state.calls.values())
    assert len({c.from_number for c in calls}) == len(numbers)
    assert all(at_exotel[c.from_number] == 1 for c in calls)
    slack = timedelta(seconds=5)
    assert all(started - slack <= c.created_at <= finished + slack for c in calls), [c.created_at for c in calls]
    with app.app_context(), get_db().transaction(write=False) as session:
        assert session.scalar(select(Call.id).where(Call.campaign_id == campaign_id, Call.status == "unknown")) is None
