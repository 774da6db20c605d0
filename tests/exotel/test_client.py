"""The Exotel client against the simulator (real HTTP) and against canned answers."""

from __future__ import annotations

import logging

import pytest
import requests

from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN
from webapp.exotel import (
    ConnectRequest,
    ExotelClient,
    ExotelRateLimited,
    ExotelRejected,
    ExotelTimeout,
    ExotelUncertain,
    ExotelUnreachable,
)
from webapp.exotel.client import _parse_body, encode_status_callback_events

REQUEST = ConnectRequest(
    from_number="+919876543210",
    caller_id="08047112345",
    flow_url=f"http://my.exotel.com/{ACCOUNT_SID}/exoml/start_voice/1",
    status_callback="http://127.0.0.1:9/webhooks/exotel/x/secret-token",
    status_callback_events=("answered", "terminal"),
)


@pytest.fixture
def exotel(sim):
    client = ExotelClient(ACCOUNT_SID, API_KEY, API_TOKEN, sim.base_url, read_timeout=1.0, sleep=lambda s: None)
    yield client
    client.close()


def test_status_callback_events_use_the_indexed_form():
    assert encode_status_callback_events(["terminal", "answered"]) == [
        ("StatusCallbackEvents[0]", "terminal"),
        ("StatusCallbackEvents[1]", "answered"),
    ]
    form = dict(REQUEST.form())
    assert form["StatusCallbackEvents[0]"] == "answered" and "TimeLimit" not in form


def test_connect_returns_the_call(exotel, sim):
    info = exotel.connect_to_flow(REQUEST)
    assert len(info.sid) == 32 and info.status == "in-progress"
    assert info.sid in sim.state.calls


def test_credentials_travel_in_the_header_and_never_in_logs(sim, caplog):
    caplog.set_level(logging.DEBUG)
    client = ExotelClient(ACCOUNT_SID, API_KEY, API_TOKEN, sim.base_url)
    seen = []
    client._session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request))
    client.connect_to_flow(REQUEST)
    client.close()
    assert seen[0].headers["Authorization"].startswith("Basic ")
    assert "@" not in seen[0].url and API_TOKEN not in seen[0].url
    assert API_TOKEN not in repr(client)
    assert API_TOKEN not in caplog.text and "secret-token" not in caplog.text


@pytest.mark.parametrize(
    "fault, error",
    [
        (dict(mode="status", status=400, place=False), ExotelRejected),
        (dict(mode="status", status=500, place=True), ExotelUncertain),
        (dict(mode="timeout", delay=2.0, place=True), ExotelTimeout),
        (dict(mode="garbage", place=True), ExotelUncertain),
        (dict(mode="reset", place=True), ExotelUncertain),
        (dict(mode="ratelimit", retry_after=60, times=3), ExotelRateLimited),
    ],
)
def test_errors_are_typed_and_never_resent(exotel, sim, fault, error):
    sim.state.add_fault(**fault)
    with pytest.raises(error) as raised:
        exotel.connect_to_flow(REQUEST)
    assert sim.state.connect_requests == 1
    assert raised.value.message
    assert raised.value.outcome_unknown == (error in (ExotelUncertain, ExotelTimeout))


def test_rate_limit_without_retry_after_backs_off_then_succeeds(sim):
    slept = []
    client = ExotelClient(ACCOUNT_SID, API_KEY, API_TOKEN, sim.base_url, sleep=slept.append)
    sim.state.add_fault(mode="ratelimit", retry_after=2, times=2)
    info = client.connect_to_flow(REQUEST)
    client.close()
    assert info.sid and slept == [2.0, 2.0]
    assert len(sim.state.calls) == 1


def test_unreachable_is_certain_not_placed():
    client = ExotelClient(ACCOUNT_SID, API_KEY, API_TOKEN, "http://127.0.0.1:9", connect_timeout=0.5)
    with pytest.raises(ExotelUnreachable) as raised:
        client.connect_to_flow(REQUEST)
    client.close()
    assert not raised.value.outcome_unknown


def test_call_details_single_and_bulk(exotel, sim):
    sim.state.configure(speed=0.001)
    sids = [exotel.connect_to_flow(REQUEST).sid for _ in range(3)]
    assert sim.state.wait_idle(10)
    one = exotel.get_call(sids[0])
    assert one.status == "completed" and one.conversation_duration
    found = exotel.get_calls(sids + [f"{i:032x}" for i in range(120)])  # 123 Sids: two requests
    assert sorted(info.sid for info in found) == sorted(sids)


def _response(status: int, body: str, content_type: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers["Content-Type"] = content_type
    return response


def test_xml_answers_are_read_too():
    xml = "<?xml version='1.0'?><TwilioResponse><RestException><Status>403</Status><Message>No</Message><Code>403</Code></RestException></TwilioResponse>"
    assert _parse_body(_response(403, xml, "application/xml")) == {"RestException": {"Status": "403", "Message": "No", "Code": "403"}}
    with pytest.raises(ExotelRejected) as raised:
        ExotelClient._interpret(_response(403, xml, "application/xml"))
    assert raised.value.message == "No" and raised.value.http_status == 403


@pytest.mark.parametrize(
    "body, content_type",
    [("<html>oops</html>", "text/html"), ("{broken", "application/json"), ("[1]", "application/json"), ('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "application/xml")],
)
def test_unreadable_answers(body, content_type):
    assert _parse_body(_response(200, body, content_type)) is None
    with pytest.raises(ExotelUncertain):
        ExotelClient._interpret(_response(200, body, content_type))
