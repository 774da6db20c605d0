"""SQLite's WAL is checkpointed by a thread of the serving process, not by the commits of requests."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.support.calls import add_call, callback_path
from tests.support.waiting import wait_until
from webapp.db.checkpoint import _Checkpointer

pytestmark = pytest.mark.sqlite_only


def _status_in_file_alone(database: Path, copy: Path, call_id: str) -> str | None:
    """The call's status as the database file holds it without its WAL: what a checkpoint has copied back."""
    shutil.copyfile(database, copy)
    connection = sqlite3.connect(copy)
    try:
        row = connection.execute("SELECT status FROM calls WHERE id = ?", (call_id,)).fetchone()
    finally:
        connection.close()
    return row[0] if row else None


def test_a_callback_reaches_the_database_file_within_a_second(app, client, tmp_path):
    """A single committed callback is a few WAL pages: SQLite's own autocheckpoint would leave them in the WAL
    until a thousand pages had piled up. The app's checkpoint thread copies them back within its round."""
    database = Path(app.extensions["database"].engine.url.database)
    call = add_call(app, status="in-progress", sid="sid-checkpoint")
    assert client.get("/healthz").status_code == 200  # the first request of this process starts the thread
    copy = tmp_path / "copy.db"
    wait_until(lambda: _status_in_file_alone(database, copy, call.id) == "in-progress", timeout=5)

    answer = client.post(callback_path(call.id), data={"CallSid": "sid-checkpoint", "Status": "completed",
                                                        "DateUpdated": "2026-11-27 14:01:30", "RecordingUrl": ""})
    assert answer.status_code == 200

    assert wait_until(lambda: _status_in_file_alone(database, copy, call.id) == "completed", timeout=5)


def test_commits_leave_checkpoints_to_the_thread(app):
    """The app's own connections checkpoint only past the safety net: no request pays for the fsyncs."""
    with app.extensions["database"].engine.connect() as connection:
        pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages >= 10_000


def test_a_database_file_that_is_gone_is_not_created_again(tmp_path, caplog):
    path = tmp_path / "gone.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    checkpointer = _Checkpointer(str(path), every=3600)  # its own rounds far off: the test runs them
    checkpointer.checkpoint()
    path.unlink()
    checkpointer.path = str(tmp_path / "elsewhere.db")  # pointed at another app's file, also absent

    checkpointer.checkpoint()
    checkpointer.checkpoint()

    assert not path.exists() and not (tmp_path / "elsewhere.db").exists()
    assert [r.getMessage() for r in caplog.records].count("SQLite checkpoint failed: unable to open database file") == 1
