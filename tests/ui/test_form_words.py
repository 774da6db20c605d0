"""The place-a-call form shows every fault at once, each beside its field and in the form's words; the API keeps its own."""

from __future__ import annotations

import logging
import re
import shutil

import pytest

from tests.support.signin import csrf_token, sign_in
from tests.support.teams import call_count
from webapp.accounts import create_user
from webapp.calls.validation import ValidationError, check_call, validate_call
from webapp.db import get_db

# What the form says of each faulty value, field by field.
FAULTS = {
    "from_number": ("12", "Customer number is not a valid phone number"),
    "caller_id": ("abc", "ExoPhone must be a phone number of 6 to 16 digits, e.g. 08047112345."),
    "flow": ("not a flow", "Flow must be an app id (digits only, e.g. 123456) or a full flow URL"),
    "time_limit": ("99999", "Time limit must be a whole number of seconds from 1 to 14400."),
    "time_out": ("0", "Ring timeout must be a whole number of seconds from 1 to 60."),
    "custom_field": ("x" * 200, "Custom field is limited to 128 characters; this one has 200."),
}
# The API's words, which a person at the form never reads.
API_WORDS = ("time_limit must", "time_out must", "caller_id must", "flow_url", "app_id", "custom_field is", "EXOTEL_")


@pytest.fixture
def database_url(tmp_path, sqlite_template):
    """SQLite only: a refused form stores nothing, so the database kind does not matter here."""
    path = tmp_path / "calls.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _post(client, **values):
    page = client.get("/calls/new").get_data(as_text=True)
    nonce = re.search(r'name="nonce"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="nonce"', page)
    data = {"from_number": "+91 98765 43210", "caller_id": "08047112345", "flow": "123456", "call_type": "",
            "time_limit": "", "time_out": "", "custom_field": "", "event_answered": "y", "event_terminal": "y",
            "csrf_token": csrf_token(page), "nonce": nonce.group(1) or nonce.group(2), **values}
    return client.post("/calls/new", data=data)


def _input(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*\bid="{name}"[^>]*>', page)
    assert match, name
    return match.group(0)


def test_every_fault_shows_at_once_beside_its_field(app, signed_in):
    response = _post(signed_in, **{name: value for name, (value, _message) in FAULTS.items()})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = re.search(r'<div class="alert alert-error error-summary".*?</div>', page, re.S).group(0)
    assert "Correct these 6 fields" in summary
    for name, (value, message) in FAULTS.items():
        error = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', page)
        assert error and message in error.group(1), name
        tag = _input(page, name)
        assert 'aria-invalid="true"' in tag and re.search(rf'aria-describedby="[^"]*\b{name}-error\b', tag), name
        assert f'value="{value}"' in tag, name  # what was typed stays, all of it
        assert f'href="#{name}"' in summary and message in summary, name
    assert "maxlength" not in _input(page, "custom_field")  # nothing is cut short unseen
    assert "200 / 128" in page and "72 too many" in page
    for words in API_WORDS:
        assert words not in page, words
    assert call_count(app) == 0


def test_the_counter_starts_at_the_length_of_the_text(signed_in):
    page = signed_in.get("/calls/new").get_data(as_text=True)
    assert "0 / 128" in page and 'aria-describedby="custom_field-hint custom_field-counter"' in _input(page, "custom_field")
    assert "error-summary" not in page


def test_no_exophone_is_said_in_words_and_the_setting_is_logged(app_factory, caplog):
    app = app_factory(EXOTEL_CALLER_ID="")
    with app.app_context():
        create_user(get_db(), "ops@example.com", "correct horse battery", is_admin=True)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    with caplog.at_level(logging.WARNING):
        response = _post(client, caller_id="", time_limit="abc")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="caller_id-error">No ExoPhone is set up for this account: enter yours, or ask an admin.<', page)
    assert "Time limit must be a whole number" in page  # the other fault too
    assert "EXOTEL_" not in page
    assert any("EXOTEL_CALLER_ID" in record.getMessage() for record in caplog.records)


def test_the_api_answers_with_its_first_fault_in_its_own_words(client, auth_headers):
    body = {"from": "12", "caller_id": "abc", "app_id": "4242", "time_limit": 99999}
    response = client.post("/api/calls", json=body, headers=auth_headers)
    assert response.status_code == 422
    assert response.json == {"error": {"code": "invalid_field", "message": "'12' is not a valid phone number.", "field": "from"}}
    response = client.post("/api/calls", json={"from": "+919876543210", "app_id": "4242", "time_limit": 99999},
                           headers=auth_headers)
    assert response.json["error"] == {"code": "invalid_field", "field": "time_limit",
                                      "message": "time_limit must be between 1 and 14400 seconds."}


def test_check_call_returns_every_fault_the_first_of_each_field():
    data = {"from": "12", "caller_id": "abc", "flow_url": "nope", "time_limit": "x", "time_out": 0, "custom_field": "y" * 129}
    call, errors = check_call(data, account_sid="acme", default_caller_id=None)
    assert call is None
    assert [(error.field, error.code) for error in errors] == [
        ("custom_field", "too_long"), ("from", "invalid_field"), ("caller_id", "invalid_field"),
        ("flow_url", "invalid_field"), ("time_limit", "invalid_field"), ("time_out", "invalid_field"),
    ]
    with pytest.raises(ValidationError) as raised:
        validate_call(data, account_sid="acme", default_caller_id=None)
    assert (raised.value.field, raised.value.message) == (errors[0].field, errors[0].message)
