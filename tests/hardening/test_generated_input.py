"""Generated input at the StatusCallback endpoint: whatever arrives, never a 5xx; any order, exactly once."""

from __future__ import annotations

import json
import uuid
from functools import reduce
from urllib.parse import urlencode

from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from tests.hardening.support import GENERATED, callback_path, new_call
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
    else:
        data = {key.replace("\x00", ""): value.replace("\x00", "") for key, value in payload.items()}
        response = client.post(path, data=data, content_type="multipart/form-data" if encoding == "multipart" else None)
    assert response.status_code == 200, response.data
    assert response.get_json()["result"] in ("stored", "orphan", "duplicate")
    assert _status_of(app, call.id) in KNOWN


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
