"""deploy/nginx.conf in front of the README's gunicorn: slow clients, limits, forwarded addresses, a clean log."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.hardening.support import new_call
from tests.support.apps import make_app
from tests.support.calls import callback_path
from tests.support.credentials import SECRET_KEY
from tests.support.processes import gunicorn, nginx, nginx_binary, stop
from webapp.calls.signing import callback_token

pytestmark = pytest.mark.processes

SLOW_CLIENTS = 16
TERMINAL = {"EventType": "terminal", "Status": "completed", "DateUpdated": "2026-11-27 14:01:30"}


class Tricklers:
    """Clients that send a request one byte a second: half stuck in the headers, half in the body."""

    def __init__(self, url: str, path: str, count: int):
        parts = urlsplit(url)
        self.sockets = []
        for index in range(count):
            sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
            self.sockets.append(sock)
            if index % 2:  # headers whole, then a 4 KiB body a byte at a time
                sock.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded"
                             f"\r\nContent-Length: 4096\r\n\r\n".encode())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        line = iter(b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 10_000)
        body = iter(b"Pad=" + b"b" * 4000)
        while not self._stop.is_set():
            header_byte, body_byte = bytes([next(line)]), bytes([next(body)])
            for index, sock in enumerate(self.sockets):
                try:
                    sock.send(body_byte if index % 2 else header_byte)
                except OSError:
                    pass
            self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()


def _answers_within_a_second(url: str, path: str, call) -> list[int]:
    """/healthz three times and the call's callback once, each with a 1 s timeout."""
    statuses = []
    for _ in range(3):
        statuses.append(requests.get(url + "/healthz", timeout=1.0).status_code)
        time.sleep(0.5)
    statuses.append(requests.post(url + path, data={"CallSid": call.sid, **TERMINAL}, timeout=1.0).status_code)
    return statuses


@pytest.fixture
def served(app, database_url, tmp_path):
    """(gunicorn url, nginx url, nginx's directory): the README's gunicorn behind deploy/nginx.conf."""
    nginx_binary()
    app_process, app_url = gunicorn(database_url, tmp_path / "gunicorn.log", extra_env={"TRUSTED_PROXY_HOPS": "1"})
    try:
        proxy_process, proxy_url = nginx(tmp_path / "nginx", urlsplit(app_url).netloc)
    except BaseException:
        stop(app_process)
        raise
    yield app_url, proxy_url, tmp_path / "nginx"
    stop(proxy_process)
    stop(app_process)


def test_slow_clients_hold_nginx_not_gunicorn(served, app):
    app_url, proxy_url, nginx_dir = served
    call = new_call(app)
    path = callback_path(call.id)

    # Straight at gunicorn, the slow clients take every thread: /healthz goes unanswered.
    tricklers = Tricklers(app_url, path, SLOW_CLIENTS)
    try:
        time.sleep(1.5)
        with pytest.raises(requests.RequestException):
            requests.get(app_url + "/healthz", timeout=1.0)
    finally:
        tricklers.close()

    # Through nginx, the same clients wait in nginx; gunicorn answers everyone else.
    tricklers = Tricklers(proxy_url, path, SLOW_CLIENTS)
    try:
        time.sleep(1.5)
        assert _answers_within_a_second(proxy_url, path, call) == [200, 200, 200, 200]
        assert requests.post(proxy_url + path, data={"CallSid": call.sid, **TERMINAL}, timeout=1.0).json() == {
            "result": "duplicate"}
    finally:
        tricklers.close()

    token = callback_token(SECRET_KEY, call.id)
    access = (nginx_dir / "access.log").read_text()
    assert f'"POST /webhooks/exotel/{call.id}/-" 200' in access
    for name in ("access.log", "error.log"):
        assert token not in (nginx_dir / name).read_text(), name


def test_callback_limits_at_the_proxy(served, app):
    _, proxy_url, nginx_dir = served
    call = new_call(app)
    url = proxy_url + callback_path(call.id)
    # Over 64 KiB, declared or chunked: refused by nginx, in the app's shape.
    big = requests.post(url, data={"CallSid": call.sid, "Pad": "x" * (64 * 1024 + 1)}, timeout=5)
    chunked = requests.post(url, data=(chunk for chunk in [b"CallSid=x&Pad="] + [b"x" * 8192] * 9), timeout=5,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    for answer in (big, chunked):
        assert answer.status_code == 413
        assert answer.json()["error"]["code"] == "body_too_large"
    # A chunked body within the limit reaches the app whole.
    small = requests.post(url, data=(chunk for chunk in [f"CallSid={call.sid}&".encode(), b"EventType=terminal&",
                                                         b"Status=completed&DateUpdated=2026-11-27+14%3A01%3A30"]),
                          headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    assert (small.status_code, small.json()) == (200, {"result": "stored"})
    assert callback_token(SECRET_KEY, call.id) not in (nginx_dir / "access.log").read_text()


def _client_seen(url: str, source: str, headers: dict[str, str] | None = None) -> dict:
    """GET /client from the loopback address `source`: the address, scheme and host the app saw."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5, source_address=(source, 0))
    try:
        connection.request("GET", "/client", headers=headers or {})
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        connection.close()


def test_the_app_believes_the_proxy_and_not_the_client(sqlite_template, tmp_path, sim):
    """TRUSTED_PROXY_HOPS=1 behind nginx: the address nginx saw; never what the client wrote itself."""
    import shutil

    nginx_binary()
    shutil.copy(sqlite_template, tmp_path / "calls.db")
    app_process, app_url = gunicorn(f"sqlite:///{tmp_path / 'calls.db'}", tmp_path / "gunicorn.log",
                                    app="tests.hardening.client_address_app:create_app()",
                                    extra_env={"TRUSTED_PROXY_HOPS": "1"}, workers=1)
    try:
        proxy_process, proxy_url = nginx(tmp_path / "nginx", urlsplit(app_url).netloc)
        try:
            seen = _client_seen(proxy_url, "127.0.0.2")
            assert seen["address"] == "127.0.0.2" and seen["scheme"] == "http"
            assert seen["host"] == f"127.0.0.1:{urlsplit(proxy_url).port}"
            spoofed = _client_seen(proxy_url, "127.0.0.3", {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
            assert spoofed["address"] == "127.0.0.3" and spoofed["scheme"] == "http"
        finally:
            stop(proxy_process)
    finally:
        stop(app_process)


@pytest.mark.parametrize("hops, expected", [(None, "127.0.0.1"), ("1", "198.51.100.7")])
def test_forwarded_headers_are_ignored_unless_a_proxy_is_trusted(sqlite_template, tmp_path, sim, hops, expected):
    import shutil

    from flask import request

    shutil.copy(sqlite_template, tmp_path / "calls.db")
    overrides = {"TRUSTED_PROXY_HOPS": hops} if hops else {}
    app = make_app(f"sqlite:///{tmp_path / 'calls.db'}", sim.base_url, **overrides)
    app.add_url_rule("/client", "client", lambda: {"address": request.remote_addr, "scheme": request.scheme})
    try:
        seen = app.test_client().get("/client", headers={"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"},
                                     environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_json()
        assert seen == {"address": expected, "scheme": "https" if hops else "http"}
    finally:
        app.extensions["database"].engine.dispose()
