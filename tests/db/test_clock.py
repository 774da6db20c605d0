"""The shared clock: a process measures PostgreSQL's clock and corrects its time by the difference; SQLite is
one host, with nothing to measure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from webapp.config import Settings
from webapp.config.timebase import clock_offset, set_clock_offset
from webapp.db import utcnow
from webapp.db.clock import measure_offset, sync_clock


@pytest.fixture
def offset():
    yield set_clock_offset
    set_clock_offset(timedelta(0))


def test_a_host_off_the_databases_clock_is_brought_back_to_it(postgres_database, offset):
    engine = create_engine(postgres_database)
    try:
        assert abs(measure_offset(engine)) < timedelta(seconds=1)  # the same host as the database here
        offset(timedelta(minutes=2))  # as if this host were 2 minutes behind
        assert abs(utcnow() - datetime.now(UTC) - timedelta(minutes=2)) < timedelta(seconds=1)
        assert abs(Settings(database_url="sqlite://", secret_key="x").now() - utcnow()) < timedelta(seconds=1)
        assert sync_clock(engine) == timedelta(0)  # measured: the database agrees with this host's own clock
        assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=1)
    finally:
        engine.dispose()


def test_sqlite_is_one_clock(tmp_path, offset):
    engine = create_engine(f"sqlite:///{tmp_path / 'one.db'}")
    assert measure_offset(engine) is None
    offset(timedelta(seconds=30))
    assert sync_clock(engine) == clock_offset() == timedelta(seconds=30)  # left alone
