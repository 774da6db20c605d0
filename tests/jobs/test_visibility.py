"""The worker is visible: /healthz says whether one was seen in the last minute, and pages say when none was."""

from __future__ import annotations

from datetime import timedelta

from tests.support.signin import sign_in
from webapp.db import utcnow
from webapp.jobs.heartbeat import Heartbeat
from webapp.jobs.tables import WorkerHeartbeat

BANNER = "Background work is stopped"


def test_no_worker_is_reported_without_failing_health(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["worker"] == {"seen": False, "last_seen": None}


def test_a_heartbeat_shows_in_healthz_and_hides_the_banner(client, db, user):
    sign_in(client)
    assert BANNER in client.get("/calls").get_data(as_text=True)

    heartbeat = Heartbeat(db, periodic=True)
    heartbeat.beat()
    worker = client.get("/healthz").get_json()["worker"]
    assert worker["seen"] is True and worker["last_seen"].startswith(str(utcnow().date()))
    assert BANNER not in client.get("/calls").get_data(as_text=True)

    # A minute without a beat (a killed worker): not seen, the banner is back, health still 200.
    with db.transaction() as session:
        session.query(WorkerHeartbeat).update({"last_seen": utcnow() - timedelta(seconds=61)})
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["worker"]["seen"] is False
    assert BANNER in client.get("/calls").get_data(as_text=True)

    # A worker that stops cleanly removes its row.
    heartbeat.stop()
    assert client.get("/healthz").get_json()["worker"]["last_seen"] is None
