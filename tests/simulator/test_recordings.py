"""An answered simulated call has a recording: a short, real WAV file that opens only with the account's
Basic auth, as Exotel's have since its update of 8 October 2024."""

from __future__ import annotations

import io
import wave

import requests

from tests.support.credentials import SECRET_KEY
from tests.support.simulator import ACCOUNT, AUTH, KEY, TOKEN, connect, wait_finished
from webapp import create_app
from webapp.exotel_access import exotel_client
from webapp.simulator import SimulatorServer


def test_a_completed_call_links_a_playable_wav(sim: SimulatorServer) -> None:
    sid = connect(sim).json()["Call"]["Sid"]
    url = wait_finished(sim, sid)["recording_url"]
    assert url == f"{sim.base_url}/recordings/{ACCOUNT}/{sid}.wav"

    response = requests.get(url, auth=AUTH, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/wav"
    body = response.content
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE" and int.from_bytes(body[4:8], "little") == len(body) - 8
    with wave.open(io.BytesIO(body)) as recording:
        assert (recording.getnchannels(), recording.getsampwidth(), recording.getframerate()) == (1, 2, 8000)
        assert 1.0 <= recording.getnframes() / recording.getframerate() <= 2.0
        assert max(recording.readframes(recording.getnframes())) > 0  # a tone, not silence

    part = requests.get(url, headers={"Range": "bytes=0-99"}, auth=AUTH, timeout=5)  # players seek with ranges
    assert part.status_code == 206 and part.content == body[:100]


def test_a_recording_needs_the_accounts_basic_auth(sim: SimulatorServer) -> None:
    """NOTES, Recordings: a RecordingUrl opens only with HTTP Basic auth (the API key and token)."""
    url = f"{sim.base_url}/recordings/{ACCOUNT}/{'0' * 32}.wav"
    for auth in (None, (KEY, "wrong-token"), ("other-key", TOKEN)):
        refused = requests.get(url, auth=auth, timeout=5)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
        assert b"RIFF" not in refused.content
    assert requests.get(url, auth=AUTH, timeout=5).status_code == 200


def test_only_this_accounts_recordings_are_served(sim: SimulatorServer) -> None:
    sid = "0" * 32
    assert requests.get(f"{sim.base_url}/recordings/{ACCOUNT}/{sid}.wav", auth=AUTH, timeout=5).status_code == 200
    assert requests.get(f"{sim.base_url}/recordings/other/{sid}.wav", auth=AUTH, timeout=5).status_code == 404
    assert requests.get(f"{sim.base_url}/recordings/{ACCOUNT}/not-a-sid.wav", auth=AUTH, timeout=5).status_code == 404


def test_a_call_nobody_answered_has_no_recording(sim: SimulatorServer) -> None:
    sid = connect(sim, From="+919876543211").json()["Call"]["Sid"]  # ends in 1: busy
    assert wait_finished(sim, sid)["recording_url"] is None


def test_pages_may_play_the_embedded_simulators_recordings(tmp_path, monkeypatch) -> None:
    for name in ("EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN", "EXOTEL_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    client = app.test_client()
    try:
        with client.get("/static/app.css") as before:
            assert before.headers["Content-Security-Policy"].endswith("media-src 'self' https:")
        exotel_client(app)  # starts the embedded simulator, on a port known only now
        server = app.extensions["simulator"]
        with client.get("/static/app.css") as after:
            assert after.headers["Content-Security-Policy"].endswith(f"media-src 'self' https: {server.base_url}")
    finally:
        if "simulator" in app.extensions:
            app.extensions["simulator"].stop()
        app.extensions["database"].engine.dispose()
