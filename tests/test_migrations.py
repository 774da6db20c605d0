"""Alembic owns the schema: up from empty, down to nothing, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from tests.support.credentials import SECRET_KEY
from tests.support.databases import scratch_postgres
from webapp import create_app
from webapp.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgres(request.getfixturevalue("postgres_server_url"), "exotel_mig") as url:
        yield url


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) | set(inspect(engine).get_view_names())
    finally:
        engine.dispose()
    return names - {"alembic_version"}


def test_upgrade_from_empty_and_downgrade_to_nothing(empty_database):
    app = create_app({"DATABASE_URL": empty_database, "SECRET_KEY": SECRET_KEY, "TESTING": True})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert set(Base.metadata.tables) <= tables(empty_database)
    assert {"calls", "call_events"} <= tables(empty_database)
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert tables(empty_database) == set()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    app.extensions["database"].engine.dispose()


def test_models_match_the_migrations(database_url):
    """Autogenerate finds nothing to do: the models and the migrated schema agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from webapp.reporting.cache import include_object

    engine = create_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_contract_columns(database_url):
    engine = create_engine(database_url)
    columns = {table: {c["name"] for c in inspect(engine).get_columns(table)} for table in ("calls", "call_events")}
    engine.dispose()
    assert columns["calls"] >= {
        "id", "sid", "from_number", "caller_id", "flow_url", "call_type", "time_limit", "time_out",
        "custom_field", "status", "error_code", "error_message", "created_at", "placed_at",
        "answered_at", "ended_at", "conversation_duration", "recording_url", "answered_by", "updated_at",
    }
    assert columns["call_events"] >= {
        "id", "call_id", "call_sid", "event_type", "status", "occurred_at", "received_at", "payload",
    }


def test_upgrading_keeps_every_row_and_its_links(empty_database):
    """Revisions that copy `calls` (SQLite's batch mode) keep its events and idempotency keys attached."""
    from sqlalchemy import text

    app = create_app({"DATABASE_URL": empty_database, "SECRET_KEY": SECRET_KEY, "TESTING": True})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0003"]).exit_code == 0
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO calls (id, from_number, caller_id, flow_url, status, created_at, updated_at) "
            "VALUES ('c1', '+919876500001', '08047112345', 'http://f', 'completed', :now, :now)"), {"now": "2026-12-01 10:00:00"})
        connection.execute(text(
            "INSERT INTO call_events (call_id, call_sid, event_type, status, received_at, payload, dedup_key) "
            "VALUES ('c1', 's', 'terminal', 'completed', :now, '{}', 'k1')"), {"now": "2026-12-01 10:00:00"})
        connection.execute(text(
            "INSERT INTO idempotency_keys (scope, key, request_hash, call_id, created_at) "
            "VALUES ('token:1', 'key', 'h', 'c1', :now)"), {"now": "2026-12-01 10:00:00"})
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT call_id FROM call_events")).scalar() == "c1"
        assert connection.execute(text("SELECT call_id FROM idempotency_keys")).scalar() == "c1"
        assert connection.execute(text("SELECT COUNT(*) FROM call_report")).scalar() == 1
    engine.dispose()
    app.extensions["database"].engine.dispose()
