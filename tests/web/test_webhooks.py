"""The StatusCallback endpoint: auth, every encoding, sizes, exactly once, any order."""

from __future__ import annotations

import gzip
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests.support.credentials import SECRET_KEY
from tests.support.signin import sign_in
from tests.support.strict_json import assert_payloads_are_strict_json, strict_loads
from webapp.calls.signing import callback_token
from webapp.db import utcnow
from webapp.models import Call, CallEvent
from webapp.observability.logs import JsonFormatter

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


def multipart_body(fields: dict[str, str], boundary: str = "xyz") -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


MULTIPART_BODY = multipart_body(TERMINAL)
FORM_BODY = urlencode(TERMINAL).encode()
JSON_BODY = json.dumps(TERMINAL).encode()


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
        (dict(data=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x"), 400),
        # Each of these was answered 200 with an empty payload stored.
        (dict(data=MULTIPART_BODY[:-9], content_type="multipart/form-data; boundary=xyz"), 400),  # no closing delimiter
        (dict(data=MULTIPART_BODY, content_type="multipart/form-data; boundary=other"), 400),  # wrong boundary
        (dict(data=MULTIPART_BODY, content_type="multipart/form-data"), 400),  # no boundary
        (dict(data=b""), 400),  # empty, no Content-Type
        (dict(data=b"", content_type="application/x-www-form-urlencoded"), 400),
        (dict(data=b"", content_type="multipart/form-data; boundary=xyz"), 400),
        (dict(data=b"{}", content_type="application/json"), 400),
        (dict(data=gzip.compress(b"CallSid=x" * 100_000), content_type="application/x-www-form-urlencoded",
              headers={"Content-Encoding": "gzip"}), 413),  # a decompression bomb
        (dict(data=b"CallSid=x", content_type="application/x-www-form-urlencoded", headers={"Content-Encoding": "br"}), 415),
        (dict(data=b'{"Legs": ' + b"[" * 900 + b"]" * 900 + b"}", content_type="application/json"), 400),
        (dict(data=b'{"Legs": ' + b"[" * 2000 + b"]" * 2000 + b"}", content_type="application/json"), 400),
    ],
)
def test_bad_bodies_get_4xx_and_store_nothing(client, call, db, kwargs, status):
    response = client.post(url_for(call.id), **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    row, _, total = state(db, call.id)
    assert row.status == "in-progress"
    assert total == 0


@pytest.mark.parametrize(
    "body, content_type, headers",
    [
        (FORM_BODY + b"&Note=caf\xe9", "application/x-www-form-urlencoded", {}),  # emptied the whole form
        (gzip.compress(FORM_BODY + b"&Note=caf\xe9"), "application/x-www-form-urlencoded", {"Content-Encoding": "gzip"}),
        (gzip.compress(MULTIPART_BODY.replace(b"order-42", b"order-42\r\n--xyz\r\nContent-Disposition: form-data; "
                                                           b'name="Note"\r\n\r\ncaf\xe9')),
         "multipart/form-data; boundary=xyz", {"Content-Encoding": "gzip"}),
        (gzip.compress(JSON_BODY[:-1] + b', "Note": "caf\xe9"}'), "application/json", {"Content-Encoding": "x-gzip"}),
        (FORM_BODY + b"&Note=caf\xe9", "application/x-www-form-urlencoded", {"Transfer-Encoding": "chunked"}),
        (MULTIPART_BODY.replace(b"--xyz--", b'--xyz\r\nContent-Disposition: form-data; name="Note"; filename="n.txt"'
                                            b"\r\n\r\ncaf\xe9\r\n--xyz--"), "multipart/form-data; boundary=xyz", {}),
    ],
    ids=["invalid-byte", "gzip-form", "gzip-multipart", "gzip-json", "chunked-unmarked", "file-part"],
)
def test_every_field_the_callback_carried_is_recorded(client, call, db, body, content_type, headers):
    response = client.post(url_for(call.id), data=body, content_type=content_type, headers=headers)
    assert response.status_code == 200, response.data
    assert response.get_json() == {"result": "stored"}
    row, (event,), _ = state(db, call.id)
    assert row.status == "completed" and row.conversation_duration == 84
    assert json.loads(event.payload) == {**TERMINAL, "Note": "caf\ufffd"}
    assert_payloads_are_strict_json(db)


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


@pytest.mark.parametrize(
    "body, kept",
    [
        (b'{"CallSid": "%s", "EventType": "terminal", "Status": "completed", "Foo": "\\udc00"}', {"Foo": "\ufffd"}),
        (b'{"CallSid": "%s", "EventType": "terminal", "Status": "completed", "Foo": NaN, "Bar": [Infinity, 1e400]}',
         {"Foo": "NaN", "Bar": ["Infinity", "Infinity"]}),
        (b'{"CallSid": "%s", "EventType": "terminal", "Status": "completed", "Foo": "a\\u0000b", "\\ud800": "x"}',
         {"Foo": "a\ufffdb", "\ufffd": "x"}),
    ],
    ids=["lone-surrogate", "nan", "nul"],
)
def test_json_callbacks_are_stored_as_strict_json_and_their_call_renders(app, client, user, call, db, body, kept):
    response = client.post(url_for(call.id), data=body % SID.encode(), content_type="application/json")
    assert response.get_json() == {"result": "stored"}
    row, (event,), _ = state(db, call.id)
    assert row.status == "completed"
    assert_payloads_are_strict_json(db)
    assert strict_loads(event.payload).items() >= kept.items()

    api_token = _api_token(app)
    answer = client.get(f"/api/calls/{call.id}", headers={"Authorization": f"Bearer {api_token}"})
    assert answer.status_code == 200
    strict_loads(answer.data)
    assert sign_in(client).status_code == 302
    page = client.get(f"/calls/{call.id}")
    assert page.status_code == 200
    page.get_data(as_text=True)


def test_a_payload_stored_before_payloads_were_strict_still_renders(client, user, call, db):
    # Rows written by earlier versions: a lone surrogate escape, NUL, NaN, nested 900 deep.
    with db.transaction() as session:
        for payload in ('{"Foo":"\\udc00","Nul":"\\u0000"}', '{"Foo":NaN}', '{"Legs":' + "[" * 900 + "]" * 900 + "}"):
            session.add(CallEvent(call_id=call.id, call_sid=SID, event_type="status", status="ringing",
                                  received_at=utcnow(), payload=payload, dedup_key=payload[:40]))
    assert sign_in(client).status_code == 302
    page = client.get(f"/calls/{call.id}")
    assert page.status_code == 200
    assert "\ufffd" in page.get_data(as_text=True)


def _api_token(app) -> str:
    from webapp.accounts import create_token
    from webapp.db import get_db

    with app.app_context():
        return create_token(get_db(), "webhook-tests")


def test_legs_nested_2000_deep_in_a_form_field_are_stored_as_text(client, call, db):
    deep = "[" * 2000 + "]" * 2000
    response = client.post(url_for(call.id), data={**TERMINAL, "Legs": deep}, content_type="multipart/form-data")
    assert response.status_code == 200, response.data
    row, (event,), _ = state(db, call.id)
    assert row.status == "completed" and json.loads(event.payload)["Legs"] == deep
    assert_payloads_are_strict_json(db)


def test_answered_by_comes_from_the_leg_that_answered(client, call, db):
    fields = {k: v for k, v in TERMINAL.items() if not k.startswith("Legs")}
    legs = {"Legs[0][Status]": "completed", "Legs[0][OnCallDuration]": "0", "Legs[0][AnsweredBy]": "NA",
            "Legs[1][Status]": "completed", "Legs[1][OnCallDuration]": "84", "Legs[1][AnsweredBy]": "HUMAN"}
    assert client.post(url_for(call.id), data={**fields, **legs}, content_type="multipart/form-data").status_code == 200
    row, _, _ = state(db, call.id)
    assert row.answered_by == "HUMAN"


def test_a_leg_that_says_only_na_leaves_answered_by_for_a_later_event(client, call, db):
    answered = {**ANSWERED, "Legs[0][Status]": "in-progress", "Legs[0][AnsweredBy]": "NA"}
    assert client.post(url_for(call.id), data=answered).status_code == 200
    assert state(db, call.id)[0].answered_by is None
    assert client.post(url_for(call.id), data=TERMINAL).status_code == 200
    assert state(db, call.id)[0].answered_by == "human"


# -- No log line carries a callback token ---------------------------------------------------


def _log_text(caplog) -> str:
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_no_error_path_logs_the_callback_token(client, call, db, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    token = callback_token(SECRET_KEY, call.id)
    sent = [
        dict(data=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x"),
        dict(data=b"", content_type="application/x-www-form-urlencoded"),
        dict(data="x" * (65 * 1024), content_type="application/x-www-form-urlencoded"),
        dict(data="<xml/>", content_type="text/xml"),
        dict(data=b'{"Legs": ' + b"[" * 2000 + b"]" * 2000 + b"}", content_type="application/json"),
        dict(data=b"CallSid=x", content_type="application/x-www-form-urlencoded", headers={"Content-Encoding": "br"}),
    ]
    statuses = [client.post(url_for(call.id), **kwargs).status_code for kwargs in sent]
    assert statuses == [400, 400, 413, 415, 400, 415]
    assert client.post(f"/webhooks/exotel/{call.id}/{token[:-1]}x", data=TERMINAL).status_code == 403

    def fails(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("webapp.web.machines.webhooks.record_event", fails)
    assert client.post(url_for(call.id), data=TERMINAL).status_code == 500

    def database_down(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr("webapp.web.machines.webhooks.record_event", database_down)
    assert client.post(url_for(call.id), data=TERMINAL).status_code == 503

    logged = _log_text(caplog)
    assert "unhandled error on POST /webhooks/exotel/<call_id>/<token>" in logged
    assert "database unavailable on POST /webhooks/exotel/<call_id>/<token>" in logged
    assert token not in logged and token[:-1] not in logged
