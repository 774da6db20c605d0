"""Faults: the database going away mid-callback, Exotel misbehaving while calls are placed, oversized bodies."""

from __future__ import annotations

import json
import threading
import time

import requests
from sqlalchemy import create_engine, func, select, text

from tests.hardening.support import new_call
from tests.support.calls import callback_path
from webapp.accounts import create_token
from webapp.db import get_db
from webapp.models import Call, CallEvent

TERMINAL = {"EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30",
            "EndTime": "2026-11-27 14:01:29", "ConversationDuration": "84"}
ANSWERED = {"EventType": "answered", "Status": "in-progress", "DateUpdated": "2026-11-27 14:00:05"}


def _events(database_url: str, call_id: str) -> list[tuple]:
    """Read straight from the database, around the app (and its proxy)."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT event_type, status FROM call_events WHERE call_id = :id ORDER BY id"), {"id": call_id}
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_database_down_during_a_callback(outage, outage_app):
    """503 within 5 s and nothing written; after it returns, the redelivery is stored once."""
    client = outage_app.test_client()
    call = new_call(outage_app)
    path = callback_path(call.id)
    assert client.post(path, data={"CallSid": call.sid, **ANSWERED}).status_code == 200

    outage.down()
    try:
        for _ in range(3):  # a pooled connection that died, then new connections refused
            started = time.monotonic()
            response = client.post(path, data={"CallSid": call.sid, **TERMINAL}, content_type="multipart/form-data")
            assert time.monotonic() - started < 5
            assert response.status_code == 503
            assert response.get_json()["error"]["code"] == "database_unavailable"
            assert response.headers["Retry-After"]
        if outage.kind == "postgresql":  # (SQLite's readers are not blocked by a writer)
            started = time.monotonic()
            assert client.get("/healthz").status_code == 503
            assert time.monotonic() - started < 5
    finally:
        outage.up()
    assert _events(outage.real_url, call.id) == [("answered", "in-progress")]

    answers = [client.post(path, data={"CallSid": call.sid, **TERMINAL}).get_json()["result"] for _ in range(2)]
    assert answers == ["stored", "duplicate"]
    assert client.get("/healthz").status_code == 200
    assert _events(outage.real_url, call.id) == [("answered", "in-progress"), ("terminal", "completed")]
    with outage_app.app_context(), get_db().transaction(write=False) as session:
        assert session.get(Call, call.id).status == "completed"


def test_unreachable_database_host_is_a_503_within_5_seconds(outage, outage_app, database_url):
    """Connections that are accepted but never answered (a firewalled host): connect_timeout, not a hang."""
    if outage.proxy is None:
        return  # a file has no host; SQLite's lock wait is bounded by SQLITE_BUSY_TIMEOUT (above)
    call = new_call(outage_app)
    outage_app.extensions["database"].engine.dispose()  # no pooled connection: each must connect
    outage.proxy.blackhole = True
    started = time.monotonic()
    response = outage_app.test_client().post(callback_path(call.id), data={"CallSid": call.sid, **TERMINAL})
    assert response.status_code == 503
    assert time.monotonic() - started < 5
    outage.proxy.blackhole = False


GOOD = {"from": "+91 98765 43210", "app_id": "4242"}


def test_exotel_misbehaving_while_calls_are_placed(app, sim, db):
    """Slow, failing, rate limiting, garbage, resets, all while 10 calls are placed at once."""
    with app.app_context():
        token = create_token(get_db(), "faults")
    headers = {"Authorization": f"Bearer {token}"}
    sim.state.add_fault(mode="timeout", delay=3.0, place=True)  # slower than the 2 s read timeout
    sim.state.add_fault(mode="status", status=500, place=True)
    sim.state.add_fault(mode="status", status=503, place=False)
    sim.state.add_fault(mode="garbage", place=True)
    sim.state.add_fault(mode="reset", place=True)
    sim.state.add_fault(mode="ratelimit", retry_after=1, times=1)  # waited out: placed on the retry
    sim.state.add_fault(mode="status", status=400, place=False)

    answers = []

    def place(index):
        client = app.test_client()
        response = client.post("/api/calls", json={**GOOD, "custom_field": f"c{index}"}, headers=headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=place, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(answers) == 10
    expected = {201: {"queued", "ringing", "in-progress"}, 502: {"rejected", "unknown"}, 504: {"unknown"}}
    for status, body in answers:
        call = body if status == 201 else body["call"]
        assert call["status"] in expected[status], (status, body)
        if status != 201:
            message = body["error"]["message"]
            assert len(message) > 10 and "Traceback" not in message, message
    codes = sorted(status for status, _ in answers)
    assert codes.count(504) == 1 and codes.count(502) == 5 and codes.count(201) == 4, codes

    with db.transaction(write=False) as session:
        rows = session.scalars(select(Call)).all()
    assert len(rows) == 10
    sids = [row.sid for row in rows if row.sid]
    assert len(sids) == len(set(sids)) == 4
    assert {row.status for row in rows if not row.sid} <= {"unknown", "rejected"}
    assert all(row.error_message for row in rows if not row.sid)
    # Never re-sent: one connect request per call, plus the one retry after the 429.
    assert sim.state.connect_requests == 11
    # No duplicate calls at "Exotel": the 4 accepted plus the 4 faults that placed one anyway.
    assert len(sim.state.calls) == 8


def test_sizes(live_app, database_url):
    """Over 64 KiB: 413, in every encoding and chunked; over 200 parts: 413; nothing stored."""
    app, live = live_app
    call = new_call(app)
    url = live.url + callback_path(call.id)
    big = "x" * (64 * 1024 + 1)
    with requests.Session() as session:
        answers = [
            session.post(url, data={"CallSid": call.sid, "Status": "completed", "Pad": big}),
            session.post(url, files={"CallSid": (None, call.sid), "Pad": (None, big)}),
            session.post(url, data=json.dumps({"CallSid": call.sid, "Pad": big}), headers={"Content-Type": "application/json"}),
            session.post(url, data=(chunk for chunk in [b"CallSid=x&Pad="] + [b"x" * 8192] * 9),
                         headers={"Content-Type": "application/x-www-form-urlencoded"}),
            session.post(url, files=[(f"f{i}", (None, "1")) for i in range(201)]),
            session.post(url, data=[(f"f{i}", "1") for i in range(201)]),
        ]
        assert [answer.status_code for answer in answers] == [413] * 6, [a.text for a in answers]
        assert all(answer.json()["error"]["code"] == "body_too_large" for answer in answers)
        # Just under the limits is fine.
        ok = session.post(url, files=[("CallSid", (None, call.sid)), ("Status", (None, "busy"))]
                          + [(f"f{i}", (None, "1")) for i in range(150)])
        assert ok.status_code == 200
    with app.app_context(), get_db().transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(CallEvent)) == 1
