"""Real concurrency over HTTP: identical deliveries, answered racing terminal, SQLite writers."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.hardening.support import new_call
from tests.support.calls import callback_path
from webapp.calls.status import FINAL
from webapp.db import get_db
from webapp.models import Call, CallEvent

TERMINAL = {
    "EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30", "EndTime": "2026-11-27 14:01:29",
    "ConversationDuration": "84", "RecordingUrl": "https://recordings.example/x.mp3",
    "Legs[0][Status]": "completed", "Legs[0][OnCallDuration]": "84", "Legs[0][AnsweredBy]": "human",
}
ANSWERED = {"EventType": "answered", "Status": "in-progress", "DateUpdated": "2026-11-27 14:00:05"}


def _multipart(fields: dict) -> dict:
    return {"files": {key: (None, value) for key, value in fields.items()}}


def _rows(app, call_id):
    with app.app_context(), get_db().transaction(write=False) as session:
        call = session.get(Call, call_id)
        events = session.scalars(select(CallEvent).where(CallEvent.call_id == call_id)).all()
        return call, events


def test_fifty_concurrent_identical_deliveries_store_one_row(live_app):
    app, live = live_app
    call = new_call(app)
    url = live.url + callback_path(call.id)
    start = threading.Barrier(50)

    def deliver(_):
        with requests.Session() as session:
            start.wait(10)
            response = session.post(url, timeout=30, **_multipart({"CallSid": call.sid, **TERMINAL}))
            return response.status_code, response.json()["result"]

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(deliver, range(50)))
    assert [status for status, _ in answers] == [200] * 50
    assert sorted(result for _, result in answers) == ["duplicate"] * 49 + ["stored"]
    row, events = _rows(app, call.id)
    assert len(events) == 1 and row.status == "completed" and row.conversation_duration == 84


def test_answered_racing_terminal_always_ends_final(live_app):
    """200 calls, each with its answered and terminal callbacks released at the same instant."""
    app, live = live_app
    calls = [new_call(app) for _ in range(200)]
    statuses: list[int] = []

    def deliver(session, barrier, call, fields):
        barrier.wait(10)
        response = session.post(live.url + callback_path(call.id), timeout=30, data={"CallSid": call.sid, **fields})
        statuses.append(response.status_code)

    sessions = [requests.Session() for _ in range(20)]
    for batch in range(0, len(calls), 10):
        threads = []
        for offset, call in enumerate(calls[batch:batch + 10]):
            barrier = threading.Barrier(2)
            for index, fields in enumerate((ANSWERED, TERMINAL)):
                session = sessions[offset * 2 + index]
                threads.append(threading.Thread(target=deliver, args=(session, barrier, call, fields)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    for session in sessions:
        session.close()
    assert statuses == [200] * 400
    with app.app_context(), get_db().transaction(write=False) as session:
        rows = session.execute(select(Call.status, Call.answered_at, Call.ended_at).where(Call.id.in_([c.id for c in calls]))).all()
        events = session.scalar(select(func.count()).select_from(CallEvent))
    assert len(rows) == 200 and events == 400
    assert all(status == "completed" for status, _, _ in rows)
    assert all(answered is not None and ended is not None for _, answered, ended in rows)


# An outside writer that takes SQLite's write lock again and again, holding it a while each time.
HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("UPDATE calls SET updated_at = updated_at WHERE id = 'none'")
    time.sleep(0.05)
    connection.execute("COMMIT")
    time.sleep(0.005)
"""


@pytest.mark.processes
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL's row locks are raced above
def test_sqlite_concurrent_writers_never_answer_locked(request, database_url):
    """Callbacks from 16 threads while another process keeps taking the write lock: all 2xx, none locked."""
    app, live = request.getfixturevalue("live_app")
    calls = [new_call(app) for _ in range(120)]
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, make_url(database_url).database, "4"])
    try:
        def deliver(call):
            with requests.Session() as session:
                answers = [session.post(live.url + callback_path(call.id), data={"CallSid": call.sid, **fields}, timeout=30)
                           for fields in (ANSWERED, TERMINAL)]
                return [(answer.status_code, answer.text) for answer in answers]

        with ThreadPoolExecutor(16) as pool:
            answers = [answer for pair in pool.map(deliver, calls) for answer in pair]
    finally:
        holder.wait(30)
    assert [status for status, _ in answers] == [200] * 240, [a for a in answers if a[0] != 200][:3]
    with app.app_context(), get_db().transaction(write=False) as session:
        final = session.scalar(select(func.count()).select_from(Call).where(Call.status.in_(FINAL)))
    assert final == 120
