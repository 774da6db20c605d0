"""RECORDINGS_DIR: the worker's tasks archive each ended call's recording (exact bytes, SHA-256, size), retry while
Exotel has not made it available, serve it from the file once Exotel no longer has it, and remove it when too old.

The tasks are called as the worker calls them, against the simulator over real HTTP (it demands Basic auth for
recordings, as Exotel does), on a clock the test moves.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support.apps import make_app
from tests.support.calls import add_call, archive_row
from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN
from tests.support.signin import signed_in_client
from webapp.calls.archive import claim
from webapp.db import get_db
from webapp.jobs.archiving import run_archive, run_sweep

SID = "a" * 32
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "recordings"


@pytest.fixture
def archiving_app(database_url, sim, folder, clock):
    app = make_app(database_url, sim.base_url, RECORDINGS_DIR=str(folder), RECORDINGS_KEEP_DAYS=3, CLOCK=clock)
    yield app
    app.extensions["database"].engine.dispose()


def recording_of(sim, sid: str = SID) -> str:
    return f"{sim.base_url}/recordings/{ACCOUNT_SID}/{sid}.wav"


def exotels_copy(sim, sid: str = SID) -> requests.Response:
    return requests.get(recording_of(sim, sid), auth=(API_KEY, API_TOKEN), timeout=5)


def ended_call(app, sim, sid: str = SID, ended: datetime = START - timedelta(minutes=1)):
    return add_call(app, sid=sid, recording_url=recording_of(sim, sid), ended_at=ended, updated_at=ended)


def fetch(client, path: str, **headers: str):
    """GET `path`, its body read and the response closed (as a server closes it: the file behind it is let go)."""
    with client.get(path, headers=headers) as response:
        response.get_data()
        return response


def drop_at_exotel(sim, sid: str = SID) -> None:
    assert requests.delete(f"{sim.base_url}/_sim/recordings/{sid}", timeout=5).status_code == 200
    assert exotels_copy(sim, sid).status_code == 404


def test_the_archive_keeps_the_exact_bytes_and_serves_them_once_exotel_has_dropped_them(archiving_app, sim, folder):
    # A long call's recording: several MB, so the file is written and served in many pieces.
    assert requests.post(f"{sim.base_url}/_sim/recordings", json={"size_bytes": 3_000_001}, timeout=5).status_code == 200
    truth = exotels_copy(sim).content
    assert len(truth) == 3_000_001
    call = ended_call(archiving_app, sim)

    run_archive(archiving_app)

    row = archive_row(archiving_app, call.id)
    assert row is not None and row.state == "archived" and row.content_type == "audio/wav"
    assert row.sha256 == hashlib.sha256(truth).hexdigest() and row.size_bytes == len(truth)
    assert sorted(p.name for p in folder.iterdir()) == [row.file_name]  # no temporary file left behind
    assert (folder / row.file_name).read_bytes() == truth

    drop_at_exotel(sim)
    client = signed_in_client(archiving_app)
    whole = fetch(client, f"/calls/{call.id}/recording")
    assert whole.status_code == 200 and whole.data == truth
    assert whole.headers["Content-Type"] == "audio/wav" and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["Cache-Control"] == "private, no-store"
    size = len(truth)
    for asked, start, end in (("bytes=100-199", 100, 199), ("bytes=2999990-", 2999990, size - 1),
                              ("bytes=-50", size - 50, size - 1), ("bytes=65530-1048580", 65530, 1048580)):
        part = fetch(client, f"/calls/{call.id}/recording", Range=asked)
        assert part.status_code == 206, asked
        assert part.data == truth[start:end + 1], asked
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert fetch(client, f"/calls/{call.id}/recording", Range=f"bytes={size + 10}-").status_code == 416


def test_not_ready_is_retried_with_a_growing_wait_then_archived(archiving_app, sim, clock, folder):
    # Exotel answers 404 for a while after the call, until it has made the recording available.
    assert requests.post(f"{sim.base_url}/_sim/recordings", json={"unavailable_for": 2}, timeout=5).status_code == 200
    call = ended_call(archiving_app, sim)

    run_archive(archiving_app)
    first = archive_row(archiving_app, call.id)
    assert (first.state, first.attempts, first.next_try_at) == ("pending", 1, START + timedelta(minutes=1))
    assert list(folder.iterdir()) == []

    run_archive(archiving_app)  # not due yet: no fetch (the simulator would count it)
    assert archive_row(archiving_app, call.id).attempts == 1

    clock.now = START + timedelta(minutes=1)
    run_archive(archiving_app)
    second = archive_row(archiving_app, call.id)
    assert (second.state, second.attempts, second.next_try_at) == ("pending", 2, clock.now + timedelta(minutes=2))

    clock.now += timedelta(minutes=2)
    run_archive(archiving_app)
    done = archive_row(archiving_app, call.id)
    truth = exotels_copy(sim).content
    assert done.state == "archived" and done.sha256 == hashlib.sha256(truth).hexdigest()
    assert (folder / done.file_name).read_bytes() == truth


def test_a_recording_exotel_no_longer_has_is_given_up_at_once(archiving_app, sim, folder):
    call = ended_call(archiving_app, sim, ended=START - timedelta(days=2))
    drop_at_exotel(sim)
    run_archive(archiving_app)
    row = archive_row(archiving_app, call.id)
    assert row.state == "expired" and row.next_try_at is None and list(folder.iterdir()) == []


def test_the_sweep_removes_files_older_than_the_keeping_time_and_the_route_then_asks_exotel(archiving_app, sim, clock,
                                                                                            folder):
    call = ended_call(archiving_app, sim)
    run_archive(archiving_app)
    row = archive_row(archiving_app, call.id)
    path = folder / row.file_name
    assert path.is_file()

    clock.now = START + timedelta(days=3)  # exactly the keeping time: still kept
    run_sweep(archiving_app)
    assert path.is_file() and archive_row(archiving_app, call.id).state == "archived"

    clock.now = START + timedelta(days=3, seconds=1)
    run_sweep(archiving_app)
    swept = archive_row(archiving_app, call.id)
    assert not path.exists() and list(folder.iterdir()) == []
    assert (swept.state, swept.file_name, swept.removed_at) == ("removed", None, clock.now)

    client = signed_in_client(archiving_app)
    assert fetch(client, f"/calls/{call.id}/recording").data == exotels_copy(sim).content  # Exotel's copy, while it lasts
    drop_at_exotel(sim)
    gone = fetch(client, f"/calls/{call.id}/recording")
    assert gone.status_code == 404 and b"no longer has this recording" in gone.data


def test_nothing_is_archived_without_recordings_dir(database_url, sim, clock):
    app = make_app(database_url, sim.base_url, CLOCK=clock)
    try:
        call = ended_call(app, sim)
        run_archive(app)
        run_sweep(app)
        assert archive_row(app, call.id) is None
    finally:
        app.extensions["database"].engine.dispose()


def test_one_worker_at_a_time_fetches_a_call(archiving_app, sim, clock):
    call = ended_call(archiving_app, sim)
    with archiving_app.app_context():
        assert claim(get_db(), call.id, clock.now) is True
        assert claim(get_db(), call.id, clock.now) is False  # the other worker meets the claim
        assert claim(get_db(), call.id, clock.now + timedelta(minutes=16)) is True  # a dead worker's claim runs out


def test_a_recording_over_the_size_cap_is_given_up_and_leaves_no_file(database_url, sim, folder, clock):
    app = make_app(database_url, sim.base_url, RECORDINGS_DIR=str(folder), CLOCK=clock, RECORDING_MAX_BYTES=1000)
    try:
        call = ended_call(app, sim)
        run_archive(app)
        row = archive_row(app, call.id)
        assert row.state == "too_large" and row.file_name is None and list(folder.iterdir()) == []
    finally:
        app.extensions["database"].engine.dispose()


def test_a_folder_that_cannot_be_written_is_tried_again_later_and_nothing_half_written_stays(archiving_app, sim, clock,
                                                                                            folder):
    call = ended_call(archiving_app, sim)
    folder.rmdir()  # the mount went away after start-up
    run_archive(archiving_app)
    row = archive_row(archiving_app, call.id)
    assert (row.state, row.attempts, row.file_name) == ("pending", 1, None) and row.last_error.startswith("disk")

    folder.mkdir()
    clock.now += timedelta(minutes=1)
    run_archive(archiving_app)
    row = archive_row(archiving_app, call.id)
    assert row.state == "archived" and [p.name for p in folder.iterdir()] == [row.file_name]
