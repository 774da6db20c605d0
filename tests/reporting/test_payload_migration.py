"""Migration 0003 rewrites payloads that earlier versions stored and strict JSON refuses."""

from __future__ import annotations

import json

from sqlalchemy import text

from tests.hardening.support import new_call
from tests.support.strict_json import assert_payloads_are_strict_json, strict_loads
from webapp.db import utcnow

# As earlier versions stored them (json.dumps with ensure_ascii and allow_nan).
OLD_PAYLOADS = {
    "lone-surrogate": '{"CallSid":"s","Foo":"\\udc00x"}',
    "nan": '{"CallSid":"s","Foo":NaN,"Bar":[Infinity,-Infinity]}',
    "nul": '{"CallSid":"s","Foo":"a\\u0000b"}',
    "emoji": '{"CallSid":"s","Foo":"\\ud83d\\ude00"}',
    "plain": '{"CallSid":"s","Foo":"NaN-looking text"}',
}
EXPECTED = {
    "lone-surrogate": {"CallSid": "s", "Foo": "\ufffdx"},
    "nan": {"CallSid": "s", "Foo": "NaN", "Bar": ["Infinity", "-Infinity"]},
    "nul": {"CallSid": "s", "Foo": "a\ufffdb"},
    "emoji": {"CallSid": "s", "Foo": "\U0001f600"},
    "plain": {"CallSid": "s", "Foo": "NaN-looking text"},
}


def test_upgrade_makes_old_payloads_strict_json_and_keeps_the_rest(app, client, db, runner, auth_headers):
    call = new_call(app)
    try:
        assert runner.invoke(args=["db", "downgrade", "0002"]).exit_code == 0
        with db.engine.begin() as connection:
            for name, payload in OLD_PAYLOADS.items():
                connection.execute(
                    text("INSERT INTO call_events (call_id, call_sid, event_type, status, received_at, payload, dedup_key) "
                         "VALUES (:call, 's', 'status', 'ringing', :now, :payload, :key)"),
                    {"call": call.id, "now": utcnow(), "payload": payload, "key": name},
                )
    finally:
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
    assert assert_payloads_are_strict_json(db) == len(OLD_PAYLOADS)
    with db.engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT dedup_key, payload FROM call_events")).all())
    assert {name: json.loads(payload) for name, payload in stored.items()} == EXPECTED
    assert stored["plain"] == OLD_PAYLOADS["plain"] and stored["emoji"] == OLD_PAYLOADS["emoji"]  # untouched
    answer = client.get(f"/api/calls/{call.id}", headers=auth_headers)
    assert answer.status_code == 200
    assert len(strict_loads(answer.data)["events"]) == len(OLD_PAYLOADS)
