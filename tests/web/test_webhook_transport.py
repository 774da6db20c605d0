"""Callbacks over real HTTP: chunked bodies (whole, malformed, cut short) through the development
server and gunicorn, and request logs without the callback token."""

from __future__ import annotations

import json
import logging
import socket

import pytest
import requests

from tests.hardening.support import new_call
from tests.support.calls import callback_path
from tests.support.credentials import SECRET_KEY
from tests.support.processes import gunicorn, stop
from tests.support.strict_json import assert_payloads_are_strict_json, strict_loads
from webapp.calls.signing import callback_token
from webapp.db import get_db
from webapp.models import Call, CallEvent

FIELDS = {"EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30",
          "ConversationDuration": "84", "Legs[0][AnsweredBy]": "HUMAN"}


def bodies(sid: str) -> dict[str, tuple[str, bytes]]:
    """The same callback in each encoding Exotel may use: (Content-Type, body)."""
    fields = {"CallSid": sid, **FIELDS}
    multipart = b"".join(
        f'--b0undary\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ) + b"--b0undary--\r\n"
    return {
        "form": ("application/x-www-form-urlencoded", "&".join(f"{k}={v}" for k, v in fields.items()).encode()),
        "json": ("application/json", json.dumps(fields).encode()),
        "multipart": ("multipart/form-data; boundary=b0undary", multipart),
    }


def chunked(body: bytes, size: int = 7) -> bytes:
    """`body` in chunked framing, `size` bytes a chunk."""
    pieces = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


def send(base_url: str, path: str, content_type: str, framed: bytes, *, cut: bool = False) -> int:
    """POST `framed` (already chunk-framed) on a raw socket; the answer's status (0: none came)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        sock.sendall(head.encode() + framed)
        if cut:
            sock.shutdown(socket.SHUT_WR)  # the sender goes away mid-body
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def events_of(app, call_id):
    with app.app_context(), get_db().transaction(write=False) as session:
        call = session.get(Call, call_id)
        events = session.query(CallEvent).filter(CallEvent.call_id == call_id).all()
        return call, events


def malformed(body: bytes) -> dict[str, bytes]:
    return {
        "bad-chunk-size": b"zz\r\n" + body + b"\r\n0\r\n\r\n",
        "short-chunk": b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) + 50, body),
    }


@pytest.mark.parametrize("encoding", ["form", "json", "multipart"])
def test_a_chunked_callback_is_recorded_with_every_field(live_app, encoding):
    app, live = live_app
    call = new_call(app)
    content_type, body = bodies(call.sid)[encoding]
    assert send(live.url, callback_path(call.id), content_type, chunked(body)) == 200
    row, (event,) = events_of(app, call.id)
    assert row.status == "completed" and row.conversation_duration == 84 and row.answered_by == "HUMAN"
    assert json.loads(event.payload) == {"CallSid": call.sid, **FIELDS}


def test_chunked_bodies_over_the_limit_are_a_413(live_app):
    app, live = live_app
    call = new_call(app)
    body = b"CallSid=" + b"x" * (70 * 1024)
    assert send(live.url, callback_path(call.id), "application/x-www-form-urlencoded", chunked(body, 4096)) == 413
    assert events_of(app, call.id)[1] == []


@pytest.mark.parametrize("kind", ["bad-chunk-size", "short-chunk", "cut-short"])
def test_malformed_or_cut_short_chunked_bodies_are_a_400(live_app, kind, caplog):
    app, live = live_app
    caplog.set_level(logging.DEBUG)
    call = new_call(app)
    content_type, body = bodies(call.sid)["form"]
    framed = chunked(body)[:25] if kind == "cut-short" else malformed(body)[kind]
    assert send(live.url, callback_path(call.id), content_type, framed, cut=kind != "bad-chunk-size") == 400
    assert events_of(app, call.id)[1] == []
    assert callback_token(SECRET_KEY, call.id) not in caplog.text


def test_the_development_servers_request_log_names_no_token(live_app, caplog):
    app, live = live_app
    caplog.set_level(logging.INFO, logger="werkzeug")
    call = new_call(app)
    token = callback_token(SECRET_KEY, call.id)
    assert requests.post(live.url + callback_path(call.id), data={"CallSid": call.sid, **FIELDS}, timeout=10).status_code == 200
    assert requests.post(live.url + callback_path(call.id) + "x", data=FIELDS, timeout=10).status_code == 403
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert any(f"/webhooks/exotel/{call.id}/<token>" in line for line in lines), lines
    assert token not in caplog.text


# -- gunicorn, the production server: its own chunked reader, its own errors -----------------


@pytest.fixture
def gunicorn_url(database_url, app, tmp_path):
    """The app under gunicorn (one worker), on `database_url`; its output in tmp_path/gunicorn.log."""
    log = tmp_path / "gunicorn.log"
    process, url = gunicorn(database_url, log, workers=1, ready=(200, 503))
    try:
        yield url, log
    finally:
        stop(process, timeout=10)


@pytest.mark.processes
def test_gunicorn_records_chunked_callbacks_and_refuses_malformed_framing_with_a_400(app, gunicorn_url):
    url, log = gunicorn_url
    for encoding in ("form", "json", "multipart"):
        call = new_call(app)
        content_type, body = bodies(call.sid)[encoding]
        assert send(url, callback_path(call.id), content_type, chunked(body)) == 200, encoding
        row, (event,) = events_of(app, call.id)
        assert row.status == "completed" and strict_loads(event.payload) == {"CallSid": call.sid, **FIELDS}
    for kind, framed in malformed(bodies("x")["form"][1]).items():
        call = new_call(app)
        assert send(url, callback_path(call.id), "application/x-www-form-urlencoded", framed, cut=True) == 400, kind
        assert events_of(app, call.id)[1] == []
        assert callback_token(SECRET_KEY, call.id) not in log.read_text()
    with app.app_context():
        assert_payloads_are_strict_json(get_db())
