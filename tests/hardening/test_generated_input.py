"""Generated input at the StatusCallback endpoint: whatever arrives, never a 5xx, and every stored
payload strict JSON (json_valid on SQLite, ::jsonb on PostgreSQL); any order, exactly once."""

from __future__ import annotations

import gzip
import json
import socket
import uuid
from functools import reduce
from urllib.parse import urlencode

from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from tests.hardening.support import GENERATED, new_call
from tests.support.calls import callback_path
from tests.support.strict_json import assert_payloads_are_strict_json
from webapp.calls.status import KNOWN, next_status
from webapp.db import get_db
from webapp.exotel.callbacks import parse_callback
from webapp.models import Call, CallEvent

FIELDS = [
    "CallSid", "EventType", "Status", "DateUpdated", "DateCreated", "StartTime", "EndTime", "ConversationDuration",
    "Duration", "RecordingUrl", "CustomField", "AnsweredBy", "To", "From", "Direction", "Legs", "Cause",
]
CONTENT_TYPES = [
    "multipart/form-data", "multipart/form-data; boundary=x", "multipart/form-data; boundary=", "multipart/mixed",
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=latin-1", "application/json",
    "application/json; charset=utf-16", "application/vnd.exotel+json", "text/plain", "text/xml", "", "*/*",
    "application/octet-stream", "multipart/form-data; boundary=\"\u00e9\"", "application/json;;;",
]
LIMIT = {400, 413, 415}

texts = st.text(max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                           max_leaves=12)
times = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    st.sampled_from(["1970-01-01 05:30:00", "0000-00-00 00:00:00", "2026-13-45 99:99:99", "", "now", "9999-12-31 23:59:59"]),
    texts,
)
field_values = {
    "Status": st.sampled_from(sorted(KNOWN) + ["COMPLETED", "no_answer", "", "weird", "in progress"]) | texts,
    "EventType": st.sampled_from(["answered", "terminal", "ANSWERED", "", "other"]) | texts,
    "DateUpdated": times, "EndTime": times, "StartTime": times,
    "ConversationDuration": st.integers(-10**20, 10**20).map(str) | texts,
    "CallSid": st.text(max_size=100),
}


def _payloads_are_strict(app) -> None:
    with app.app_context():
        assert_payloads_are_strict_json(get_db())


def _status_of(app, call_id):
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.get(Call, call_id).status


@given(
    body=st.binary(max_size=2048) | texts.map(str.encode),
    content_type=st.sampled_from(CONTENT_TYPES) | st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30),
    method=st.sampled_from(["POST", "GET"]),
    query=st.lists(st.tuples(st.sampled_from(FIELDS) | texts, texts), max_size=4),
)
@GENERATED
def test_arbitrary_bodies_never_get_a_5xx(app, client, body, content_type, method, query):
    """Bytes, content types and query strings as anyone may send them: 2xx or a 4xx, never a 5xx."""
    call = new_call(app)
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        headers["Content-Type"].encode("latin-1")
    except (KeyError, UnicodeEncodeError):
        headers.pop("Content-Type", None)
    path = callback_path(call.id) + ("?" + urlencode(query) if query else "")
    response = client.open(path, method=method, data=body, headers=headers)
    note(f"{response.status_code} {response.data[:200]!r}")
    assert response.status_code < 500
    assert response.status_code in {200} | LIMIT
    assert _status_of(app, call.id) in KNOWN
    _payloads_are_strict(app)


@given(
    fields=st.fixed_dictionaries({}, optional={name: field_values.get(name, texts) for name in FIELDS if name != "Legs"}),
    extra=st.dictionaries(texts, texts, max_size=5),
    encoding=st.sampled_from(["multipart", "form", "json"]),
)
@GENERATED
def test_any_field_values_are_data_not_errors(app, client, fields, extra, encoding):
    """Every field optional, any value: stored (or a redelivery), and the call's status stays in the vocabulary."""
    call = new_call(app, sid=None, status="pending")
    payload = {**extra, **fields}
    path = callback_path(call.id)
    if encoding == "json":
        response = client.post(path, data=json.dumps(payload), content_type="application/json")
    else:  # NUL included: stored as U+FFFD
        response = client.post(path, data=payload, content_type="multipart/form-data" if encoding == "multipart" else None)
    if not payload:
        assert response.status_code == 400  # a callback without a field
        return
    assert response.status_code == 200, response.data
    assert response.get_json()["result"] in ("stored", "orphan", "duplicate")
    assert _status_of(app, call.id) in KNOWN
    _payloads_are_strict(app)


leg_json = st.one_of(
    st.lists(st.dictionaries(st.sampled_from(["Status", "OnCallDuration", "AnsweredBy", "Cause"]) | texts, json_values,
                             max_size=5), max_size=25),
    json_values,
)
leg_form = st.lists(
    st.tuples(st.integers(-3, 1000) | texts, st.sampled_from(["Status", "OnCallDuration", "AnsweredBy"]) | texts, texts),
    max_size=30,
)


@given(legs_json=leg_json, legs_form=leg_form, as_json=st.booleans())
@GENERATED
def test_any_legs_shape_is_accepted(app, client, legs_json, legs_form, as_json):
    """Legs as an array, an object, a scalar, flattened with odd indices, or a JSON string in a form field."""
    call = new_call(app)
    base = {"CallSid": call.sid, "EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30"}
    if as_json:
        response = client.post(callback_path(call.id), json={**base, "Legs": legs_json})
    else:
        form = list(base.items())
        form += [(f"Legs[{index}][{key}]", value) for index, key, value in legs_form]
        form.append(("Legs", json.dumps(legs_json)))
        response = client.post(callback_path(call.id), data=MultiDict(form), content_type="multipart/form-data")
    assert response.status_code == 200, response.data
    assert _status_of(app, call.id) == "completed"
    _payloads_are_strict(app)


# -- Hostile bodies: invalid bytes, surrogates, NaN, NUL, deep nesting, compression, chunked framing --

# Text as JSON can carry it: lone surrogates (as \\udxxx escapes) and NUL included.
wild_texts = st.text(st.characters(categories=["Cs"]) | st.sampled_from("\x00\ufffd\u00e9") | st.characters(), max_size=20)
wild_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), wild_texts)
wild_json = st.recursive(wild_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(wild_texts, inner, max_size=3),
                         max_leaves=10)
deep = st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth)


def _json_body(fields: dict, nan_text: bool) -> bytes:
    text = json.dumps(fields)  # NaN and Infinity as Python writes them, surrogates as escapes
    legs = fields.get("Legs")
    if isinstance(legs, str) and legs.startswith("["):  # `deep`: nested arrays, not a string, in JSON
        text = text.replace(json.dumps(legs), legs)
    return (text.replace('"NaN-here"', "NaN") if nan_text else text).encode()


def _form_body(fields: dict) -> bytes:
    return urlencode({k: json.dumps(v) if not isinstance(v, str) else v for k, v in fields.items()},
                     encoding="utf-8", errors="surrogatepass").encode()


@given(
    extra=st.dictionaries(wild_texts, wild_json, max_size=4),
    legs=wild_json | deep,
    encoding=st.sampled_from(["json", "form", "multipart"]),
    invalid=st.binary(min_size=1, max_size=4).filter(lambda b: not _is_utf8(b)) | st.none(),
    compress=st.booleans(),
    nan_text=st.booleans(),
)
@GENERATED
def test_hostile_bodies_are_stored_strict_or_refused(app, client, extra, legs, encoding, invalid, compress, nan_text):
    """Whatever the body holds: stored with its fields as strict JSON, or a 4xx; never a 5xx."""
    call = new_call(app)
    fields = {**extra, "CallSid": call.sid, "Status": "completed", "Legs": legs, "Bogus": "NaN-here"}
    if encoding == "json":
        body, content_type = _json_body(fields, nan_text), "application/json"
    elif encoding == "form":
        body, content_type = _form_body(fields), "application/x-www-form-urlencoded"
    else:
        parts = [(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in fields.items()]
        content_type, body = "multipart/form-data; boundary=hyp0thesis", b"".join(
            b'--hyp0thesis\r\nContent-Disposition: form-data; name="' + k.encode("utf-8", "surrogatepass")
            .replace(b'"', b"%22").replace(b"\r", b"").replace(b"\n", b"") + b'"\r\n\r\n'
            + v.encode("utf-8", "surrogatepass") + b"\r\n" for k, v in parts) + b"--hyp0thesis--\r\n"
    if invalid:
        body = body.replace(b"completed", b"completed" + invalid, 1) if encoding != "json" else body
    headers = {"Content-Type": content_type}
    if compress:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    response = client.post(callback_path(call.id), data=body, headers=headers)
    note(f"{response.status_code} {response.data[:300]!r}")
    assert response.status_code in {200} | LIMIT
    _payloads_are_strict(app)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _chunked(body: bytes, sizes: list[int]) -> bytes:
    framed, start = [], 0
    for size in sizes or [len(body)]:
        piece = body[start:start + size]
        if piece:
            framed.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        start += size
    if start < len(body):
        framed.append(b"%x\r\n%s\r\n" % (len(body) - start, body[start:]))
    return b"".join(framed) + b"0\r\n\r\n"


def _send_chunked(base_url: str, path: str, content_type: str, framed: bytes) -> int:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode() + framed)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1."), answer[:100]
    return int(answer.split(b" ", 2)[1])


@given(
    fields=st.dictionaries(wild_texts, wild_texts, max_size=6),
    encoding=st.sampled_from(["json", "form"]),
    sizes=st.lists(st.integers(1, 300), max_size=8),
    damage=st.sampled_from([None, "cut", "bad-size", "junk"]) | st.binary(min_size=1, max_size=3),
)
@settings(GENERATED, max_examples=max(10, GENERATED.max_examples // 5))
def test_chunked_bodies_over_real_http_are_stored_or_refused(live_app, fields, encoding, sizes, damage):
    """Real chunked framing, whole or damaged, through a real server: a 2xx only for a stored callback."""
    app, live = live_app
    call = new_call(app)
    payload = {**fields, "CallSid": call.sid, "Status": "busy"}
    body = _json_body(payload, False) if encoding == "json" else _form_body(payload)
    framed = _chunked(body, sizes)
    if damage == "cut":
        framed = framed[: len(framed) // 2]
    elif damage == "bad-size":
        framed = b"zz" + framed
    elif damage == "junk":
        framed = framed.replace(b"\r\n", b"\r\nX", 1)
    elif isinstance(damage, bytes):
        framed = framed[:-5] + damage + framed[-5:]
    content_type = "application/json" if encoding == "json" else "application/x-www-form-urlencoded"
    status = _send_chunked(live.url, callback_path(call.id), content_type, framed)
    note(f"{status} {framed[:200]!r}")
    assert status in {200} | LIMIT
    stored = _status_of(app, call.id) == "busy"
    assert stored == (status == 200)
    if damage is None:
        assert status == 200
    _payloads_are_strict(app)


# -- Any order, any number of times --------------------------------------------------------

EVENTS = {
    "ringing": {"Status": "ringing", "DateUpdated": "2026-11-27 14:00:02"},
    "answered": {"EventType": "answered", "Status": "in-progress", "DateUpdated": "2026-11-27 14:00:05",
                 "Legs": [{"Status": "in-progress", "OnCallDuration": 0, "AnsweredBy": "human"}]},
    "completed": {"EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30",
                  "EndTime": "2026-11-27 14:01:29", "ConversationDuration": 84,
                  "RecordingUrl": "https://recordings.example/x.mp3",
                  "Legs": [{"Status": "completed", "OnCallDuration": 84, "AnsweredBy": "human"}]},
    "busy": {"EventType": "terminal", "Status": "busy", "DateUpdated": "2026-11-27 14:00:20", "ConversationDuration": 0},
    "no-answer": {"EventType": "terminal", "Status": "no-answer", "DateUpdated": "2026-11-27 14:00:45"},
    "classic": {"Status": "completed", "DateUpdated": "2026-11-27 14:01:31", "RecordingUrl": ""},
    "settled": {"EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:03:30",
                "EndTime": "2026-11-27 14:01:29", "ConversationDuration": 85},
}


def _encode(client, path, payload, encoding):
    if encoding == "json":
        return client.post(path, json=payload)
    flat = []
    for key, value in payload.items():
        if key == "Legs":
            flat += [(f"Legs[{i}][{k}]", str(v)) for i, leg in enumerate(value) for k, v in leg.items()]
        else:
            flat.append((key, str(value)))
    if encoding == "query":
        return client.get(f"{path}?{urlencode(flat)}")
    return client.post(path, data=MultiDict(flat), content_type="multipart/form-data" if encoding == "multipart" else None)


def test_events_in_any_order_any_number_of_times(app):
    """The stored status is the status rules' fold over the distinct events; one row per distinct event."""
    client = app.test_client()
    tz = app.extensions["settings"].tz

    class Deliveries(RuleBasedStateMachine):
        @initialize(sid_known=st.booleans())
        def place(self, sid_known):
            self.sid = uuid.uuid4().hex
            call = new_call(app, sid=self.sid if sid_known else None, status="in-progress" if sid_known else "pending")
            self.call_id, self.start = call.id, call.status
            self.seen: list[str] = []  # distinct events, in order of first delivery

        @rule(name=st.sampled_from(sorted(EVENTS)), encoding=st.sampled_from(["multipart", "form", "json", "query"]))
        def deliver(self, name, encoding):
            response = _encode(client, callback_path(self.call_id), {"CallSid": self.sid, **EVENTS[name]}, encoding)
            assert response.status_code == 200, response.data
            first = name not in self.seen
            assert response.get_json()["result"] == ("stored" if first else "duplicate")
            if first:
                self.seen.append(name)

        @invariant()
        def stored_as_the_rules_say(self):
            if not hasattr(self, "call_id"):
                return
            proposals = [parse_callback({"CallSid": self.sid, **EVENTS[n]}, tz).proposed_status
                         for n in self.seen]
            expected = reduce(next_status, proposals, self.start)
            with app.app_context(), get_db().transaction(write=False) as session:
                call = session.get(Call, self.call_id)
                count = session.scalar(select(func.count()).select_from(CallEvent).where(CallEvent.call_id == self.call_id))
            assert call.status == expected
            assert count == len(self.seen)
            if self.seen:
                assert call.sid == self.sid  # a callback before the Sid was stored lands on its call and fills it
            if "answered" in self.seen:
                assert call.answered_at is not None

    runs = settings(GENERATED, max_examples=max(20, GENERATED.max_examples // 3), stateful_step_count=12)
    run_state_machine_as_test(Deliveries, settings=runs)
