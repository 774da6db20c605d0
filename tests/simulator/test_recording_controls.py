"""The simulator's recordings as a test or a benchmark sets them: any size (a valid WAV), late, or dropped."""

from __future__ import annotations

import io
import wave

import requests

from tests.support.simulator import ACCOUNT as ACCOUNT_SID
from tests.support.simulator import KEY as API_KEY
from tests.support.simulator import TOKEN as API_TOKEN

SID = "d" * 32


def fetch(sim, sid: str = SID) -> requests.Response:
    return requests.get(f"{sim.base_url}/recordings/{ACCOUNT_SID}/{sid}.wav", auth=(API_KEY, API_TOKEN), timeout=10)


def test_a_recording_of_a_chosen_size_is_a_wav_of_exactly_that_size(sim):
    assert requests.post(f"{sim.base_url}/_sim/recordings", json={"size_bytes": 2_000_001}, timeout=5).status_code == 200
    body = fetch(sim).content
    assert len(body) == 2_000_001
    with wave.open(io.BytesIO(body)) as sound:
        assert (sound.getframerate(), sound.getnchannels(), sound.getnframes()) == (8000, 1, (2_000_001 - 44) // 2)
    part = requests.get(f"{sim.base_url}/recordings/{ACCOUNT_SID}/{SID}.wav", auth=(API_KEY, API_TOKEN),
                        headers={"Range": "bytes=1999990-"}, timeout=5)
    assert part.status_code == 206 and part.content == body[1999990:]


def test_a_recording_answers_404_until_it_is_ready_and_after_it_is_dropped(sim):
    assert requests.post(f"{sim.base_url}/_sim/recordings", json={"unavailable_for": 2}, timeout=5).status_code == 200
    assert [fetch(sim).status_code for _ in range(3)] == [404, 404, 200]
    assert requests.delete(f"{sim.base_url}/_sim/recordings/{SID}", timeout=5).status_code == 200
    assert fetch(sim).status_code == 404
    assert fetch(sim, "e" * 32).status_code == 404  # its own first fetch: not ready yet
    requests.post(f"{sim.base_url}/_sim/reset", timeout=5)
    assert fetch(sim).status_code == 200  # a reset forgets it all


def test_bad_settings_are_refused_plainly(sim):
    for body in ({"size_bytes": 10}, {"size_bytes": "big"}, {"unavailable_for": -1}, {"colour": "red"}, [1]):
        answer = requests.post(f"{sim.base_url}/_sim/recordings", json=body, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"], body
