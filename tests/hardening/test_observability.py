"""Observability: one JSON log line per placed call and per callback, /healthz, /metrics."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.support import new_call
from tests.support.calls import callback_path
from tests.support.credentials import SECRET_KEY
from webapp.accounts import create_token
from webapp.calls.signing import callback_token
from webapp.config.tuning import with_settings
from webapp.db import get_db
from webapp.observability.logs import JsonFormatter


def _lines(caplog, event):
    return [json.loads(JsonFormatter().format(r)) for r in caplog.records if getattr(r, "event", None) == event]


def test_one_log_line_per_placed_call_and_per_callback(app, client, caplog, sim):
    with app.app_context():
        token = create_token(get_db(), "logs")
    response = client.post("/api/calls", json={"from": "+919876543210", "app_id": "1"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    call = response.get_json()
    (placed,) = _lines(caplog, "call_placed")
    assert placed["call_id"] == call["id"] and placed["sid"] == call["sid"]
    assert placed["outcome"] == call["status"] and placed["latency_ms"] >= 0

    caplog.clear()
    path = callback_path(call["id"])
    fields = {"CallSid": call["sid"], "EventType": "terminal", "Status": "busy", "DateUpdated": "2026-11-27 14:00:20"}
    client.post(path, data=fields)
    client.post(path, data=fields)
    client.post(f"/webhooks/exotel/{call['id']}/not-the-token", data=fields)
    lines = _lines(caplog, "callback")
    assert [line["outcome"] for line in lines] == ["stored", "duplicate", "forbidden"]
    for line in lines:
        assert line["call_id"] == call["id"] and line["latency_ms"] >= 0
        assert callback_token(SECRET_KEY, call["id"]) not in json.dumps(line)  # the URL's secret is never logged
    assert lines[0]["sid"] == call["sid"] and lines[0]["event_type"] == "terminal"


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def _metric(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_count_placed_calls_and_callbacks(app, client, sim):
    before = client.get("/metrics").get_data(as_text=True)
    call = new_call(app)
    client.post(callback_path(call.id), data={"CallSid": call.sid, "Status": "busy", "DateUpdated": "2026-11-27 14:00:20"})
    client.post(callback_path(call.id), data={"CallSid": call.sid, "Status": "busy", "DateUpdated": "2026-11-27 14:00:20"})
    client.post(callback_path(call.id) + "x", data={})
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)
    for result, delta in (("stored", 1), ("duplicate", 1), ("forbidden", 1)):
        series = f'exotel_callbacks_total{{result="{result}"}}'
        assert _metric(after, series) - _metric(before, series) == delta
    assert _metric(after, "exotel_callback_handling_seconds_count") - _metric(before, "exotel_callback_handling_seconds_count") == 3
    assert "exotel_callback_handling_seconds_bucket" in after
    assert "# TYPE exotel_calls_placed_total counter" in after


def test_metrics_are_not_public(app, client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 404
    # Through a proxy on the same host: loopback, but forwarded for someone else.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 404
    with_settings(app, metrics_token="metrics-secret-0123456789")
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    assert client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer wrong"}).status_code == 404
    ok = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer metrics-secret-0123456789"})
    assert ok.status_code == 200


ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys
from pathlib import Path

from tests.support.credentials import SECRET_KEY
from webapp import create_app
from tests.hardening.support import new_call
from tests.support.calls import callback_path
app = create_app({"TESTING": True, "DATABASE_URL": sys.argv[1], "SECRET_KEY": SECRET_KEY})
call = new_call(app)
fields = {"CallSid": call.sid, "Status": "busy", "DateUpdated": "2026-11-27 14:00:20"}
assert app.test_client().post(callback_path(call.id), data=fields).status_code == 200
if sys.argv[2] == "scrape":
    print(app.test_client().get("/metrics").get_data(as_text=True))
"""


@pytest.mark.processes
def test_metrics_add_up_across_worker_processes(sqlite_template, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR set, as under gunicorn: any worker's /metrics shows every worker's counts."""
    shutil.copy(sqlite_template, tmp_path / "calls.db")
    (tmp_path / "metrics").mkdir()  # its own directory: the collector reads every *.db file in it
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    for mode in ("post", "scrape"):
        text = subprocess.run([sys.executable, "-c", WORKER, f"sqlite:///{tmp_path / 'calls.db'}", mode], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=True).stdout
    assert _metric(text, 'exotel_callbacks_total{result="stored"}') == 2
