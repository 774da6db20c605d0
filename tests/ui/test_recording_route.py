"""GET /calls/<id>/recording: the recording fetched from Exotel with the account's Basic auth and relayed,
from Exotel's hosts only; the page plays it through this route and never carries Exotel's address."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.support.apps import make_app
from tests.support.calls import add_call
from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN
from tests.support.signin import signed_in_client
from webapp.db import get_db
from webapp.models import CallEvent

SID = "0" * 32
AUDIO = bytes(range(255)) * 600  # 150 KiB (several pieces) that no slice can be mistaken for another


def sim_recording(sim) -> str:
    return f"{sim.base_url}/recordings/{ACCOUNT_SID}/{SID}.wav"


class Listener:
    """A port that never answers: anything that connects to it is counted."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.setblocking(False)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def connections(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.socket.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


class StandIn:
    """An Exotel origin for what the simulator does not do: redirects, failures, pre-signed URLs."""

    def __init__(self, routes: dict[str, Callable[[Request], Response]]) -> None:
        self.routes = routes
        self.seen: list[tuple[str, str | None]] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        self.seen.append((request.path, request.headers.get("Authorization")))
        route = self.routes.get(request.path, lambda _r: Response("no", status=404))
        return route(request)(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def basic_audio(request: Request) -> Response:
    auth = request.authorization
    if auth is None or (auth.username, auth.password) != (API_KEY, API_TOKEN):
        return Response("Authentication required", status=401)
    return Response(AUDIO, mimetype="audio/mpeg")


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.socket.close()


def slow_audio(release: threading.Event, pause: float) -> Callable[[Request], Response]:
    """A long recording in 64 KiB pieces: the first at once, the rest once `release` is set (or `pause` went by)."""
    def route(_request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b"\0" * 65536
            for _ in range(15):
                release.wait(pause)
                yield b"\1" * 65536
        return Response(body(), mimetype="audio/mpeg")
    return route


@pytest.fixture
def release() -> threading.Event:
    return threading.Event()


@pytest.fixture
def stand_in(listener, release) -> Iterator[StandIn]:
    server = StandIn({
        "/slow.mp3": slow_audio(release, 5.0),
        "/dripping.mp3": slow_audio(threading.Event(), 0.3),
        "/rec.mp3": basic_audio,
        "/moved": lambda _r: Response(status=302, headers={"Location": "/rec.mp3"}),
        "/away": lambda _r: Response(status=302, headers={"Location": f"{listener.url}/rec.mp3"}),
        "/gone": lambda _r: Response("gone", status=404),
        "/refused": lambda _r: Response("no", status=403),
        "/page": lambda _r: Response("<script>alert(1)</script>", mimetype="text/html"),
        "/presigned": lambda r: Response(AUDIO, mimetype="audio/mpeg") if "Authorization" not in r.headers
        else Response("both auth kinds", status=400),
    })
    yield server
    server.stop()


@pytest.fixture
def stand_in_app(database_url, stand_in):
    app = make_app(database_url, stand_in.url)
    yield app
    app.extensions["database"].engine.dispose()


def test_the_route_relays_the_recording_with_basic_auth_and_answers_ranges(app, signed_in, sim):
    url = sim_recording(sim)
    truth = requests.get(url, auth=(API_KEY, API_TOKEN), timeout=5)
    assert requests.get(url, timeout=5).status_code == 401  # the simulator demands Basic auth, as Exotel does
    call = add_call(app, recording_url=url)

    whole = signed_in.get(f"/calls/{call.id}/recording")
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "audio/wav"
    assert whole.data == truth.content and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Cache-Control"] == "private, no-store"

    size = len(truth.content)
    for asked, start, end in (("bytes=100-199", 100, 199), ("bytes=1000-", 1000, size - 1), ("bytes=-50", size - 50, size - 1)):
        part = signed_in.get(f"/calls/{call.id}/recording", headers={"Range": asked})
        assert part.status_code == 206, asked
        assert part.data == truth.content[start:end + 1]
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    beyond = signed_in.get(f"/calls/{call.id}/recording", headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416 and b"RIFF" not in beyond.data

    unanswered = add_call(app, status="busy", recording_url=None)
    assert signed_in.get(f"/calls/{unanswered.id}/recording").status_code == 404
    assert signed_in.get("/calls/no-such-call/recording").status_code == 404


def test_no_session_no_bytes(app, client, sim):
    call = add_call(app, recording_url=sim_recording(sim))
    response = client.get(f"/calls/{call.id}/recording")
    assert response.status_code in (302, 401) and b"RIFF" not in response.data


def test_the_call_page_plays_through_the_route_and_never_carries_exotels_address(app, signed_in, sim):
    call = add_call(app, recording_url=sim_recording(sim))
    for path in (f"/calls/{call.id}", f"/calls/{call.id}/status.json"):
        page = signed_in.get(path).get_data(as_text=True)
        assert f"/calls/{call.id}/recording" in page
        for secret in (sim.base_url, "/recordings/", API_TOKEN, API_KEY):
            assert secret not in page, (path, secret)
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f'<audio controls preload="metadata" src="/calls/{call.id}/recording"' in page
    assert f'<a href="/calls/{call.id}/recording" download' in page


@pytest.mark.parametrize("where", ["listener", "https://evil.example/exotelrecordings/a.mp3",
                                   "http://recordings.exotel.com/exotelrecordings/a.mp3"])
def test_a_recording_url_elsewhere_is_never_fetched(app, signed_in, listener, where, caplog):
    url = f"{listener.url}/rec.mp3" if where == "listener" else where
    call = add_call(app, recording_url=url)
    response = signed_in.get(f"/calls/{call.id}/recording")
    assert response.status_code == 404
    assert listener.connections() == 0
    assert any("not Exotel's" in record.getMessage() for record in caplog.records)


def test_redirects_are_followed_only_to_exotel(stand_in_app, stand_in, listener):
    client = signed_in_client(stand_in_app)
    moved = add_call(stand_in_app, recording_url=f"{stand_in.url}/moved")
    assert client.get(f"/calls/{moved.id}/recording").data == AUDIO  # on the same origin: followed
    away = add_call(stand_in_app, recording_url=f"{stand_in.url}/away")
    response = client.get(f"/calls/{away.id}/recording")
    assert response.status_code == 404 and AUDIO not in response.data
    assert listener.connections() == 0


def test_exotels_failures_are_answered_plainly(stand_in_app, stand_in):
    client = signed_in_client(stand_in_app)
    now = datetime.now(UTC)
    fresh = add_call(stand_in_app, recording_url=f"{stand_in.url}/gone", ended_at=now - timedelta(seconds=30))
    old = add_call(stand_in_app, recording_url=f"{stand_in.url}/gone", ended_at=now - timedelta(days=200))
    refused = add_call(stand_in_app, recording_url=f"{stand_in.url}/refused")
    page = add_call(stand_in_app, recording_url=f"{stand_in.url}/page")
    not_yet = client.get(f"/calls/{fresh.id}/recording")
    assert not_yet.status_code == 404 and b"not made this recording available yet" in not_yet.data
    expired = client.get(f"/calls/{old.id}/recording")
    assert expired.status_code == 404 and b"no longer has this recording" in expired.data
    no = client.get(f"/calls/{refused.id}/recording")
    assert no.status_code == 502 and b"refused this account&#39;s credentials" in no.data
    # Whatever Exotel's answer says it is, it is never served as a page of this site.
    html = client.get(f"/calls/{page.id}/recording")
    assert html.headers["Content-Type"] == "application/octet-stream"


def test_a_presigned_url_is_used_as_it_is(stand_in_app, stand_in):
    client = signed_in_client(stand_in_app)
    call = add_call(stand_in_app, recording_url=f"{stand_in.url}/refused")
    with stand_in_app.app_context(), get_db().transaction() as session:
        payload = {"Sid": call.sid, "RecordingUrl": call.recording_url, "PreSignedRecordingUrl": f"{stand_in.url}/presigned?X-Amz-Signature=abc"}
        session.add(CallEvent(call_id=call.id, call_sid=call.sid, event_type="reconcile", status="completed",
                              dedup_key="presigned", payload=json.dumps(payload)))
    response = client.get(f"/calls/{call.id}/recording")
    assert response.status_code == 200 and response.data == AUDIO
    assert ("/presigned", None) in stand_in.seen  # without the account's credentials
    assert not any(path == "/refused" for path, _auth in stand_in.seen)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)  # the raw payload is shown, its pre-signed link not
    assert "PreSignedRecordingUrl" in page and "X-Amz-Signature" not in page and "/presigned" not in page


def test_size_is_capped(database_url, stand_in):
    app = make_app(database_url, stand_in.url, RECORDING_MAX_BYTES=1000)
    try:
        call = add_call(app, recording_url=f"{stand_in.url}/rec.mp3")
        response = signed_in_client(app).get(f"/calls/{call.id}/recording")
        assert response.status_code == 502 and AUDIO[:1000] not in response.data
    finally:
        app.extensions["database"].engine.dispose()


def test_the_recording_is_streamed_not_held(stand_in_app, stand_in, release):
    """The first piece reaches the browser while Exotel still holds back the rest."""
    client = signed_in_client(stand_in_app)
    call = add_call(stand_in_app, recording_url=f"{stand_in.url}/slow.mp3")
    started = time.monotonic()
    response = client.get(f"/calls/{call.id}/recording", buffered=False)
    pieces = iter(response.response)
    first = next(pieces)
    assert time.monotonic() - started < 3 and first.startswith(b"\0")  # before Exotel sent the rest
    release.set()
    assert len(first + b"".join(pieces)) == 16 * 65536
    response.close()


def test_time_is_capped(database_url, stand_in):
    app = make_app(database_url, stand_in.url, RECORDING_MAX_SECONDS=0.5)
    try:
        call = add_call(app, recording_url=f"{stand_in.url}/dripping.mp3")
        started = time.monotonic()
        response = signed_in_client(app).get(f"/calls/{call.id}/recording")
        assert response.status_code == 200 and len(response.data) < 16 * 65536  # cut short at the limit
        assert time.monotonic() - started < 3
    finally:
        app.extensions["database"].engine.dispose()


def test_a_range_exotel_ignores_is_cut_here(stand_in_app, stand_in):
    """An origin that answers a Range with the whole file (200): the player still gets its 206 slice."""
    client = signed_in_client(stand_in_app)
    call = add_call(stand_in_app, recording_url=f"{stand_in.url}/rec.mp3")
    size = len(AUDIO)
    for asked, start, end in (("bytes=100-199", 100, 199), ("bytes=70000-", 70000, size - 1), ("bytes=65000-140000", 65000, 140000),
                              ("bytes=-50", size - 50, size - 1), ("bytes=0-9999999", 0, size - 1)):
        part = client.get(f"/calls/{call.id}/recording", headers={"Range": asked})
        assert part.status_code == 206 and part.data == AUDIO[start:end + 1], asked
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
        assert part.headers["Content-Length"] == str(end - start + 1)
    beyond = client.get(f"/calls/{call.id}/recording", headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.data == b"" and beyond.headers["Content-Range"] == f"bytes */{size}"
