"""The place-a-call form: field errors, Exotel's refusal in words, one call per form."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.support.signin import csrf_token
from webapp.db import get_db
from webapp.models import Call


def _form(client):
    page = client.get("/calls/new").get_data(as_text=True)
    nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="nonce"', page)
    return page, {"csrf_token": csrf_token(page), "nonce": nonce.group(1) or nonce.group(2)}


def _fields(**values):
    data = {
        "from_number": "+91 98765 43210",
        "caller_id": "08047112345",
        "flow": "123456",
        "call_type": "trans",
        "time_limit": "",
        "time_out": "",
        "custom_field": "",
        "event_answered": "y",
        "event_terminal": "y",
    }
    data.update(values)
    return data


def _count(app) -> int:
    with app.app_context():
        return get_db().session().scalar(select(func.count()).select_from(Call))


@pytest.mark.sqlite_only
def test_form_defaults_to_the_configured_exophone(signed_in):
    page, _ = _form(signed_in)
    assert 'value="08047112345"' in page
    assert 'name="event_answered"' in page and "checked" in page


def test_placing_lands_on_the_call_page(app, signed_in, sim):
    _, hidden = _form(signed_in)
    response = signed_in.post("/calls/new", data={**hidden, **_fields(custom_field="order-42")})
    assert response.status_code == 303
    call_id = response.headers["Location"].rsplit("/", 1)[1]
    with app.app_context():
        call = get_db().session().get(Call, call_id)
        assert call.from_number == "+919876543210"
        assert call.flow_url == "http://my.exotel.com/testaccount/exoml/start_voice/123456"
        assert call.custom_field == "order-42"
        assert call.sid
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "+919876543210" in page and "order-42" in page


def test_flow_url_is_accepted_too(app, signed_in, sim):
    _, hidden = _form(signed_in)
    url = "http://my.exotel.com/testaccount/exoml/start_voice/777"
    response = signed_in.post("/calls/new", data={**hidden, **_fields(flow=url, call_type="")})
    assert response.status_code == 303
    with app.app_context():
        assert get_db().session().scalar(select(Call.flow_url)) == url


@pytest.mark.sqlite_only
def test_errors_are_shown_next_to_their_fields(app, signed_in):
    cases = {
        "from_number": ("12", "Customer number is not a valid phone number"),
        "flow": ("not a flow", "Flow must be an app id (digits only, e.g. 123456) or a full flow URL"),
        "time_limit": ("99999", "Time limit must be a whole number of seconds from 1 to 14400."),
        "time_out": ("0", "Ring timeout must be a whole number of seconds from 1 to 60."),
        "caller_id": ("abc", "ExoPhone must be a phone number of 6 to 16 digits"),
    }
    for name, (value, message) in cases.items():
        _, hidden = _form(signed_in)
        response = signed_in.post("/calls/new", data={**hidden, **_fields(**{name: value})})
        assert response.status_code == 422, name
        page = response.get_data(as_text=True)
        block = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', page)
        assert block and message in block.group(1), (name, page[:200])
        assert f'id="{name}"' in page and 'aria-invalid="true"' in page
    assert _count(app) == 0


@pytest.mark.sqlite_only
def test_a_missing_flow_is_reported_on_the_flow_field(signed_in):
    _, hidden = _form(signed_in)
    page = signed_in.post("/calls/new", data={**hidden, **_fields(flow="")}).get_data(as_text=True)
    assert re.search(r'id="flow-error">A flow is required', page)


def test_exotel_refusal_is_shown_in_plain_words(app, signed_in, sim):
    _, hidden = _form(signed_in)
    response = signed_in.post("/calls/new", data={**hidden, **_fields(from_number="+91 98765 43219")})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "No call was placed" in page
    assert "Trial accounts can only call numbers verified" in page
    assert "unverified number" in page  # Exotel's own message, quoted
    # The attempt is recorded as a refused call, and the typed values are kept.
    assert 'value="+91 98765 43219"' in page
    with app.app_context():
        call = get_db().session().scalar(select(Call))
        assert call.status == "rejected"
    assert f"/calls/{call.id}" in page
    detail = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Exotel refused this call" in detail and "Refused by Exotel" in detail


def test_a_resubmitted_form_places_one_call(app, signed_in, sim):
    _, hidden = _form(signed_in)
    data = {**hidden, **_fields()}
    first = signed_in.post("/calls/new", data=data)
    second = signed_in.post("/calls/new", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(app) == 1
    assert sim.state.connect_requests == 1  # Exotel was asked once
    page = signed_in.get(second.headers["Location"]).get_data(as_text=True)
    assert "No second call was made" in page


def test_the_same_form_with_other_details_places_nothing(app, signed_in, sim):
    _, hidden = _form(signed_in)
    assert signed_in.post("/calls/new", data={**hidden, **_fields()}).status_code == 303
    response = signed_in.post("/calls/new", data={**hidden, **_fields(from_number="+91 98765 43218")})
    assert response.status_code == 422
    assert "already placed a call with other details" in response.get_data(as_text=True)
    assert _count(app) == 1


def test_forms_of_different_users_do_not_collide(app, client, signed_in, sim):
    _, hidden = _form(signed_in)
    data = {**hidden, **_fields()}
    assert signed_in.post("/calls/new", data=data).status_code == 303
    assert signed_in.post("/calls/new", data={**_form(signed_in)[1], **_fields()}).status_code == 303
    assert _count(app) == 2


@pytest.mark.sqlite_only
def test_placing_without_csrf_token_is_refused(app, signed_in, sim):
    _, hidden = _form(signed_in)
    response = signed_in.post("/calls/new", data={"nonce": hidden["nonce"], **_fields()})
    assert response.status_code == 400
    assert _count(app) == 0
    forged = signed_in.post("/calls/new", data={**hidden, "csrf_token": "forged", **_fields()})
    assert forged.status_code == 400
    assert _count(app) == 0
