"""Migrating a database to head, and scratch PostgreSQL databases made and dropped around a run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from .credentials import SECRET_KEY


def migrate(url: str, config: dict[str, object] | None = None) -> None:
    """Apply every migration to ``url`` with the app's own Alembic configuration."""
    from alembic import command

    from webapp import create_app
    from webapp.cli import alembic_config

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "TESTING": True, **(config or {})})
    try:
        with app.app_context():
            command.upgrade(alembic_config(), "head")
    finally:
        app.extensions["database"].engine.dispose()


def postgres_error(url: str | URL) -> str | None:
    """Return why the PostgreSQL server at ``url`` does not answer (an exception's name), or None."""
    try:
        engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return type(exc).__name__
    return None


@contextmanager
def scratch_postgres(server_url: str | URL, prefix: str) -> Iterator[str]:
    """Create an empty database beside ``server_url``'s and yield its URL; drop it afterwards."""
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
