"""The workers are visible: /healthz says whether one was seen in the last minute and lists each worker
process seen in the last hour; the home page's Worker tile lists them, says when none is alive and when one
host's workers stopped while others run; pages carry a banner when none is alive."""

from __future__ import annotations

import re
import socket
from datetime import timedelta

from tests.support.signin import sign_in
from webapp.db import utcnow
from webapp.jobs.heartbeat import Heartbeat
from webapp.jobs.tables import WorkerHeartbeat

BANNER = "Background work is stopped"


def _row(db, host: str, pid: int, *, ago: timedelta, stopped: bool = False) -> None:
    seen = utcnow() - ago
    with db.transaction() as session:
        session.add(WorkerHeartbeat(worker_id=f"{host}:{pid}:1", host=host, pid=pid, periodic=True,
                                    started_at=seen - timedelta(hours=1), last_seen=seen,
                                    stopped_at=seen if stopped else None))


def _tile(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return html[html.index('id="h-worker"'):html.index('class="card failures"')]


def test_no_worker_is_reported_without_failing_health(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["worker"] == {"seen": False, "last_seen": None} and body["workers"] == []


def test_a_heartbeat_shows_in_healthz_and_hides_the_banner(client, db, user):
    sign_in(client)
    assert BANNER in client.get("/calls").get_data(as_text=True)
    assert "No worker is running" in _tile(client)

    heartbeat = Heartbeat(db, periodic=True)
    heartbeat.beat()
    body = client.get("/healthz").get_json()
    assert body["worker"]["seen"] is True and body["worker"]["last_seen"].startswith(str(utcnow().date()))
    [listed] = body["workers"]
    assert listed["host"] == socket.gethostname() and listed["pid"] == heartbeat_pid(heartbeat)
    assert listed["alive"] is True and listed["last_seen"] == body["worker"]["last_seen"]
    assert BANNER not in client.get("/calls").get_data(as_text=True)
    tile = _tile(client)
    assert "Running" in tile and "No worker is running" not in tile
    assert f'data-worker-host="{socket.gethostname()}" data-worker-pid="{listed["pid"]}"' in tile

    # A minute without a beat (a killed worker): not seen, listed as not alive, the banner is back, health 200.
    with db.transaction() as session:
        session.query(WorkerHeartbeat).update({"last_seen": utcnow() - timedelta(seconds=61)})
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["worker"]["seen"] is False
    assert [w["alive"] for w in response.get_json()["workers"]] == [False]
    assert BANNER in client.get("/calls").get_data(as_text=True)
    assert "No worker is running" in _tile(client)

    # A clean stop shows at once: not alive, still listed with the time it stopped.
    heartbeat.beat()
    heartbeat.stop()
    body = client.get("/healthz").get_json()
    assert body["worker"]["seen"] is False and body["worker"]["last_seen"] is not None
    assert [w["alive"] for w in body["workers"]] == [False]
    assert BANNER in client.get("/calls").get_data(as_text=True)


def heartbeat_pid(heartbeat: Heartbeat) -> int:
    return int(heartbeat.worker_id.split(":")[1])


def test_each_worker_process_of_the_last_hour_is_listed_and_a_stopped_host_is_named(client, db, user):
    sign_in(client)
    _row(db, "app-1", 101, ago=timedelta(seconds=5))
    _row(db, "app-1", 102, ago=timedelta(seconds=20))
    _row(db, "app-2", 201, ago=timedelta(minutes=7), stopped=True)  # stopped cleanly
    _row(db, "app-3", 301, ago=timedelta(minutes=12))  # killed: stopped beating
    _row(db, "app-4", 401, ago=timedelta(hours=2))  # longer ago than an hour: not listed

    body = client.get("/healthz").get_json()
    assert body["worker"]["seen"] is True
    listed = {(w["host"], w["pid"]): w for w in body["workers"]}
    assert set(listed) == {("app-1", 101), ("app-1", 102), ("app-2", 201), ("app-3", 301)}
    assert {key: w["alive"] for key, w in listed.items()} == {
        ("app-1", 101): True, ("app-1", 102): True, ("app-2", 201): False, ("app-3", 301): False}
    assert all(set(w) == {"host", "pid", "last_seen", "alive"} for w in body["workers"])

    tile = _tile(client)
    assert "No worker is running" not in tile and BANNER not in client.get("/calls").get_data(as_text=True)
    stopped = re.findall(r"Worker on (\S+) stopped at <time", tile)
    assert stopped == ["app-2", "app-3"]
    for host, pid in listed:
        assert f'data-worker-host="{host}" data-worker-pid="{pid}"' in tile
    assert "app-4" not in tile

    # The last live host stops too: none is alive, the tile says so plainly (no per-host line needed).
    with db.transaction() as session:
        session.query(WorkerHeartbeat).filter(WorkerHeartbeat.host == "app-1").update(
            {"last_seen": utcnow() - timedelta(minutes=2)})
    tile = _tile(client)
    assert "No worker is running" in tile and "Worker on" not in tile
