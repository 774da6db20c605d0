"""/healthz says 503 when the database answers but cannot take a write: read-only, at its limit, disk full."""

from __future__ import annotations

import shutil
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import make_url

from tests.support.apps import make_app


def _sqlite_copy(sqlite_template, tmp_path) -> str:
    path = tmp_path / "calls.db"
    shutil.copy(sqlite_template, path)
    return str(path)


def _healthz(app) -> tuple[int, dict]:
    response = app.test_client().get("/healthz")
    body = response.get_json()
    assert set(body.pop("worker")) == {"seen", "last_seen"}  # the contract's worker field, present either way
    assert body.pop("workers") == []  # ... and its list of worker processes (none here)
    return response.status_code, body


def test_a_read_only_sqlite_file_is_unhealthy(sqlite_template, tmp_path, sim):
    path = _sqlite_copy(sqlite_template, tmp_path)
    writable = make_app(f"sqlite:///{path}", sim.base_url)
    # The same file opened read-only, as SQLite opens one it may not write to.
    read_only = make_app(f"sqlite:///file:{path}?mode=ro&uri=true", sim.base_url)
    try:
        assert _healthz(writable) == (200, {"status": "ok", "database": "ok"})
        assert _healthz(read_only) == (503, {"status": "unavailable", "database": "read_only"})
    finally:
        for app in (writable, read_only):
            app.extensions["database"].engine.dispose()


def test_a_query_only_sqlite_connection_is_unhealthy(sqlite_template, tmp_path, sim):
    app = make_app(f"sqlite:///{_sqlite_copy(sqlite_template, tmp_path)}", sim.base_url)
    engine = app.extensions["database"].engine
    engine.dispose()  # connections opened from now on carry the pragma

    @event.listens_for(engine, "connect")
    def query_only(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA query_only=ON")

    try:
        assert _healthz(app) == (503, {"status": "unavailable", "database": "read_only"})
    finally:
        engine.dispose()


def test_a_sqlite_database_that_cannot_grow_is_full(sqlite_template, tmp_path, sim):
    """SQLite's page limit stands in for the disk: the probe needs one new page, as a growing table does."""
    path = _sqlite_copy(sqlite_template, tmp_path)
    with sqlite3.connect(path) as connection:
        connection.execute("VACUUM")  # no free pages left by migrations: the probe's table needs a new one
    app = make_app(f"sqlite:///{path}", sim.base_url)
    engine = app.extensions["database"].engine
    assert _healthz(app)[0] == 200
    engine.dispose()

    @event.listens_for(engine, "connect")
    def no_more_pages(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    try:
        assert _healthz(app) == (503, {"status": "unavailable", "database": "full"})
    finally:
        engine.dispose()


def test_too_little_free_disk_space_is_full(sqlite_template, tmp_path, sim):
    """The free space of the file system the SQLite file lives on, as statvfs reports it."""
    path = _sqlite_copy(sqlite_template, tmp_path)
    app = make_app(f"sqlite:///{path}", sim.base_url, HEALTH_MIN_FREE_BYTES=shutil.disk_usage(tmp_path).free * 4)
    try:
        assert _healthz(app) == (503, {"status": "unavailable", "database": "full"})
    finally:
        app.extensions["database"].engine.dispose()


def test_a_read_only_postgresql_is_unhealthy(postgres_database, sim):
    """A standby, or a server set to refuse writes, answers queries but would refuse every callback."""
    url = make_url(postgres_database).update_query_dict({"options": "-c default_transaction_read_only=on"})
    read_only = make_app(url.render_as_string(hide_password=False), sim.base_url)
    writable = make_app(postgres_database, sim.base_url)
    try:
        assert _healthz(writable) == (200, {"status": "ok", "database": "ok"})
        assert _healthz(read_only) == (503, {"status": "unavailable", "database": "read_only"})
    finally:
        for app in (writable, read_only):
            app.extensions["database"].engine.dispose()
