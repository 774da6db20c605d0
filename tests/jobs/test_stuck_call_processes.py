"""Stuck calls with real processes: workers ask Exotel early about calls past their expected end (each call once
in a minute, however many workers), and "Ask Exotel now" on the app served by gunicorn; callbacks dropped."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from functools import partial

import pytest
import requests
from sqlalchemy import select

from tests.support.apps import make_app
from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN
from tests.support.processes import gunicorn, stop
from tests.support.signin import EMAIL, PASSWORD, csrf_token
from tests.support.teams import audit_rows
from tests.support.waiting import wait_until
from tests.support.workers import CALLER_ID, number, worker_env
from webapp.accounts import create_user
from webapp.calls.status import FINAL
from webapp.db import get_db, utcnow
from webapp.models import Call

pytestmark = pytest.mark.processes

FLOW = "http://my.exotel.com/x/exoml/start_voice/1"


_wait = partial(wait_until, interval=0.2)  # each poll reads the database: five a second is plenty


def _add_calls(app, sim, ages: dict[str, timedelta], *, unlisted: tuple[str, ...] = ()) -> dict[str, str]:
    """One in-progress call per name, placed `ages[name]` ago with a 30 s ring timeout, whose callbacks were lost
    (placed at the simulator without a callback URL); `unlisted` ones carry a Sid Exotel does not know."""
    ids = {}
    with app.app_context(), get_db().transaction() as session:
        for index, (name, age) in enumerate(ages.items()):
            sid = f"unlisted-{uuid.uuid4().hex[:10]}" if name in unlisted else sim.state.place_call(
                from_number="0" + number(index)[3:], caller_id=CALLER_ID, flow_url=FLOW).sid
            call = Call(id=str(uuid.uuid4()), sid=sid, from_number=number(index), caller_id=CALLER_ID, flow_url=FLOW,
                        status="in-progress", time_out=30, created_at=utcnow() - age, placed_at=utcnow() - age)
            session.add(call)
            ids[name] = call.id
    assert sim.state.wait_idle(10)
    return ids


def _rows(app, ids) -> dict[str, Call]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return {call.id: call for call in session.scalars(select(Call).where(Call.id.in_(list(ids))))}


def test_workers_ask_exotel_early_about_overdue_calls_once_each(queue, sim, workers):
    kind, database_url, queue_url = queue
    app = make_app(database_url, sim.base_url, **({"QUEUE_URL": queue_url} if queue_url else {}))
    try:
        late = {f"late-{index}": timedelta(minutes=4) for index in range(4)}
        ids = _add_calls(app, sim, {**late, "lost": timedelta(minutes=4), "ringing": timedelta(seconds=5)},
                         unlisted=("lost",))
        sids = {call.id: call.sid for call in _rows(app, ids.values()).values()}
        # The 15-minute sweep is off: only the early checks can settle these calls.
        env = worker_env(database_url, queue_url, sim.base_url, RECONCILE_EVERY_MINUTES="0")
        first, second = workers(env), workers(env)
        late_ids = [ids[name] for name in late]
        assert _wait(lambda: all(c.status in FINAL for c in _rows(app, late_ids).values())
                     and _rows(app, [ids["lost"]])[ids["lost"]].checks == 1, 30), first.lines()[-20:]
        time.sleep(3)  # three more scheduler ticks in each worker: nobody asks again this minute

        truth = {c["sid"]: c["status"] for c in sim.state.calls.values()}
        rows = _rows(app, ids.values())
        assert {rows[call_id].status for call_id in late_ids} == {truth[sids[call_id]] for call_id in late_ids}
        asked = [sid for request in sim.state.detail_requests for sid in request]
        assert sorted(asked) == sorted(sids[ids[name]] for name in (*late, "lost"))  # each once, by one worker
        assert rows[ids["lost"]].status == "in-progress" and rows[ids["lost"]].checks == 1
        assert rows[ids["ringing"]].status == "in-progress" and rows[ids["ringing"]].checks is None  # not due yet
        assert any("early_checks" in line for w in (first, second) for line in w.lines())
    finally:
        app.extensions["database"].engine.dispose()


def test_ask_exotel_now_on_the_served_app(database_url, sim, tmp_path):
    sim.state.configure(drop_callbacks=1.0)
    app = make_app(database_url, sim.base_url)
    try:
        ids = _add_calls(app, sim, {"late": timedelta(minutes=3)})
        with app.app_context():
            create_user(get_db(), EMAIL, PASSWORD, role="operator")
        env = {"EXOTEL_ACCOUNT_SID": ACCOUNT_SID, "EXOTEL_API_KEY": API_KEY, "EXOTEL_API_TOKEN": API_TOKEN,
               "EXOTEL_API_BASE": sim.base_url, "EXOTEL_CALLER_ID": CALLER_ID}
        process, url = gunicorn(database_url, tmp_path / "gunicorn.log", extra_env=env)
        try:
            browser = requests.Session()
            token = csrf_token(browser.get(f"{url}/login", timeout=10).text)
            signed = browser.post(f"{url}/login", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD},
                                  timeout=10, allow_redirects=False)
            assert signed.status_code == 302, signed.text
            call_id = ids["late"]
            page = browser.get(f"{url}/calls/{call_id}", timeout=10).text
            assert "Waiting for Exotel's final status since" in page
            form = re.search(rf'<form method="post" action="/calls/{call_id}/check".*?</form>', page, re.S).group(0)
            asked = browser.post(f"{url}/calls/{call_id}/check", data={"csrf_token": csrf_token(form)}, timeout=20)
            assert asked.status_code == 200 and "Exotel says this call has ended: Completed." in asked.text
            twice = browser.post(f"{url}/calls/{call_id}/check", data={"csrf_token": csrf_token(form)}, timeout=20)
            assert twice.status_code == 409  # final now: nothing more to ask
        finally:
            stop(process)
        sid = _rows(app, [call_id])[call_id].sid
        assert sim.state.detail_requests == [(sid,)]
        assert _rows(app, [call_id])[call_id].status == sim.state.calls[sid]["status"] == "completed"
        assert [row.target for row in audit_rows(app, "call.check")] == [call_id]
    finally:
        app.extensions["database"].engine.dispose()
