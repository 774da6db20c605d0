"""Tests of the built-in Exotel simulator, driven over real HTTP."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import requests

from tests.support.simulator import (
    ACCOUNT,
    AUTH,
    FLOW_URL,
    KEY,
    TOKEN,
    TS,
    Receiver,
    connect,
    get,
    parse_ts,
    wait_finished,
    wait_for,
    with_callbacks,
)
from webapp.simulator import SimulatorServer, SimulatorState, create_simulator_app, outcome_for_number

SPEED = 0.02


# -- outcomes -----------------------------------------------------------------

@pytest.mark.parametrize("number, outcome", [
    ("+919876543211", "busy"), ("09876543212", "no-answer"), ("98765-43213", "failed"),
    ("+91 98765 43219", "refused"), ("+919876543210", "completed"), ("+919876543218", "completed"),
    ("", "completed"),
])
def test_outcome_is_predicted_by_last_digit(number: str, outcome: str) -> None:
    assert outcome_for_number(number) == outcome


# -- placing calls and callbacks ----------------------------------------------

def test_completed_call_posts_answered_then_terminal_as_multipart(sim: SimulatorServer, receiver: Receiver) -> None:
    response = connect(sim, CustomField="order-77", **with_callbacks(receiver))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    call = response.json()["Call"]
    assert set(call) == {"Sid", "ParentCallSid", "DateCreated", "DateUpdated", "AccountSid", "To", "From",
                         "PhoneNumberSid", "Status", "StartTime", "EndTime", "Duration", "Price", "Direction",
                         "AnsweredBy", "Uri", "RecordingUrl"}
    assert re.fullmatch(r"[0-9a-f]{32}", call["Sid"])
    assert call["Status"] == "in-progress" and call["Direction"] == "outbound-api"
    assert call["From"] == "09876543250" and call["PhoneNumberSid"] == "08047112345"
    assert call["To"] is None and call["EndTime"] is None and call["AccountSid"] == ACCOUNT
    assert call["Uri"] == f"/v1/Accounts/{ACCOUNT}/Calls.json/{call['Sid']}"
    assert TS.match(call["DateCreated"])

    wait_for(lambda: len(receiver.requests) >= 2)
    answered, terminal = receiver.payloads()
    assert all(r["method"] == "POST" and r["content_type"] == "multipart/form-data" for r in receiver.requests)
    assert receiver.requests[0]["args"] == {"token": "s3cret"}
    assert answered["EventType"] == "answered" and answered["Status"] == "in-progress"
    assert answered["CallSid"] == call["Sid"] and answered["From"] == "09876543250"
    assert answered["Legs[0][Status]"] == "in-progress" and answered["Legs[0][AnsweredBy]"] == "Human"
    assert answered["Legs[0][OnCallDuration]"] == "0"
    assert "CustomField" not in answered and "Legs" not in answered
    assert parse_ts(answered["DateUpdated"]) - parse_ts(answered["DateCreated"]) == timedelta(seconds=2)

    assert terminal["EventType"] == "terminal" and terminal["Status"] == "completed"
    assert terminal["CustomField"] == "order-77"
    # second-to-last digit 5: 3 + 5 % 6 = 8 s of conversation
    assert terminal["ConversationDuration"] == "8" and terminal["Legs[0][OnCallDuration]"] == "8"
    assert terminal["Legs[0][Status]"] == "completed" and terminal["Legs[0][AnsweredBy]"] == "Human"
    assert terminal["RecordingUrl"] == f"{sim.base_url}/recordings/{ACCOUNT}/{call['Sid']}.wav"
    assert parse_ts(terminal["EndTime"]) - parse_ts(terminal["StartTime"]) == timedelta(seconds=10)
    assert sim.state.wait_idle(5)  # the log is written once the receiver has answered
    assert [d["event"] for d in sim.state.deliveries] == ["answered", "terminal"]
    assert all(d["status"] == 200 for d in sim.state.deliveries)


def test_json_callbacks_when_asked(sim: SimulatorServer, receiver: Receiver) -> None:
    response = connect(sim, StatusCallbackContentType="application/json", **with_callbacks(receiver))
    assert response.status_code == 200
    wait_for(lambda: len(receiver.requests) >= 2)
    assert all(r["content_type"] == "application/json" for r in receiver.requests)
    answered, terminal = receiver.payloads()
    # Exotel writes durations as strings of digits, in JSON too, and AnsweredBy as "Human".
    assert answered["Legs"] == [{"Status": "in-progress", "OnCallDuration": "0", "AnsweredBy": "Human"}]
    assert answered["RecordingUrl"] == ""
    assert terminal["ConversationDuration"] == "8"
    assert terminal["Legs"] == [{"Status": "completed", "OnCallDuration": "8", "AnsweredBy": "Human"}]


@pytest.mark.parametrize("events", [
    {"StatusCallbackEvents[]": ["terminal", "answered"]},
    {"StatusCallbackEvents": ["answered", "terminal"]},
])
def test_other_event_array_forms_are_accepted(sim: SimulatorServer, receiver: Receiver,
                                              events: dict[str, Any]) -> None:
    assert connect(sim, StatusCallback=receiver.url, **events).status_code == 200
    wait_for(lambda: len(receiver.requests) >= 2)
    assert [p["EventType"] for p in receiver.payloads()] == ["answered", "terminal"]


def test_only_terminal_event_when_only_terminal_asked(sim: SimulatorServer, receiver: Receiver) -> None:
    sid = connect(sim, StatusCallback=receiver.url, **{"StatusCallbackEvents[0]": "terminal"}).json()["Call"]["Sid"]
    wait_finished(sim, sid)
    assert sim.state.wait_idle(5)
    assert [p["EventType"] for p in receiver.payloads()] == ["terminal"]


def test_classic_callback_without_events(sim: SimulatorServer, receiver: Receiver) -> None:
    sid = connect(sim, StatusCallback=receiver.url).json()["Call"]["Sid"]
    wait_for(lambda: receiver.requests)
    assert sim.state.wait_idle(5)
    (payload,) = receiver.payloads()
    assert set(payload) == {"CallSid", "Status", "DateUpdated", "RecordingUrl"}
    assert payload["CallSid"] == sid and payload["Status"] == "completed"


@pytest.mark.parametrize("number, status", [
    ("+919876543211", "busy"), ("+919876543212", "no-answer"), ("+919876543213", "failed"),
])
def test_unanswered_outcomes(sim: SimulatorServer, receiver: Receiver, number: str, status: str) -> None:
    response = connect(sim, From=number, TimeOut="45", **with_callbacks(receiver))
    assert response.status_code == 200 and response.json()["Call"]["Status"] == "in-progress"
    sid = response.json()["Call"]["Sid"]
    wait_for(lambda: receiver.requests)
    assert sim.state.wait_idle(5)
    (terminal,) = receiver.payloads()  # never answered: no answered event
    assert terminal["EventType"] == "terminal" and terminal["Status"] == status
    assert terminal["ConversationDuration"] == "0" and terminal["RecordingUrl"] == ""
    assert terminal["Legs[0][Status]"] == status and terminal["Legs[0][AnsweredBy]"] == "NA"
    assert sim.state.calls[sid]["status"] == status
    assert get(sim, f"/Calls/{sid}.json").json()["Call"]["Status"] == status


def test_no_answer_rings_for_capped_timeout(sim: SimulatorServer) -> None:
    short = connect(sim, From="+919876543212", TimeOut="3").json()["Call"]["Sid"]
    default = connect(sim, From="+919876543222").json()["Call"]["Sid"]
    assert wait_finished(sim, short)["end_time"] is not None
    call = get(sim, f"/Calls/{wait_finished(sim, default)['sid']}.json").json()["Call"]
    assert call["Duration"] == "6"  # 30 s default ring capped at 6 s
    assert get(sim, f"/Calls/{short}.json").json()["Call"]["Duration"] == "3"


def test_time_limit_caps_the_conversation(sim: SimulatorServer) -> None:
    sid = connect(sim, TimeLimit="4").json()["Call"]["Sid"]
    assert wait_finished(sim, sid)["conversation_duration"] == 4


def test_unverified_number_is_refused_without_callbacks(sim: SimulatorServer, receiver: Receiver) -> None:
    response = connect(sim, From="+919876543219", **with_callbacks(receiver))
    assert response.status_code == 403
    error = response.json()["RestException"]
    assert error["Status"] == 403 and 40300 <= error["Code"] <= 40399
    assert "unverified number" in error["Message"]
    assert sim.state.connect_requests == 1
    assert sim.state.calls == {}
    time.sleep(0.2)
    assert receiver.requests == [] and sim.state.wait_idle(1)


# -- auth and validation ------------------------------------------------------

@pytest.mark.parametrize("auth, account", [
    ((KEY, "wrong"), ACCOUNT), (("other", TOKEN), ACCOUNT), (None, ACCOUNT), (AUTH, "someone-else"),
])
def test_bad_credentials_are_refused(sim: SimulatorServer, auth: Any, account: str) -> None:
    response = requests.post(f"{sim.base_url}/v1/Accounts/{account}/Calls/connect.json",
                             data={"From": "+919876543250", "CallerId": "08047112345", "Url": FLOW_URL},
                             auth=auth, timeout=5)
    assert response.status_code == 401
    assert response.json()["RestException"]["Status"] == 401
    assert TOKEN not in response.text
    assert sim.state.calls == {} and sim.state.connect_requests == 1


def test_missing_from_is_a_400_rest_exception(sim: SimulatorServer) -> None:
    response = connect(sim, From=None)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["RestException"]
    assert error["Status"] == 400 and "From" in error["Message"] and isinstance(error["Code"], int)
    assert sim.state.calls == {}


@pytest.mark.parametrize("field, value", [
    ("From", "12345"), ("From", "+91abc4567890"), ("CallerId", ""), ("Url", ""),
    ("Url", "http://example.com/flow"),
    ("Url", "http://my.exotel.com/another/exoml/start_voice/1"), ("CallType", "spam"),
    ("TimeLimit", "0"), ("TimeLimit", "14401"), ("TimeOut", "61"), ("TimeOut", "soon"),
    ("CustomField", "x" * 129), ("StatusCallback", "ftp://example.com/cb"),
    ("StatusCallbackEvents[0]", "ringing"), ("StatusCallbackContentType", "text/plain"),
])
def test_invalid_parameters_are_named(sim: SimulatorServer, field: str, value: str) -> None:
    response = connect(sim, **{field: value})
    assert response.status_code == 400
    assert field.split("[")[0] in response.json()["RestException"]["Message"]
    assert sim.state.calls == {}


def test_valid_optional_parameters_are_accepted(sim: SimulatorServer, receiver: Receiver) -> None:
    response = connect(sim, From="+91 98765-43250", CallType="promo", TimeLimit="14400", TimeOut="60",
                       CustomField="x" * 128, StatusCallbackContentType="multipart/form-data",
                       Url=f"https://my.exotel.com/{ACCOUNT}/exoml/start_voice/1", **with_callbacks(receiver))
    assert response.status_code == 200


def test_xml_without_json_suffix(sim: SimulatorServer) -> None:
    ok = connect(sim, suffix="")
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("application/xml")
    assert ok.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(ok.content)
    assert root.tag == "TwilioResponse" and root.findtext("Call/Status") == "in-progress"
    assert re.fullmatch(r"[0-9a-f]{32}", root.findtext("Call/Sid") or "")

    bad = connect(sim, suffix="", From=None)
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("application/xml")
    error = ET.fromstring(bad.content).find("RestException")
    assert error is not None and error.findtext("Status") == "400" and "From" in error.findtext("Message", "")

    unauthorised = connect(sim, suffix="", auth=(KEY, "nope"))
    assert unauthorised.status_code == 401 and ET.fromstring(unauthorised.content).tag == "TwilioResponse"


# -- faults -------------------------------------------------------------------

def add_fault(sim: SimulatorServer, **fault: Any) -> None:
    """Queue a fault through the control API."""
    response = requests.post(f"{sim.base_url}/_sim/faults", json=fault, timeout=5)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("place", [True, False])
def test_status_fault(sim: SimulatorServer, receiver: Receiver, place: bool) -> None:
    add_fault(sim, mode="status", status=503, times=1, place=place)
    response = connect(sim, StatusCallback=receiver.url)
    assert response.status_code == 503
    assert response.json()["RestException"]["Status"] == 503
    if place:  # the body reached "Exotel": the call goes on and calls back
        wait_for(lambda: receiver.requests)
        assert len(sim.state.calls) == 1
    else:
        assert sim.state.calls == {}
    assert connect(sim).status_code == 200  # the fault was used up


def test_status_fault_repeats_times(sim: SimulatorServer) -> None:
    sim.state.add_fault("status", status=500, times=2)
    assert [connect(sim).status_code for _ in range(3)] == [500, 500, 200]
    assert sim.state.connect_requests == 3 and len(sim.state.calls) == 1


def test_timeout_fault_places_the_call(sim: SimulatorServer, receiver: Receiver) -> None:
    add_fault(sim, mode="timeout", delay=1, place=True)
    with pytest.raises(requests.exceptions.ReadTimeout):
        connect(sim, timeout=0.3, StatusCallback=receiver.url)
    assert sim.state.connect_requests == 1
    (call,) = sim.state.calls.values()
    wait_for(lambda: receiver.requests)  # Exotel calls back although the client gave up
    assert receiver.payloads()[0]["CallSid"] == call["sid"]


def test_garbage_fault(sim: SimulatorServer) -> None:
    add_fault(sim, mode="garbage", place=True)
    response = connect(sim)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert len(sim.state.calls) == 1


@pytest.mark.parametrize("place", [True, False])
def test_reset_fault_drops_the_connection(sim: SimulatorServer, place: bool) -> None:
    add_fault(sim, mode="reset", place=place)
    with pytest.raises(requests.exceptions.ConnectionError):
        connect(sim)
    assert len(sim.state.calls) == (1 if place else 0)
    assert connect(sim).status_code == 200  # the server survives


def test_ratelimit_fault(sim: SimulatorServer) -> None:
    add_fault(sim, mode="ratelimit", retry_after=1, times=1)
    response = connect(sim)
    assert response.status_code == 429
    assert response.json()["RestException"]["Status"] == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Limit"]) > 0
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert sim.state.calls == {}
    assert connect(sim).status_code == 200


def test_configured_rate_limit(sim: SimulatorServer) -> None:
    config = requests.post(f"{sim.base_url}/_sim/config", json={"rate_limit_per_minute": 2}, timeout=5)
    assert config.status_code == 200 and config.json()["rate_limit_per_minute"] == 2
    first = connect(sim)
    assert first.status_code == 200 and first.headers["X-RateLimit-Remaining"] == "1"
    assert connect(sim).status_code == 200
    limited = connect(sim)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-RateLimit-Limit"] == "2" and limited.headers["X-RateLimit-Remaining"] == "0"
    assert len(sim.state.calls) == 2


def test_bad_fault_and_config_are_rejected(sim: SimulatorServer) -> None:
    base = sim.base_url
    assert requests.post(f"{base}/_sim/faults", json={"mode": "explode"}, timeout=5).status_code == 400
    assert requests.post(f"{base}/_sim/faults", json={"mode": "status", "status": 200}, timeout=5).status_code == 400
    assert requests.post(f"{base}/_sim/config", json={"speed": -1}, timeout=5).status_code == 400
    assert requests.post(f"{base}/_sim/config", json={"drop_callbacks": 2}, timeout=5).status_code == 400
    assert requests.post(f"{base}/_sim/config", json={"colour": "red"}, timeout=5).status_code == 400
    assert sim.state.faults == [] and sim.state.speed == SPEED


# -- reading calls back -------------------------------------------------------

def test_single_call_details(sim: SimulatorServer) -> None:
    sid = connect(sim).json()["Call"]["Sid"]
    early = get(sim, f"/Calls/{sid}.json", details="true").json()["Call"]
    assert early["Status"] == "in-progress" and early["EndTime"] is None
    assert early["Details"]["Legs"][0]["Leg"]["Status"] == "in-progress"
    wait_finished(sim, sid)
    call = get(sim, f"/Calls/{sid}.json", details="true").json()["Call"]
    assert call["Status"] == "completed" and call["Duration"] == "10"
    assert call["DateUpdated"] == call["EndTime"] and call["RecordingUrl"] == f"{sim.base_url}/recordings/{ACCOUNT}/{sid}.wav"
    assert call["Details"]["ConversationDuration"] == "8"
    assert call["Details"]["Legs"] == [{"Leg": {"Id": 1, "OnCallDuration": "8", "Status": "completed"}}]
    assert "Details" not in get(sim, f"/Calls/{sid}.json").json()["Call"]

    missing = get(sim, "/Calls/0123456789abcdef0123456789abcdef.json")
    assert missing.status_code == 404 and missing.json()["RestException"]["Status"] == 404


def test_bulk_call_details_lists_only_finished_calls(sim: SimulatorServer) -> None:
    quick = connect(sim, From="+919876543213").json()["Call"]["Sid"]  # failed after 1 s
    slow = connect(sim, From="+919876543250").json()["Call"]["Sid"]  # completed after 10 s
    unknown = "f" * 32
    wait_finished(sim, quick)
    body = get(sim, "/Calls.json", Sid=f"{quick},{slow},{unknown}").json()
    assert [c["Sid"] for c in body["Calls"]] == [quick]
    assert body["Metadata"]["Total"] == 1 and body["Metadata"]["NextPageUri"] is None
    assert "FirstPageUri" in body["Metadata"] and "PageSize" in body["Metadata"]
    wait_finished(sim, slow)
    body = get(sim, "/Calls.json", Sid=f"{quick},{slow},{unknown}", details="true").json()
    assert {c["Sid"]: c["Status"] for c in body["Calls"]} == {quick: "failed", slow: "completed"}
    assert all("Details" in c for c in body["Calls"])

    too_many = get(sim, "/Calls.json", Sid=",".join(f"{i:032x}" for i in range(101)))
    assert too_many.status_code == 400 and "Sid" in too_many.json()["RestException"]["Message"]


def test_bulk_listing_pages(sim: SimulatorServer) -> None:
    sids = [connect(sim, From="+919876543213").json()["Call"]["Sid"] for _ in range(3)]
    for sid in sids:
        wait_finished(sim, sid)
    first = get(sim, "/Calls.json", PageSize=2).json()
    assert first["Metadata"]["Total"] == 3 and len(first["Calls"]) == 2
    next_uri = first["Metadata"]["NextPageUri"]
    second = requests.get(f"{sim.base_url}{next_uri}", auth=AUTH, timeout=5).json()
    assert second["Metadata"]["NextPageUri"] is None
    assert {c["Sid"] for c in first["Calls"] + second["Calls"]} == set(sids)


# -- callback delivery --------------------------------------------------------

def test_failed_callback_is_retried(sim: SimulatorServer, receiver: Receiver) -> None:
    receiver.statuses.extend([500])
    sid = connect(sim, StatusCallback=receiver.url).json()["Call"]["Sid"]
    wait_for(lambda: len(receiver.requests) >= 2)
    assert sim.state.wait_idle(5)
    assert [p["CallSid"] for p in receiver.payloads()] == [sid, sid]
    assert [(d["attempt"], d["status"]) for d in sim.state.deliveries] == [(1, 500), (2, 200)]


def test_callback_is_dropped_after_two_retries(sim: SimulatorServer, receiver: Receiver) -> None:
    receiver.statuses.extend([500, 502, 503, 504])
    connect(sim, StatusCallback=receiver.url)
    wait_for(lambda: len(receiver.requests) >= 3)
    assert sim.state.wait_idle(5)
    assert len(receiver.requests) == 3
    assert [d["status"] for d in sim.state.deliveries] == [500, 502, 503]


def test_unreachable_callback_records_errors(sim: SimulatorServer) -> None:
    with socket_port() as port:
        url = f"http://127.0.0.1:{port}/cb"
    connect(sim, StatusCallback=url)
    wait_for(lambda: len(sim.state.deliveries) >= 3)
    assert sim.state.wait_idle(5)
    deliveries = sim.state.deliveries
    assert len(deliveries) == 3
    assert all(d["status"] is None and "ConnectionError" in d["error"] for d in deliveries)


def test_drop_callbacks_sends_none(receiver: Receiver) -> None:
    with SimulatorServer(ACCOUNT, KEY, TOKEN, speed=SPEED, drop_callbacks=1.0, seed=7) as sim:
        sid = connect(sim, **with_callbacks(receiver)).json()["Call"]["Sid"]
        assert wait_finished(sim, sid)["status"] == "completed"
        assert sim.state.wait_idle(5)
        assert receiver.requests == [] and sim.state.deliveries == []
        assert [d["event"] for d in sim.state.dropped_callbacks] == ["answered", "terminal"]


def test_control_calls_and_reset(sim: SimulatorServer, receiver: Receiver) -> None:
    sid = connect(sim, StatusCallback=receiver.url).json()["Call"]["Sid"]
    sim.state.add_fault("garbage")
    wait_for(lambda: sim.state.deliveries)
    listing = requests.get(f"{sim.base_url}/_sim/calls", timeout=5).json()
    assert listing["connect_requests"] == 1
    (call,) = listing["calls"]
    assert call["sid"] == sid and call["status"] == "completed" and call["from"] == "09876543250"
    assert [c["status"] for c in call["callbacks"]] == [200]

    assert requests.post(f"{sim.base_url}/_sim/reset", timeout=5).status_code == 200
    assert sim.state.calls == {} and sim.state.faults == [] and sim.state.deliveries == []
    assert sim.state.connect_requests == 0
    assert get(sim, f"/Calls/{sid}.json").status_code == 404


def test_reset_cancels_pending_timelines(sim: SimulatorServer, receiver: Receiver) -> None:
    connect(sim, StatusCallback=receiver.url)
    sim.state.reset()
    assert sim.state.wait_idle(2)
    time.sleep(0.3)
    assert receiver.requests == []


def test_app_factory_serves_a_state_directly() -> None:
    state = SimulatorState(ACCOUNT, KEY, TOKEN, speed=SPEED)
    try:
        client = create_simulator_app(state).test_client()
        response = client.post(f"/v1/Accounts/{ACCOUNT}/Calls/connect.json", auth=AUTH,
                               data={"From": "+919876543211", "CallerId": "08047112345", "Url": FLOW_URL})
        assert response.status_code == 200
        sid = response.get_json()["Call"]["Sid"]
        assert state.wait_idle(5) and state.calls[sid]["status"] == "busy"
        assert TOKEN not in repr(state)
    finally:
        state.stop()


class socket_port:
    """Context manager yielding a local port that nothing listens on afterwards."""

    def __enter__(self) -> int:
        """Bind an ephemeral port and return it."""
        import socket
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return self._sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        """Release the port."""
        self._sock.close()
