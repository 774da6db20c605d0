"""The recordings of answered simulated calls: each a real, short WAV file (a tone), so a player can play it.

Since Exotel's update of 8 October 2024 a RecordingUrl opens only with the
account's API key and token as HTTP Basic auth; the simulator's recordings,
served from its own origin, ask for them the same way (401 otherwise). The
sound is made once, with the `wave` module, on first use.
"""

from __future__ import annotations

import hmac
import io
import math
import re
import struct
import wave
from functools import lru_cache

from flask import Blueprint, Response, abort, current_app, request, send_file

SAMPLE_RATE = 8000  # telephone quality, as call recordings are
SECONDS = 1.5
TONE_HZ = 440
FADE_FRAMES = 400  # 50 ms in and out, so the tone starts and stops without a click
_SID = re.compile(r"[0-9a-f]{32}")

recordings = Blueprint("simulator_recordings", __name__)


def recording_url(origin: str | None, account_sid: str, sid: str) -> str:
    """Where a call's recording is served: the simulator's own origin once it listens, else Exotel's storage's shape."""
    if origin is None:
        return f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/{account_sid}/{sid}.mp3"
    return f"{origin}/recordings/{account_sid}/{sid}.wav"


@lru_cache(maxsize=1)
def tone_wav() -> bytes:
    """A mono 16-bit PCM WAV file: SECONDS of a TONE_HZ tone at SAMPLE_RATE (about 24 KB)."""
    count = int(SAMPLE_RATE * SECONDS)
    samples = (
        int(12000 * min(1.0, i / FADE_FRAMES, (count - i) / FADE_FRAMES) * math.sin(2 * math.pi * TONE_HZ * i / SAMPLE_RATE))
        for i in range(count)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()


@lru_cache(maxsize=2)
def sized_wav(size_bytes: int) -> bytes:
    """A WAV file of exactly `size_bytes`: the tone's header with its sound repeated (a long call's recording)."""
    tone = tone_wav()
    header, sound = tone[:44], tone[44:]
    frames = (size_bytes - 44) // 2 * 2
    body = (sound * (frames // len(sound) + 1))[:frames] + b"\0" * (size_bytes - 44 - frames)
    # RIFF and data chunk sizes follow the body, so a player reads it all.
    return b"".join((header[:4], struct.pack("<I", size_bytes - 8), header[8:40], struct.pack("<I", len(body)), body))


@recordings.get("/recordings/<account_sid>/<sid>.wav")
def recording(account_sid: str, sid: str) -> Response:
    """The recording of call `sid` of this account (every simulated recording sounds the same)."""
    simulator = current_app.extensions["exotel_simulator"]  # (not api.state: the timeline imports this module)
    auth = request.authorization
    if auth is None or auth.type != "basic" or not simulator.check_credentials(auth.username, auth.password):
        return Response("Authentication required", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Basic realm="Exotel"'})
    account = simulator.account_sid
    if not hmac.compare_digest(account_sid.encode(), account.encode()) or not _SID.fullmatch(sid):
        abort(404)
    if not simulator.shelf.available(sid):
        abort(404)  # not made available yet, or no longer kept: Exotel says 404 to both
    size = simulator.shelf.size_bytes
    sound = tone_wav() if size is None else sized_wav(size)
    # Ranges are answered too: players ask for parts of a file to seek.
    return send_file(io.BytesIO(sound), mimetype="audio/wav", conditional=True, etag=f"tone-{TONE_HZ}-{len(sound)}",
                     download_name=f"{sid}.wav", max_age=3600)
