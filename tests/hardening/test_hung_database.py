"""A PostgreSQL that accepts TCP but stops answering: /healthz and callbacks are a 503 within 5 s, then recover."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.hardening.stalling import StallingProxy
from tests.hardening.support import new_call
from tests.support.apps import make_app
from tests.support.calls import callback_path

BOUND = 5.0  # the contract: /healthz and a callback answer within 5 s, either way
TERMINAL = {"EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30"}


@pytest.fixture
def hung(postgres_database, sim):
    """(app, proxy): an app whose PostgreSQL connections all pass through a proxy that can stall."""
    url = make_url(postgres_database)
    engine = create_engine(postgres_database)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE call_events, calls RESTART IDENTITY CASCADE"))
    engine.dispose()
    proxy = StallingProxy((url.host or "127.0.0.1", url.port or 5432))
    app = make_app(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), sim.base_url)
    yield app, proxy
    proxy.close()  # first: it wakes whatever still waits on a stalled socket
    app.extensions["database"].engine.dispose()


def _timed(app, method: str, path: str, **kwargs) -> dict:
    """Send one request in a thread; the result dict fills in when it is answered."""
    result: dict = {}

    def run():
        started = time.monotonic()
        response = app.test_client().open(path, method=method, **kwargs)
        result.update(status=response.status_code, seconds=time.monotonic() - started, body=response.get_json())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    result["thread"] = thread
    return result


def _answers(*pending: dict) -> list[tuple[int, float]]:
    for result in pending:
        result["thread"].join(BOUND + 5)
    return [(result.get("status"), round(result.get("seconds", float("inf")), 2)) for result in pending]


def test_a_hung_database_is_a_503_within_5_seconds_and_recovers_by_itself(hung):
    app, proxy = hung
    call = new_call(app)
    path = callback_path(call.id)
    engine = app.extensions["database"].engine
    # Two pooled connections, both just used: today's checkout trusts them without a ping.
    with engine.connect() as first, engine.connect() as second:
        first.exec_driver_sql("SELECT 1")
        second.exec_driver_sql("SELECT 1")

    proxy.stall()
    # Each request on a pooled connection whose server went silent mid-conversation.
    healthz = _timed(app, "GET", "/healthz")
    callback = _timed(app, "POST", path, data={"CallSid": call.sid, **TERMINAL})
    answers = _answers(healthz, callback)
    assert [status for status, _ in answers] == [503, 503], answers
    assert all(seconds < BOUND for _, seconds in answers), answers
    assert healthz["body"] == {"status": "unavailable", "database": "unreachable", "worker": {"seen": False, "last_seen": None},
                                                                        "workers": []}
    assert callback["body"]["error"]["code"] == "database_unavailable"

    # Still hung: new connections (the pool dropped the silent ones) and, later, idle ones.
    for pause in (0.0, 1.5):
        time.sleep(pause)
        answers = _answers(_timed(app, "GET", "/healthz"), _timed(app, "POST", path, data={"CallSid": call.sid, **TERMINAL}))
        assert [status for status, _ in answers] == [503, 503], answers
        assert all(seconds < BOUND for _, seconds in answers), answers

    proxy.resume()
    # No restart: the next requests find the database again.
    assert app.test_client().get("/healthz").get_json() == {"status": "ok", "database": "ok", "worker": {"seen": False, "last_seen": None},
                                                                        "workers": []}
    response = app.test_client().post(path, data={"CallSid": call.sid, **TERMINAL})
    assert response.status_code == 200
    # A write the server received before it went silent may have been applied: then this is its duplicate.
    assert response.get_json()["result"] in ("stored", "duplicate")
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM call_events WHERE call_id = :id"), {"id": call.id}).scalar()
        status = connection.execute(text("SELECT status FROM calls WHERE id = :id"), {"id": call.id}).scalar()
    assert (stored, status) == (1, "completed")
