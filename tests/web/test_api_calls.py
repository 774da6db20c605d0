"""POST/GET /api/calls against the simulator over real HTTP: answers, rows, idempotency."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from sqlalchemy import func, select

from tests.support.strict_json import strict_json
from tests.support.waiting import wait_for
from webapp.models import Call, CallEvent

GOOD = {"from": "+91 98765 43210", "app_id": "4242", "custom_field": "order-42"}


def count_calls(db) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Call))


def only_call(db) -> Call:
    with db.transaction(write=False) as session:
        return session.scalars(select(Call)).one()


def wait_final(url: str, headers: dict, timeout: float = 15.0) -> dict:
    def final() -> dict | None:
        body = requests.get(url, headers=headers, timeout=5).json()
        return body if body["final"] and len(body["events"]) >= 1 and body.get("ended_at") else None

    return wait_for(final, timeout, 0.05, what="call final")


def test_a_call_goes_from_placed_to_completed_with_two_events(live_app, auth_headers, sim):
    app, live = live_app
    response = requests.post(f"{live.url}/api/calls", json=GOOD, headers=auth_headers, timeout=10)
    assert response.status_code == 201, response.text
    call = response.json()
    assert call["sid"] and call["status"] == "in-progress"
    assert call["from"] == "+919876543210"
    assert call["flow_url"] == "http://my.exotel.com/testaccount/exoml/start_voice/4242"
    assert response.headers["Location"] == f"/api/calls/{call['id']}"

    final = wait_final(f"{live.url}/api/calls/{call['id']}", auth_headers)
    assert final["status"] == "completed"
    assert final["answered_at"] and final["ended_at"]
    assert final["answered_at"] < final["ended_at"]
    assert final["conversation_duration"] > 0
    assert final["recording_url"] == f"{sim.base_url}/recordings/testaccount/{call['sid']}.wav"
    assert [e["event_type"] for e in final["events"]] == ["answered", "terminal"]
    assert final["events"][1]["payload"]["CustomField"] == "order-42"
    truth = sim.state.calls[call["sid"]]
    assert truth["conversation_duration"] == final["conversation_duration"]


@pytest.mark.parametrize("number, status", [("+919876543211", "busy"), ("+919876543212", "no-answer"), ("+919876543213", "failed")])
def test_unanswered_outcomes_are_recorded(live_app, auth_headers, number, status, sim):
    sim.state.configure(speed=0.002)
    app, live = live_app
    call = requests.post(f"{live.url}/api/calls", json={**GOOD, "from": number}, headers=auth_headers, timeout=10).json()
    final = wait_final(f"{live.url}/api/calls/{call['id']}", auth_headers)
    assert final["status"] == status
    assert final["answered_at"] is None
    assert [e["event_type"] for e in final["events"]] == ["terminal"]


def test_json_callbacks_are_recorded_too(live_app, auth_headers, sim, db):
    """The client can ask for JSON callbacks; the endpoint stores them the same way."""
    from webapp.calls.placing import callback_url
    from webapp.exotel import ConnectRequest, ExotelClient

    app, live = live_app
    response = requests.post(f"{live.url}/api/calls", json={**GOOD, "status_callback_events": []}, headers=auth_headers, timeout=10)
    assert response.status_code == 201
    # A second call placed directly through the client, asking for JSON bodies.
    from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN, SECRET_KEY

    with app.app_context():
        from webapp.calls.placing import _create_pending
        from webapp.calls.validation import validate_call

        data = validate_call(GOOD, account_sid=ACCOUNT_SID, default_caller_id="08047112345")
        pending = _create_pending(db, data, None, None)
    client = ExotelClient(ACCOUNT_SID, API_KEY, API_TOKEN, sim.base_url)
    client.connect_to_flow(
        ConnectRequest(
            from_number=data.from_number,
            caller_id=data.caller_id,
            flow_url=data.flow_url,
            status_callback=callback_url(live.url, SECRET_KEY, pending.id),
            status_callback_events=("answered", "terminal"),
            status_callback_content_type="application/json",
        )
    )
    client.close()
    final = wait_final(f"{live.url}/api/calls/{pending.id}", auth_headers)
    assert final["status"] == "completed" and final["sid"]
    assert isinstance(final["events"][1]["payload"]["Legs"], list)
    first = wait_final(f"{live.url}/api/calls/{response.json()['id']}", auth_headers)
    # Without events Exotel sends one classic callback at the end.
    assert [e["event_type"] for e in first["events"]] == ["status"]
    assert first["status"] == "completed"


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"app_id": "1"}, 422, "from"),
        ({"from": "12", "app_id": "1"}, 422, "from"),
        ({"from": "+919876543210"}, 422, "flow_url"),
        ({"from": "+919876543210", "app_id": "1", "flow_url": "http://my.exotel.com/x/exoml/start_voice/1"}, 422, "flow_url"),
        ({"from": "+919876543210", "flow_url": "javascript:alert(1)"}, 422, "flow_url"),
        ({"from": "+919876543210", "app_id": "1", "time_limit": 0}, 422, "time_limit"),
        ({"from": "+919876543210", "app_id": "1", "time_limit": 14401}, 422, "time_limit"),
        ({"from": "+919876543210", "app_id": "1", "time_limit": "ten"}, 422, "time_limit"),
        ({"from": "+919876543210", "app_id": "1", "time_out": 61}, 422, "time_out"),
        ({"from": "+919876543210", "app_id": "1", "custom_field": "x" * 129}, 422, "custom_field"),
        ({"from": "+919876543210", "app_id": "1", "call_type": "robo"}, 422, "call_type"),
        ({"from": "+919876543210", "app_id": "1", "status_callback_events": ["ringing"]}, 422, "status_callback_events"),
        ({"from": "+919876543210", "app_id": "1", "caller_id": "not a phone"}, 422, "caller_id"),
        ({"from": "+919876543210", "app_id": "1", "flowurl": "typo"}, 422, "flowurl"),
        ([1, 2], 400, None),
    ],
)
def test_bad_input_is_refused_and_nothing_is_sent(client, auth_headers, sim, db, body, status, field):
    response = client.post("/api/calls", json=body, headers=auth_headers)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    assert error.get("field") == field
    assert sim.state.connect_requests == 0
    assert count_calls(db) == 0


@pytest.mark.sqlite_only
def test_malformed_json_and_wrong_content_type(client, auth_headers, sim):
    assert client.post("/api/calls", data="{nope", headers={**auth_headers, "Content-Type": "application/json"}).status_code == 400
    assert client.post("/api/calls", data="from=1", headers={**auth_headers, "Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    assert sim.state.connect_requests == 0


@pytest.mark.sqlite_only
def test_caller_id_is_required_without_a_default(database_url, sim, tmp_path):
    from tests.support.apps import make_app
    from webapp.accounts import create_token
    from webapp.db import get_db

    app = make_app(database_url, sim.base_url, EXOTEL_CALLER_ID="")
    with app.app_context():
        token = create_token(get_db(), "t")
    response = app.test_client().post("/api/calls", json=GOOD, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "caller_id"
    app.extensions["database"].engine.dispose()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_api_needs_a_valid_token(client, headers, sim):
    for response in (client.post("/api/calls", json=GOOD, headers=headers), client.get("/api/calls", headers=headers)):
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
    assert sim.state.connect_requests == 0


# Each Exotel error class: the row's status, its recorded error, and the API's answer.
@pytest.mark.parametrize(
    "fault, http, row_status, code",
    [
        (dict(mode="status", status=400, place=False), 502, "rejected", "exotel_rejected"),
        (dict(mode="status", status=402, place=False), 502, "rejected", "exotel_rejected"),
        (dict(mode="status", status=500, place=True), 502, "unknown", "exotel_error"),
        (dict(mode="status", status=503, place=False), 502, "unknown", "exotel_error"),
        (dict(mode="timeout", delay=3.0, place=True), 504, "unknown", "exotel_timeout"),
        (dict(mode="garbage", place=True), 502, "unknown", "exotel_error"),
        (dict(mode="reset", place=True), 502, "unknown", "exotel_error"),
        (dict(mode="ratelimit", retry_after=5, times=5), 502, "rejected", "exotel_rejected"),
    ],
)
def test_exotel_errors(client, auth_headers, sim, db, fault, http, row_status, code):
    sim.state.add_fault(**fault)
    response = client.post("/api/calls", json=GOOD, headers=auth_headers)
    assert response.status_code == http, response.text
    body = response.get_json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["call"]["status"] == row_status
    call = only_call(db)
    assert call.status == row_status
    assert call.error_message and call.sid is None
    assert sim.state.connect_requests == 1  # never re-sent


def test_forbidden_by_exotel_is_rejected_with_its_message(client, auth_headers, sim, db):
    response = client.post("/api/calls", json={**GOOD, "from": "+919876543219"}, headers=auth_headers)
    assert response.status_code == 502
    body = response.get_json()
    assert body["error"]["exotel_status"] == 403
    assert "verif" in body["error"]["message"].lower()
    call = only_call(db)
    assert call.status == "rejected" and call.error_code and "verif" in call.error_message.lower()


def test_wrong_credentials_are_a_rejection(database_url, sim):
    from tests.support.apps import make_app
    from webapp.accounts import create_token
    from webapp.db import get_db

    app = make_app(database_url, sim.base_url, EXOTEL_API_TOKEN="wrong-token")
    with app.app_context():
        token = create_token(get_db(), "t")
    response = app.test_client().post("/api/calls", json=GOOD, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 502
    assert response.get_json()["error"]["exotel_status"] == 401
    assert response.get_json()["call"]["status"] == "rejected"
    assert "wrong-token" not in response.text
    app.extensions["database"].engine.dispose()


def test_rate_limit_is_waited_out_when_short(client, auth_headers, sim, db):
    sim.state.add_fault(mode="ratelimit", retry_after=1, times=1)
    started = time.monotonic()
    response = client.post("/api/calls", json=GOOD, headers=auth_headers)
    assert response.status_code == 201
    assert time.monotonic() - started >= 1.0
    assert sim.state.connect_requests == 2
    assert len(sim.state.calls) == 1  # one logical call placed once
    assert only_call(db).status == "in-progress"


def test_exotel_unreachable_is_reported_and_nothing_placed(database_url, sim, db):
    from tests.support.apps import make_app
    from webapp.accounts import create_token
    from webapp.db import get_db

    app = make_app(database_url, "http://127.0.0.1:9", EXOTEL_CONNECT_TIMEOUT=1.0)
    with app.app_context():
        token = create_token(get_db(), "t")
        response = app.test_client().post("/api/calls", json=GOOD, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 502
        assert response.get_json()["error"]["code"] == "exotel_unreachable"
        assert response.get_json()["call"]["status"] == "rejected"
    app.extensions["database"].engine.dispose()


def test_idempotency_key_returns_the_first_call(client, auth_headers, sim, db):
    headers = {**auth_headers, "Idempotency-Key": "order-42"}
    first = client.post("/api/calls", json=GOOD, headers=headers)
    again = client.post("/api/calls", json=GOOD, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert sim.state.connect_requests == 1
    other = client.post("/api/calls", json={**GOOD, "custom_field": "different"}, headers=headers)
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_conflict"
    assert count_calls(db) == 1


def test_idempotency_keys_are_per_token(client, app, auth_headers, sim, db):
    from webapp.accounts import create_token
    from webapp.db import get_db

    with app.app_context():
        second = create_token(get_db(), "second")
    client.post("/api/calls", json=GOOD, headers={**auth_headers, "Idempotency-Key": "k"})
    response = client.post("/api/calls", json=GOOD, headers={"Authorization": f"Bearer {second}", "Idempotency-Key": "k"})
    assert response.status_code == 201
    assert count_calls(db) == 2


def test_concurrent_retries_with_one_key_place_one_call(live_app, auth_headers, sim, db):
    from concurrent.futures import ThreadPoolExecutor

    app, live = live_app
    headers = {**auth_headers, "Idempotency-Key": "burst"}
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: requests.post(f"{live.url}/api/calls", json=GOOD, headers=headers, timeout=10), range(8)))
    assert sorted(r.status_code for r in responses).count(201) == 1
    assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
    assert count_calls(db) == 1
    assert sim.state.connect_requests == 1


def test_list_filters_and_keyset_pages(client, auth_headers, sim):
    ids = []
    for number in ("+919876543210", "+919876543211", "+919876543215", "+919876543216", "+919876543219"):
        body = client.post("/api/calls", json={**GOOD, "from": number}, headers=auth_headers).get_json()
        ids.append(body["call"]["id"] if "call" in body else body["id"])  # 502 bodies carry the call
    page = client.get("/api/calls?limit=2", headers=auth_headers).get_json()
    assert [c["id"] for c in page["calls"]] == ids[::-1][:2]
    seen = [c["id"] for c in page["calls"]]
    while page["next_cursor"]:
        page = client.get(f"/api/calls?limit=2&cursor={page['next_cursor']}", headers=auth_headers).get_json()
        seen += [c["id"] for c in page["calls"]]
    assert seen == ids[::-1]
    rejected = client.get("/api/calls?status=rejected", headers=auth_headers).get_json()["calls"]
    assert [c["from"] for c in rejected] == ["+919876543219"]
    by_number = client.get("/api/calls?from=09876543211", headers=auth_headers).get_json()["calls"]
    assert [c["from"] for c in by_number] == ["+919876543211"]
    assert client.get("/api/calls?since=2000-01-01&until=2000-01-02", headers=auth_headers).get_json()["calls"] == []
    for bad in ("status=nope", "limit=0", "limit=abc", "since=yesterday", "cursor=zzz", "from=12"):
        response = client.get(f"/api/calls?{bad}", headers=auth_headers)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["message"]


def test_show_call_unknown_id(client, auth_headers):
    assert client.get("/api/calls/does-not-exist", headers=auth_headers).status_code == 404


def test_callback_before_the_sid_is_stored_lands_on_its_call(client, app, auth_headers, sim, db):
    """Exotel may call back before its own 200 reaches us; the row was committed first."""
    from tests.support.credentials import SECRET_KEY
    from webapp.calls.signing import callback_token

    sim.state.add_fault(mode="timeout", delay=3.0, place=True)
    response = client.post("/api/calls", json=GOOD, headers=auth_headers)
    assert response.status_code == 504
    call = only_call(db)
    assert call.status == "unknown" and call.sid is None
    sid = next(iter(sim.state.calls))
    token = callback_token(SECRET_KEY, call.id)
    answer = client.post(
        f"/webhooks/exotel/{call.id}/{token}",
        data={"CallSid": sid, "EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:00:00", "ConversationDuration": "12"},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    call = only_call(db)
    assert call.sid == sid and call.status == "completed" and call.conversation_duration == 12
    with db.transaction(write=False) as session:
        assert session.scalar(select(CallEvent.call_id)) == call.id


def refused(response, status: int | tuple[int, ...], field: str | None) -> dict:
    """The contract's error answer, as a strict JSON parser reads it; its `error`."""
    assert response.status_code in ((status,) if isinstance(status, int) else status), response.get_data(as_text=True)
    error = strict_json(response)["error"]
    assert error["code"] and error["message"]
    assert error.get("field") == field
    return error


def b64(raw: bytes | str) -> str:
    raw = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "limit",
    ["%C2%B2", "%E2%91%A0", "%D9%A3", "%EF%BC%95", "9" * 5000, "1e2", "-1", "+5", "5.0", "0x10", "201", "%00", "5%00", " 5"],
)
def test_odd_limits_are_refused(client, auth_headers, limit):
    """Only 1..200 in ASCII digits: superscripts, other scripts' digits and 5,000 nines are a 400, not int()'s crash."""
    refused(client.get(f"/api/calls?limit={limit}", headers=auth_headers), 400, "limit")


@pytest.mark.parametrize(
    "name, value",
    [
        ("since", "0001-01-01T00:00:00+05:00"),
        ("until", "9999-12-31T23:59:59-05:00"),
        ("since", "0001-01-01T00:00:00.000001+00:00:01"),
        ("until", "9999-12-31T23:59:59.999999-23:59"),
        ("since", "0001-01-01T04:59:59+05:00"),
    ],
)
def test_dates_whose_offset_leaves_the_calendar_are_refused(client, auth_headers, name, value):
    """A zone offset that moves a bound before year 1 or after 9999 in UTC is a 400 naming the field."""
    response = client.get("/api/calls", query_string={name: value}, headers=auth_headers)
    error = refused(response, 400, name)
    assert "range" in error["message"]


def test_the_whole_calendar_is_still_a_valid_range(client, auth_headers, sim):
    """The extremes themselves, in UTC or with an offset that stays inside the calendar, list calls as usual."""
    call = client.post("/api/calls", json=GOOD, headers=auth_headers).get_json()
    for query in (
        {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
        {"since": "0001-01-01", "until": "9999-12-31"},
        {"since": "0001-01-01T05:00:00+05:00", "until": "9999-12-31T18:00:00-05:00"},
    ):
        response = client.get("/api/calls", query_string=query, headers=auth_headers)
        assert response.status_code == 200, (query, response.get_data(as_text=True))
        assert [c["id"] for c in strict_json(response)["calls"]] == [call["id"]]


TAMPERED_CURSORS = {
    "garbage bytes": b64(b"\xff\xfe\x00garbage"),
    "not a list": b64(json.dumps({"a": 1})),
    "two keys": b64(json.dumps({"2024-01-01T00:00:00+00:00": 1, "x": 2})),
    "numbers": b64(json.dumps([1, 2])),
    "id not text": b64(json.dumps(["2024-01-01T00:00:00+00:00", 5])),
    "naive time": b64(json.dumps(["2024-01-01T00:00:00", "x"])),
    "three parts": b64(json.dumps(["2024-01-01T00:00:00+00:00", "x", "y"])),
    "year 1 east": b64(json.dumps(["0001-01-01T00:00:00+05:00", "x"])),
    "year 9999 west": b64(json.dumps(["9999-12-31T23:59:59-05:00", "x"])),
    "nested deep": b64("[" * 100_000),
    "huge": b64(json.dumps(["2024-01-01T00:00:00+00:00", "x" * 200_000])),
    "huge number": b64("[" + "9" * 5000 + ', "x"]'),
    "NUL in id": b64(json.dumps(["2024-01-01T00:00:00+00:00", "a\u0000b"])),
    "surrogate in id": b64('["2024-01-01T00:00:00+00:00", "\\ud800"]'),
    "NaN": b64('[NaN, "x"]'),
    "raw NUL": "%00",
}


@pytest.mark.parametrize("cursor", TAMPERED_CURSORS.values(), ids=TAMPERED_CURSORS.keys())
def test_tampered_cursors_are_refused(client, auth_headers, cursor):
    """A cursor this server did not give out is a 400 on cursor, whatever it decodes to."""
    error = refused(client.get(f"/api/calls?cursor={cursor}", headers=auth_headers), 400, "cursor")
    assert error["code"] == "invalid_cursor"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000, "[" * 100_000 + "]" * 100_000])
def test_json_nested_too_deep_is_a_400(client, auth_headers, sim, db, body):
    """Python's parser gives up on 100,000 levels with RecursionError: that is the sender's fault, a 400."""
    response = client.post("/api/calls", data=body, headers={**auth_headers, "Content-Type": "application/json"})
    error = refused(response, 400, None)
    assert error["code"] == "invalid_json"
    assert sim.state.connect_requests == 0
    assert count_calls(db) == 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_in_the_body_are_a_400(client, auth_headers, sim, db, constant):
    body = '{"from": "+919876543210", "app_id": "4242", "time_limit": ' + constant + "}"
    response = client.post("/api/calls", data=body, headers={**auth_headers, "Content-Type": "application/json"})
    assert refused(response, 400, None)["code"] == "invalid_json"
    assert sim.state.connect_requests == 0 and count_calls(db) == 0


# Raw JSON text: "\ud800" and "\u0000" are escapes that json.loads turns into a lone surrogate and a NUL.
HOSTILE_BODIES = [
    ('{"from": "+919876543210", "app_id": "4242", "custom_field": "order-\\ud800"}', "custom_field"),
    ('{"from": "+919876543210", "flow_url": "http://my.exotel.com/x/\\ud800"}', "flow_url"),
    ('{"from": "+919876543210", "flow_url": "http://my.exotel.com/x/\\udfff/y"}', "flow_url"),
    ('{"from": "+91987654\\ud8003210", "app_id": "4242"}', "from"),
    ('{"from": "+919876543210", "app_id": "4242", "caller_id": "0804711\\ud800"}', "caller_id"),
    ('{"from": "+919876543210", "app_id": "42\\ud80042"}', "app_id"),
    ('{"from": "+919876543210", "app_id": "4242", "call_type": "trans\\ud800"}', "call_type"),
    ('{"from": "+919876543210", "app_id": "4242", "status_callback_events": ["terminal\\ud800"]}', "status_callback_events"),
    ('{"from": "+919876543210", "app_id": "4242", "\\ud800": 1}', None),
    ('{"from": "+919876543210", "flow_url": "http://my.exotel.com/x/\\u0000"}', "flow_url"),
    ('{"from": "+919876543210", "flow_url": "http://my.exotel.com/x\\u0000y/exoml"}', "flow_url"),
    ('{"from": "+919876543210", "app_id": "4242", "custom_field": "a\\u0000b"}', "custom_field"),
    ('{"from": "+9198765\\u000043210", "app_id": "4242"}', "from"),
    ('{"from": "+919876543210", "app_id": "4242", "caller_id": "08047112345\\u0000"}', "caller_id"),
    ('{"from": "+919876543210", "app_id": "4242\\u0000"}', "app_id"),
    ('{"from": "+919876543210", "app_id": "4242", "call_type": "\\u0000"}', "call_type"),
    ('{"from": "+919876543210", "app_id": "4242", "status_callback_events": ["\\u0000"]}', "status_callback_events"),
    ('{"from": "+919876543210", "app_id": "4242", "\\u0000": 1}', None),
    ('{"from": "+919876543210", "app_id": "4242", "custom_field": "%s"}' % ("x" * 100_000), "custom_field"),
]


@pytest.mark.parametrize("body, field", HOSTILE_BODIES)
def test_nul_and_lone_surrogates_in_the_body_are_refused(client, auth_headers, sim, db, body, field):
    """Text that neither database can store nor Exotel receive: a 4xx naming the field, nothing sent, no row."""
    response = client.post("/api/calls", data=body, headers={**auth_headers, "Content-Type": "application/json"})
    refused(response, (400, 422), field)
    assert sim.state.connect_requests == 0
    assert count_calls(db) == 0


def test_nul_in_the_idempotency_key_is_refused(client, auth_headers, sim, db):
    response = client.post("/api/calls", json=GOOD, headers={**auth_headers, "Idempotency-Key": "retry-\x00-1"})
    assert refused(response, 400, None)["code"] == "invalid_idempotency_key"
    assert sim.state.connect_requests == 0 and count_calls(db) == 0


@pytest.mark.parametrize(
    "query, field",
    [
        ("custom_field=%00", "custom_field"),
        ("custom_field=order%00", "custom_field"),
        ("custom_field=" + "x" * 1000, "custom_field"),
        ("from=%2B91%009876543210", "from"),
        ("status=%00", "status"),
        ("since=2024-01-01%00", "since"),
        ("until=%00", "until"),
    ],
)
def test_nul_in_list_filters_is_refused(client, auth_headers, query, field):
    refused(client.get(f"/api/calls?{query}", headers=auth_headers), 400, field)


@pytest.mark.parametrize("call_id", ["%00", "abc%00def", "%ED%A0%80", "x" * 65])
def test_ids_no_call_can_have_are_not_found(client, auth_headers, call_id):
    refused(client.get(f"/api/calls/{call_id}", headers=auth_headers), 404, None)


def test_stored_payloads_come_back_as_strict_json(client, app, auth_headers, sim, db):
    """A payload stored before it was checked (NaN, a lone surrogate, NUL) still reaches the client as strict JSON."""
    call = strict_json(client.post("/api/calls", json=GOOD, headers=auth_headers))
    with db.transaction() as session:
        session.add(CallEvent(
            call_id=call["id"], call_sid=call["sid"], event_type="status", status="completed", dedup_key="legacy",
            payload='{"Status": "completed", "Score": NaN, "Big": Infinity, "Foo": "\\udc00", "Bar": "a\\u0000b"}',
        ))
    body = strict_json(client.get(f"/api/calls/{call['id']}", headers=auth_headers))
    payload = next(event["payload"] for event in body["events"] if event["event_type"] == "status" and "Foo" in event["payload"])
    assert payload == {"Status": "completed", "Score": "NaN", "Big": "Infinity", "Foo": "\ufffd", "Bar": "a\u0000b"}
