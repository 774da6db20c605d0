"""Stuck calls on the pages: a call past its expected end says it waits for Exotel's final status (in the
viewer's zone) instead of "Calling"; "Ask Exotel now" asks once, audited and throttled, for the roles that place
calls; "Call again" waits for the final status, on the page and on the server."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.support.calls import add_call
from tests.support.signin import csrf_token, sign_in
from tests.support.teams import ROLE_EMAILS, ROLE_PASSWORDS, audit_rows, call_count
from webapp.accounts import create_user
from webapp.config.tuning import with_clock
from webapp.db import get_db
from webapp.models import Call, CallEvent

FLOW = "http://my.exotel.com/testaccount/exoml/start_voice/4242"
WAITING = "Waiting for Exotel's final status since"


def _start() -> datetime:
    """A whole minute a little in the past (sessions and the budget live in real time around the test's clock)."""
    return (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)


def _at(app, moment: datetime) -> None:
    with_clock(app, lambda: moment)


def _hhmm(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M} {local.tzname()}"


def _sim_call(sim, number: str = "09876543210") -> str:
    """A call at the simulator whose callbacks go nowhere (as when they are lost); its Sid."""
    return sim.state.place_call(from_number=number, caller_id="08047112345", flow_url=FLOW).sid


def _open_call(app, t0: datetime, **values) -> Call:
    values.setdefault("sid", f"sid-{uuid.uuid4().hex[:12]}")
    return add_call(app, id=str(uuid.uuid4()), status="in-progress", placed_at=t0, created_at=t0, time_out=30, **values)


def _badge(page: str) -> str:
    return re.search(r'<p class="status-line"><span class="badge[^"]*" data-status="[^"]*" data-shown="[^"]*">([^<]+)<',
                     page).group(1)


def test_a_call_past_its_ring_timeout_says_it_waits_for_exotel(app, signed_in):
    t0 = _start()
    call = _open_call(app, t0)
    _at(app, t0 + timedelta(seconds=20))
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert _badge(page) == "Calling" and WAITING not in page
    before = signed_in.get(f"/calls/{call.id}/status.json").get_json()
    assert before["label"] == "Calling"

    # Placed at t0 with a 30 s ring timeout, plus a minute's grace: waiting since t0 + 1:30, in the viewer's zone.
    _at(app, t0 + timedelta(minutes=2))
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert _badge(page) == "Waiting for final status"
    assert f"{WAITING} {_hhmm(t0 + timedelta(seconds=90), 'Asia/Kolkata')}." in page
    assert "Calling" not in page
    after = signed_in.get(f"/calls/{call.id}/status.json", query_string={"version": before["version"]}).get_json()
    assert after["label"] == "Waiting for final status" and after["final"] is False
    assert after["version"] != before["version"] and WAITING in after["html"]  # the live page redraws itself
    row = signed_in.get("/calls").get_data(as_text=True)
    assert f"since {_hhmm(t0 + timedelta(seconds=90), 'Asia/Kolkata')}" in row and "Waiting for final status" in row

    signed_in.set_cookie("tz", "America/New_York")
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f"{WAITING} {_hhmm(t0 + timedelta(seconds=90), 'America/New_York')}." in page


def test_an_answered_call_waits_for_its_time_limit(app, signed_in):
    t0 = _start()
    call = _open_call(app, t0, answered_at=t0 + timedelta(seconds=5), time_limit=600)
    _at(app, t0 + timedelta(minutes=5))
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert _badge(page) == "In progress" and WAITING not in page
    _at(app, t0 + timedelta(minutes=12))
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert _badge(page) == "Waiting for final status"
    assert f"{WAITING} {_hhmm(t0 + timedelta(seconds=665), 'Asia/Kolkata')}." in page and "time limit ran out" in page


def _ask_form(client, call_id: str) -> dict | None:
    page = client.get(f"/calls/{call_id}").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/calls/{call_id}/check".*?</form>', page, re.S)
    return {"csrf_token": csrf_token(form.group(0))} if form else None


def test_ask_exotel_now_settles_a_call_whose_callbacks_were_lost(app, signed_in, sim):
    sid = _sim_call(sim)
    assert sim.state.wait_idle(10)
    t0 = _start()
    call = _open_call(app, t0, sid=sid)
    _at(app, t0 + timedelta(minutes=3))
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'action="/calls/' + call.id + '/again"' not in page  # not final: not offered again
    form = _ask_form(signed_in, call.id)
    assert form is not None

    response = signed_in.post(f"/calls/{call.id}/check", data=form)
    assert response.status_code == 303 and response.headers["Location"] == f"/calls/{call.id}"
    assert sim.state.detail_requests == [(sid,)]  # one request to Exotel
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Exotel says this call has ended: Completed." in page and _badge(page) == "Completed"
    assert f'action="/calls/{call.id}/again"' in page and _ask_form(signed_in, call.id) is None
    with app.app_context(), get_db().transaction(write=False) as session:
        assert session.get(Call, call.id).status == sim.state.calls[sid]["status"] == "completed"
        assert [e.event_type for e in session.scalars(select(CallEvent))] == ["reconcile"]
    (row,) = audit_rows(app, "call.check")
    assert (row.actor, row.target) == ("user:ops@example.com", call.id)

    # A final call has nothing to ask: refused, nothing sent.
    again = signed_in.post(f"/calls/{call.id}/check", data=form)
    assert again.status_code == 409 and len(sim.state.detail_requests) == 1


def test_ask_exotel_now_is_throttled_per_call(app, signed_in, sim):
    sim.state.configure(speed=1.0)  # the call is still ringing at Exotel while we ask
    sid = _sim_call(sim)
    t0 = datetime.now(UTC).replace(microsecond=0)
    call = _open_call(app, t0, sid=sid)
    _at(app, t0)
    form = _ask_form(signed_in, call.id)
    first = signed_in.post(f"/calls/{call.id}/check", data=form)
    assert first.status_code == 303
    assert "Exotel says this call has not ended yet" in signed_in.get(first.headers["Location"]).get_data(as_text=True)

    # A double click, or a script: refused before anything leaves.
    _at(app, t0 + timedelta(seconds=10))
    second = signed_in.post(f"/calls/{call.id}/check", data=form)
    assert second.status_code == 429 and second.headers["Retry-After"] == "20"
    assert "Ask again in 20 seconds" in second.get_data(as_text=True)
    scripted = signed_in.post(f"/calls/{call.id}/check", data=form, headers={"Accept": "application/json"})
    assert scripted.status_code == 429 and scripted.get_json()["error"]["code"] == "throttled"
    assert sim.state.detail_requests == [(sid,)]

    _at(app, t0 + timedelta(seconds=31))
    assert signed_in.post(f"/calls/{call.id}/check", data=form).status_code == 303
    assert sim.state.detail_requests == [(sid,), (sid,)]
    assert len(audit_rows(app, "call.check")) == 2


def test_only_roles_that_place_calls_may_ask_and_only_with_csrf(app, signed_in, sim):
    t0 = _start()
    call = _open_call(app, t0)
    assert signed_in.post(f"/calls/{call.id}/check", data={}).status_code == 400  # no CSRF token
    with app.app_context():
        create_user(get_db(), ROLE_EMAILS["viewer"], ROLE_PASSWORDS["viewer"], role="viewer")
    viewer = app.test_client()
    assert sign_in(viewer, ROLE_EMAILS["viewer"], ROLE_PASSWORDS["viewer"]).status_code == 302
    assert _ask_form(viewer, call.id) is None
    token = csrf_token(viewer.get("/settings").get_data(as_text=True))
    assert viewer.post(f"/calls/{call.id}/check", data={"csrf_token": token}).status_code == 403
    assert sim.state.detail_requests == [] and audit_rows(app, "call.check") == []


def test_call_again_is_refused_on_the_server_until_the_call_is_final(app, signed_in, sim):
    t0 = _start()
    call = _open_call(app, t0)
    token = csrf_token(signed_in.get(f"/calls/{call.id}").get_data(as_text=True))
    _at(app, t0 + timedelta(seconds=10))
    response = signed_in.post(f"/calls/{call.id}/again", data={"csrf_token": token, "nonce": "n-1"})
    assert response.status_code == 303 and response.headers["Location"] == f"/calls/{call.id}"
    assert "until it has its final status: it has not ended yet" in signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    _at(app, t0 + timedelta(minutes=4))
    signed_in.post(f"/calls/{call.id}/again", data={"csrf_token": token, "nonce": "n-2"})
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "it should have ended by now, but Exotel has not sent its final status yet" in page
    assert call_count(app) == 1 and sim.state.connect_requests == 0


def test_ask_exotel_now_finds_a_call_whose_placing_answer_was_lost(app, signed_in, sim):
    """A call without a Sid (Exotel's answer to the connect request was lost) is looked for as adoption does."""
    sid = _sim_call(sim)
    assert sim.state.wait_idle(10)
    call = add_call(app, id=str(uuid.uuid4()), status="unknown", created_at=datetime.now(UTC), placed_at=None)
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Call again" not in page and "Ask Exotel now" in page
    response = signed_in.post(f"/calls/{call.id}/check", data=_ask_form(signed_in, call.id))
    assert response.status_code == 303
    assert "Exotel says this call has ended: Completed." in signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert len(sim.state.detail_requests) == 1  # one listing by From number and time
    with app.app_context(), get_db().transaction(write=False) as session:
        assert (session.get(Call, call.id).sid, session.get(Call, call.id).status) == (sid, "completed")
