"""The StatusCallback endpoint: auth, every encoding, sizes, exactly once, any order."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import func, select

from tests.support.credentials import SECRET_KEY
from webapp.calls.signing import callback_token
from webapp.db import utcnow
from webapp.models import Call, CallEvent

SID = "5e0a1b2c3d4e5f60718293a4b5c6d7e8"

ANSWERED = {"CallSid": SID, "EventType": "answered", "Status": "in-progress", "DateUpdated": "2026-11-27 14:00:05"}
TERMINAL = {
    "CallSid": SID,
    "EventType": "terminal",
    "Status": "completed",
    "DateUpdated": "2026-11-27 14:01:30",
    "EndTime": "2026-11-27 14:01:29",
    "ConversationDuration": "84",
    "RecordingUrl": "https://recordings.example/x.mp3",
    "CustomField": "order-42",
    "Legs[0][Status]": "completed",
    "Legs[0][OnCallDuration]": "84",
    "Legs[0][AnsweredBy]": "human",
}


@pytest.fixture
def call(db):
    """A call Exotel accepted (Sid stored), waiting for its callbacks."""
    with db.transaction() as session:
        row = Call(
            from_number="+919876543210", caller_id="08047112345", flow_url="http://my.exotel.com/a/exoml/start_voice/1",
            status="in-progress", sid=SID, created_at=utcnow(), placed_at=utcnow(),
        )
        session.add(row)
    return row


def url_for(call_id: str) -> str:
    return f"/webhooks/exotel/{call_id}/{callback_token(SECRET_KEY, call_id)}"


def state(db, call_id):
    with db.transaction(write=False) as session:
        call = session.get(Call, call_id)
        events = session.scalars(select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.id)).all()
        total = session.scalar(select(func.count()).select_from(CallEvent))
    return call, events, total


def test_multipart_terminal_is_stored_in_utc_with_its_raw_body(client, call, db):
    response = client.post(url_for(call.id), data=TERMINAL, content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json() == {"result": "stored"}
    row, events, _ = state(db, call.id)
    assert row.status == "completed"
    assert row.ended_at == datetime(2026, 11, 27, 8, 31, 29, tzinfo=UTC)
    assert row.conversation_duration == 84
    assert row.recording_url == "https://recordings.example/x.mp3"
    assert row.answered_by == "human"
    assert row.answered_at == datetime(2026, 11, 27, 8, 30, 5, tzinfo=UTC)  # derived: end - duration
    (event,) = events
    assert (event.event_type, event.status, event.call_sid) == ("terminal", "completed", SID)
    assert event.occurred_at == datetime(2026, 11, 27, 8, 31, 30, tzinfo=UTC)
    assert json.loads(event.payload)["Legs[0][AnsweredBy]"] == "human"


@pytest.mark.parametrize(
    "line_break, empty_value",
    [
        (b"\r\n", b"\r\n"),  # as the RFC and client libraries write it: the fast parser reads it
        (b"\n", b"\n"),  # bare LF line breaks: handed back to werkzeug, still read
        (b"\r\n", b""),  # an empty value sharing its CRLF with the next delimiter: werkzeug reads it
    ],
)
def test_multipart_that_bends_the_rfc_is_still_read(client, call, db, line_break, empty_value):
    fields = dict(TERMINAL, RecordingUrl="")
    parts = []
    for name, value in fields.items():
        parts.append(b"--xyz" + line_break + f'Content-Disposition: form-data; name="{name}"'.encode() + line_break * 2)
        parts.append(value.encode() + line_break if value else empty_value)
    body = b"".join(parts) + b"--xyz--" + line_break
    response = client.post(url_for(call.id), data=body, content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 200
    row, (event,), _ = state(db, call.id)
    assert row.status == "completed" and row.conversation_duration == 84 and row.recording_url is None
    assert json.loads(event.payload) == fields


def test_urlencoded_json_and_query_parameters_are_all_read(client, call, db):
    assert client.post(url_for(call.id), data=ANSWERED).status_code == 200  # url-encoded
    legs = {"Legs": [{"Status": "completed", "OnCallDuration": 84, "AnsweredBy": "human"}]}
    body = {k: v for k, v in TERMINAL.items() if not k.startswith("Legs")} | legs
    assert client.post(url_for(call.id), json=body).status_code == 200
    row, events, _ = state(db, call.id)
    assert [e.event_type for e in events] == ["answered", "terminal"]
    assert row.status == "completed" and row.answered_at == datetime(2026, 11, 27, 8, 30, 5, tzinfo=UTC)
    assert json.loads(events[1].payload)["Legs"][0]["OnCallDuration"] == 84

    other = _another_call(db)
    query = "&".join(f"{k}={v}" for k, v in {"CallSid": "other", "Status": "busy", "DateUpdated": "2026-11-27 14:00:00"}.items())
    assert client.get(f"{url_for(other)}?{query}").status_code == 200
    row, events, _ = state(db, other)
    assert row.status == "busy" and events[0].event_type == "status"


def _another_call(db) -> str:
    with db.transaction() as session:
        row = Call(from_number="+919876543211", caller_id="0804", flow_url="http://x/", status="pending", created_at=utcnow())
        session.add(row)
    return row.id


def test_wrong_token_is_refused_and_nothing_stored(client, call, db):
    for path in (f"/webhooks/exotel/{call.id}/wrong", url_for("another-call-id").replace("another-call-id", call.id, 1)[:-1] + "x"):
        response = client.post(path, data=TERMINAL, content_type="multipart/form-data")
        assert response.status_code == 403
    row, events, total = state(db, call.id)
    assert row.status == "in-progress" and total == 0


def test_a_token_is_bound_to_its_call(client, call, db):
    other = _another_call(db)
    response = client.post(f"/webhooks/exotel/{call.id}/{callback_token(SECRET_KEY, other)}", data=TERMINAL)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "kwargs, status",
    [
        (dict(data="x" * (65 * 1024), content_type="application/x-www-form-urlencoded"), 413),
        (dict(data=json.dumps({"a": "x" * (65 * 1024)}), content_type="application/json"), 413),
        (dict(data={f"f{i}": "1" for i in range(500)}, content_type="multipart/form-data"), 413),
        (dict(data="<xml/>", content_type="text/xml"), 415),
        (dict(data="{not json", content_type="application/json"), 400),
        (dict(data="[1, 2]", content_type="application/json"), 400),
        (dict(data=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x"), None),
    ],
)
def test_bad_bodies_get_4xx_and_store_nothing(client, call, db, kwargs, status):
    response = client.post(url_for(call.id), **kwargs)
    if status is None:
        assert 200 <= response.status_code < 500  # werkzeug reads truncated multipart as empty
    else:
        assert response.status_code == status
        assert response.get_json()["error"]["message"]
    row, _, total = state(db, call.id)
    assert row.status == "in-progress"
    assert total == (1 if status is None and response.status_code == 200 else 0)


def test_redeliveries_add_no_row(client, call, db):
    for _ in range(3):
        client.post(url_for(call.id), data=TERMINAL, content_type="multipart/form-data")
    response = client.post(url_for(call.id), data=TERMINAL)  # same event, url-encoded this time
    assert response.get_json() == {"result": "duplicate"}
    _, events, total = state(db, call.id)
    assert total == 1


def test_terminal_then_answered_leaves_the_final_status(client, call, db):
    client.post(url_for(call.id), data={**TERMINAL, "Status": "busy", "ConversationDuration": "0"})
    client.post(url_for(call.id), data=ANSWERED)
    row, events, _ = state(db, call.id)
    assert row.status == "busy"
    assert row.answered_at is not None  # a late answered may still fill answered_at
    assert [e.event_type for e in events] == ["terminal", "answered"]


def test_a_sid_that_matches_no_call_is_kept_as_an_orphan(client, call, db):
    response = client.post(url_for(call.id), data={**TERMINAL, "CallSid": "someone-elses-sid"})
    assert response.get_json() == {"result": "orphan"}
    row, events, total = state(db, call.id)
    assert row.status == "in-progress" and events == [] and total == 1
    with db.transaction(write=False) as session:
        orphan = session.scalars(select(CallEvent)).one()
    assert orphan.call_id is None and orphan.call_sid == "someone-elses-sid"


def test_twenty_concurrent_identical_deliveries_store_one_event(live_app, db):
    app, live = live_app
    call_id = _accepted_call(db)
    url = live.url + url_for(call_id)

    def deliver(_):
        return requests.post(url, files={k: (None, v) for k, v in TERMINAL.items()}, timeout=30).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(deliver, range(20)))
    assert statuses == [200] * 20
    row, events, total = state(db, call_id)
    assert total == 1 and len(events) == 1
    assert row.status == "completed"


def _accepted_call(db) -> str:
    with db.transaction() as session:
        row = Call(from_number="+919876543210", caller_id="0804", flow_url="http://x/", status="in-progress", sid=SID, created_at=utcnow())
        session.add(row)
    return row.id
