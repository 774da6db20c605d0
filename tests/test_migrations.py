"""Alembic owns the schema: up from empty, down to nothing, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from tests.conftest import SECRET_KEY
from webapp import create_app
from webapp.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    import uuid

    from sqlalchemy import text

    server = request.getfixturevalue("postgres_server_url")
    name = f"exotel_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


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
