"""Call again: a new call to the same number with the same flow and options, for the roles that place calls."""

from __future__ import annotations

import re

from tests.support.calls import settle_calls
from tests.support.signin import csrf_token, sign_in
from tests.support.teams import ROLE_EMAILS, ROLE_PASSWORDS, audit_rows, call_count
from webapp.accounts import create_user
from webapp.db import get_db
from webapp.models import Call

COLUMNS = ("from_number", "caller_id", "flow_url", "call_type", "time_limit", "time_out", "custom_field")


def _call(app, call_id: str) -> Call:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.get(Call, call_id)


def _placed(app, client, sim) -> Call:
    """A call placed through the form by the signed-in admin, then settled by reconciliation (its callbacks cannot
    reach a test client): only a final call is placed again."""
    page = client.get("/calls/new").get_data(as_text=True)
    nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="nonce"', page)
    response = client.post("/calls/new", data={
        "csrf_token": csrf_token(page), "nonce": nonce.group(1) or nonce.group(2), "from_number": "+91 98765 43210",
        "caller_id": "08047112345", "flow": "123456", "call_type": "trans", "time_limit": "300", "time_out": "30",
        "custom_field": "order-42", "event_answered": "y", "event_terminal": "y",
    })
    assert response.status_code == 303
    settle_calls(app, sim)
    call = _call(app, response.headers["Location"].rsplit("/", 1)[1])
    assert call.status == "completed"
    return call


def _again_form(client, call_id: str) -> dict | None:
    """The Call again form's fields on the call's page, or None when the page offers none."""
    page = client.get(f"/calls/{call_id}").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/calls/{call_id}/again".*?</form>', page, re.S)
    if form is None:
        return None
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.group(0)).group(1)
    return {"csrf_token": csrf_token(form.group(0)), "nonce": nonce}


def test_call_again_places_a_new_call_like_the_first(app, signed_in, sim):
    first = _placed(app, signed_in, sim)
    before = {column: getattr(first, column) for column in (*COLUMNS, "sid", "status", "created_at")}
    form = _again_form(signed_in, first.id)
    assert form is not None
    response = signed_in.post(f"/calls/{first.id}/again", data=form)
    assert response.status_code == 303
    new_id = response.headers["Location"].rsplit("/", 1)[1]
    assert new_id != first.id
    again = _call(app, new_id)
    assert {column: getattr(again, column) for column in COLUMNS} == {column: before[column] for column in COLUMNS}
    assert again.sid and again.sid != first.sid and again.created_by == "user:ops@example.com"
    assert {column: getattr(_call(app, first.id), column) for column in before} == before  # the first is untouched
    assert [row.target for row in audit_rows(app, "call.place")] == [first.id, new_id]
    assert "+919876543210" in signed_in.get(response.headers["Location"]).get_data(as_text=True)
    # The same button sent twice (a double click, a resubmission) places one call.
    repeat = signed_in.post(f"/calls/{first.id}/again", data=form)
    assert repeat.headers["Location"] == response.headers["Location"]
    assert call_count(app) == 2 and sim.state.connect_requests == 2


def test_call_again_needs_csrf_and_a_role_that_places(app, signed_in, sim):
    first = _placed(app, signed_in, sim)
    assert signed_in.post(f"/calls/{first.id}/again", data={"nonce": "n"}).status_code == 400
    with app.app_context():
        create_user(get_db(), ROLE_EMAILS["viewer"], ROLE_PASSWORDS["viewer"], role="viewer")
    viewer = app.test_client()
    assert sign_in(viewer, ROLE_EMAILS["viewer"], ROLE_PASSWORDS["viewer"]).status_code == 302
    assert _again_form(viewer, first.id) is None  # not offered
    page = viewer.get(f"/calls/{first.id}").get_data(as_text=True)
    assert viewer.post(f"/calls/{first.id}/again", data={"csrf_token": csrf_token(page)}).status_code == 403
    assert call_count(app) == 1


def test_a_call_whose_outcome_is_unknown_is_not_placed_again(app, signed_in, sim):
    with app.app_context(), get_db().transaction() as session:
        session.add(Call(id="unknown-1", from_number="+919876543210", caller_id="08047112345", status="unknown",
                         flow_url="http://my.exotel.com/testaccount/exoml/start_voice/1"))
    page = signed_in.get("/calls/unknown-1").get_data(as_text=True)
    assert "Call again" not in page
    response = signed_in.post("/calls/unknown-1/again", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/calls/unknown-1"
    assert "cannot be placed again until that is settled" in signed_in.get("/calls/unknown-1").get_data(as_text=True)
    assert call_count(app) == 1 and sim.state.connect_requests == 0


def test_the_recording_plays_in_the_page_through_the_app(app, signed_in, sim):
    url = f"{sim.base_url}/recordings/testaccount/{'a' * 32}.wav"
    with app.app_context(), get_db().transaction() as session:
        session.add(Call(id="done-1", sid="a" * 32, from_number="+919876543210", caller_id="08047112345",
                         status="completed", recording_url=url,
                         flow_url="http://my.exotel.com/testaccount/exoml/start_voice/1"))
    response = signed_in.get("/calls/done-1")
    page = response.get_data(as_text=True)
    # Exotel's RecordingUrl wants the account's credentials: the player and the link go through the app.
    route = "/calls/done-1/recording"
    assert f'<audio controls preload="metadata" src="{route}"' in page and f'<a href="{route}" download' in page
    assert url not in page
    # The page's policy still lets media load from the configured Exotel origin (here the simulator's).
    assert f"media-src 'self' https: {sim.base_url}" in response.headers["Content-Security-Policy"]
    assert 'data-copy="+919876543210"' in page and f'data-copy="{"a" * 32}"' in page
