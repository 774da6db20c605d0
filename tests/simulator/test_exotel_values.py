"""The simulator speaks Exotel as it behaves today (the facts in Exotel's NOTES: "StatusCallback",
"Values as Exotel writes them"), and the product reads what it speaks."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from tests.support.simulator import ACCOUNT, Receiver, connect, get, wait_finished, wait_for, with_callbacks
from webapp.exotel.callbacks import fields_from_form, parse_callback
from webapp.exotel.resources import CallInfo
from webapp.simulator import SimulatorServer

IST = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/json"])
@pytest.mark.parametrize("number, events", [("+919876543250", 2), ("+919876543211", 1)])
def test_every_callback_carries_recording_url(sim: SimulatorServer, receiver: Receiver, content_type: str,
                                              number: str, events: int) -> None:
    """NOTES: every callback carries RecordingUrl, empty when there is none (answered; unanswered calls)."""
    sid = connect(sim, From=number, StatusCallbackContentType=content_type, **with_callbacks(receiver)).json()["Call"]["Sid"]
    wait_finished(sim, sid)
    assert sim.state.wait_idle(5)
    payloads = receiver.payloads()
    assert len(payloads) == events and all("RecordingUrl" in payload for payload in payloads)
    recording = sim.state.calls[sid]["recording_url"]
    assert [payload["RecordingUrl"] for payload in payloads] == ["", recording or ""][-events:]


def test_classic_callback_of_an_unanswered_call_carries_an_empty_recording_url(sim: SimulatorServer,
                                                                              receiver: Receiver) -> None:
    sid = connect(sim, From="+919876543212", TimeOut="2", StatusCallback=receiver.url).json()["Call"]["Sid"]
    wait_finished(sim, sid)
    assert sim.state.wait_idle(5)
    (payload,) = receiver.payloads()
    assert payload["Status"] == "no-answer" and payload["RecordingUrl"] == ""


def test_durations_are_strings_of_digits(sim: SimulatorServer, receiver: Receiver) -> None:
    """NOTES: Call Details' Duration and the callbacks' ConversationDuration come as strings of digits,
    empty before the call settles; the product reads them as seconds."""
    sid = connect(sim, StatusCallbackContentType="application/json", **with_callbacks(receiver)).json()["Call"]["Sid"]
    assert get(sim, f"/Calls/{sid}.json").json()["Call"]["Duration"] == ""  # still in progress
    wait_finished(sim, sid)
    call = get(sim, f"/Calls/{sid}.json", details="true").json()["Call"]
    assert call["Duration"] == "10" and call["Details"]["ConversationDuration"] == "8"
    assert call["Details"]["Legs"][0]["Leg"]["OnCallDuration"] == "8"
    assert CallInfo.from_payload(call).conversation_duration == 8
    wait_for(lambda: len(receiver.requests) >= 2)
    terminal = receiver.payloads()[1]  # JSON: strings there too
    assert terminal["ConversationDuration"] == "8" and terminal["Legs"][0]["OnCallDuration"] == "8"
    assert parse_callback(terminal, IST).conversation_duration == 8


def test_answered_by_is_written_as_exotel_writes_it(sim: SimulatorServer, receiver: Receiver) -> None:
    """NOTES: AnsweredBy is Human, Machine, NotSure or NA; the product compares it without case."""
    answered_sid = connect(sim, **with_callbacks(receiver)).json()["Call"]["Sid"]
    wait_finished(sim, answered_sid)
    busy_sid = connect(sim, From="+919876543211", **with_callbacks(receiver)).json()["Call"]["Sid"]
    wait_finished(sim, busy_sid)
    assert sim.state.wait_idle(5)
    by_sid: dict[str, list[dict[str, str]]] = {}
    for payload in receiver.payloads():
        by_sid.setdefault(payload["CallSid"], []).append(payload)
    answered, terminal = by_sid[answered_sid]
    (unanswered,) = by_sid[busy_sid]
    assert answered["Legs[0][AnsweredBy]"] == terminal["Legs[0][AnsweredBy]"] == "Human"
    assert unanswered["Legs[0][AnsweredBy]"] == "NA"
    assert get(sim, f"/Calls/{answered_sid}.json").json()["Call"]["AnsweredBy"] == "Human"
    # The product: the answering leg's word kept as written; NA (in any case) is no answer.
    assert parse_callback(fields_from_form(terminal.items()), IST).answered_by == "Human"
    assert parse_callback(fields_from_form(unanswered.items()), IST).answered_by is None
    assert parse_callback({**unanswered, "Legs[0][AnsweredBy]": "Na"}, IST).answered_by is None


@pytest.mark.parametrize("flow_url", ["http://my.exotel.in/exoml/start/4242", "http://my.exotel.com/exoml/start/4242",
                                      "https://my.exotel.in/exoml/start/4242"])
def test_exotels_older_flow_url_is_accepted(sim: SimulatorServer, flow_url: str) -> None:
    """NOTES: flows are also named http://my.exotel.in/exoml/start/<app_id> (also .com); both reach a flow."""
    response = connect(sim, Url=flow_url)
    assert response.status_code == 200, response.text
    assert wait_finished(sim, response.json()["Call"]["Sid"])["status"] == "completed"


@pytest.mark.parametrize("flow_url", ["http://my.exotel.in/exoml/start/app", "http://evil.example/exoml/start/4242",
                                      "http://my.exotel.com/other/exoml/start_voice/4242"])
def test_other_flow_urls_are_still_refused(sim: SimulatorServer, flow_url: str) -> None:
    assert connect(sim, Url=flow_url).status_code == 400


def test_connect_two_numbers_is_answered_as_exotel_would(sim: SimulatorServer) -> None:
    """Exotel's "connect two numbers" is the same endpoint with To and no Url: a call, not "Url is required"."""
    response = connect(sim, Url=None, To="+919812345678")
    assert response.status_code == 200, response.text
    call = response.json()["Call"]
    assert call["To"] == "09812345678" and call["From"] == "09876543250" and call["Status"] == "in-progress"
    assert wait_finished(sim, call["Sid"])["status"] == "completed"
    neither = connect(sim, Url=None)
    assert neither.status_code == 400 and "To" in neither.json()["RestException"]["Message"]
    assert connect(sim, Url=None, To="not-a-number").status_code == 400
    assert ACCOUNT in call["Uri"]
