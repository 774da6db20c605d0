"""The place-a-call form and Call again to a suppressed number: refused in words naming the reason and the date,
nothing sent; an admin may tick the override (audited); nobody else is offered it, and a forged one is refused."""

from __future__ import annotations

import re

from tests.support.calls import settle_calls
from tests.support.signin import csrf_token, sign_in
from tests.support.teams import ROLE_EMAILS, ROLE_PASSWORDS, audit_rows, call_count
from webapp.accounts import create_user
from webapp.campaigns import suppressions
from webapp.db import get_db, utcnow

NUMBER = "+919876543210"
OVERRIDE = 'name="override_suppression"'


def _suppress(app) -> str:
    now = utcnow()
    with app.app_context():
        suppressions.add(get_db(), [NUMBER], reason="asked not to be called", created_by="user:ops@example.com", now=now)
    return f"{now:%d %b %Y}"


def _form(client) -> tuple[str, dict[str, str]]:
    page = client.get("/calls/new").get_data(as_text=True)
    nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="nonce"', page)
    return page, {
        "csrf_token": csrf_token(page), "nonce": nonce.group(1) or nonce.group(2), "from_number": "+91 98765 43210",
        "caller_id": "08047112345", "flow": "123456", "event_answered": "y", "event_terminal": "y",
    }


def test_the_form_refuses_a_suppressed_number_and_an_admin_may_override(app, signed_in, sim):
    day = _suppress(app)
    page, fields = _form(signed_in)
    assert OVERRIDE in page  # the signed-in user is an admin
    refused = signed_in.post("/calls/new", data=fields)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "is on the suppression list" in text and "asked not to be called" in text and day in text
    assert sim.state.connects.entries() == [] and call_count(app) == 0

    _page, fields = _form(signed_in)
    placed = signed_in.post("/calls/new", data={**fields, "override_suppression": "y"})
    assert placed.status_code == 303
    assert [entry["from"][-10:] for entry in sim.state.connects.entries()] == [NUMBER[-10:]]  # as Exotel is sent it
    (row,) = audit_rows(app, "call.override_suppression")
    assert (row.actor, row.target) == ("user:ops@example.com", placed.headers["Location"].rsplit("/", 1)[1])


def test_an_operator_is_not_offered_the_override_and_a_forged_one_is_refused(app, user, sim):
    _suppress(app)
    with app.app_context():
        create_user(get_db(), ROLE_EMAILS["operator"], ROLE_PASSWORDS["operator"], role="operator")
    operator = app.test_client()
    assert sign_in(operator, ROLE_EMAILS["operator"], ROLE_PASSWORDS["operator"]).status_code == 302
    page, fields = _form(operator)
    assert OVERRIDE not in page
    assert operator.post("/calls/new", data={**fields, "override_suppression": "y"}).status_code == 403
    assert operator.post("/calls/new", data=fields).status_code == 422
    assert sim.state.connects.entries() == [] and call_count(app) == 0


def test_call_again_to_a_number_suppressed_since_is_refused(app, signed_in, sim):
    _page, fields = _form(signed_in)
    first = signed_in.post("/calls/new", data=fields)
    assert first.status_code == 303
    call_page = first.headers["Location"]
    settle_calls(app, sim)  # only a final call is placed again
    day = _suppress(app)
    form = re.search(r'<form method="post" action="[^"]*/again".*?</form>', signed_in.get(call_page).get_data(as_text=True),
                     re.S).group(0)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form).group(1)
    again = signed_in.post(f"{call_page}/again", data={"csrf_token": csrf_token(form), "nonce": nonce})
    assert again.status_code == 303 and again.headers["Location"] == call_page
    text = signed_in.get(call_page).get_data(as_text=True)
    assert "is on the suppression list" in text and day in text
    assert len(sim.state.connects.entries()) == 1 and call_count(app) == 1

    # The admin's explicit override places it, and is audited.
    form = re.search(r'<form method="post" action="[^"]*/again".*?</form>', text, re.S).group(0)
    assert OVERRIDE in form
    nonce = re.search(r'name="nonce" value="([^"]+)"', form).group(1)
    placed = signed_in.post(f"{call_page}/again",
                            data={"csrf_token": csrf_token(form), "nonce": nonce, "override_suppression": "y"})
    assert placed.status_code == 303 and placed.headers["Location"] != call_page
    assert len(sim.state.connects.entries()) == 2 and call_count(app) == 2
    (row,) = audit_rows(app, "call.override_suppression")
    assert row.target == placed.headers["Location"].rsplit("/", 1)[1]


def test_call_again_with_a_forged_override_from_an_operator_is_refused(app, user, sim):
    with app.app_context():
        create_user(get_db(), ROLE_EMAILS["operator"], ROLE_PASSWORDS["operator"], role="operator")
    operator = app.test_client()
    assert sign_in(operator, ROLE_EMAILS["operator"], ROLE_PASSWORDS["operator"]).status_code == 302
    _page, fields = _form(operator)
    call_page = operator.post("/calls/new", data=fields).headers["Location"]
    settle_calls(app, sim)  # only a final call is placed again
    _suppress(app)
    page = operator.get(call_page).get_data(as_text=True)
    form = re.search(r'<form method="post" action="[^"]*/again".*?</form>', page, re.S).group(0)
    assert OVERRIDE not in form
    nonce = re.search(r'name="nonce" value="([^"]+)"', form).group(1)
    forged = operator.post(f"{call_page}/again",
                           data={"csrf_token": csrf_token(form), "nonce": nonce, "override_suppression": "y"})
    assert forged.status_code == 403
    assert len(sim.state.connects.entries()) == 1 and call_count(app) == 1
