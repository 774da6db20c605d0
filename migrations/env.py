"""Alembic environment: the app's database URL and models, batch mode for SQLite."""

from __future__ import annotations

from alembic import context

from webapp.db import make_engine
from webapp.schema import metadata, report_cache  # every table of the app

config = context.config


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: run through `flask --app webapp db upgrade`")
    return url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url())
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table and drops the old one; with foreign keys on, SQLite's
            # DROP TABLE first deletes every row, firing ON DELETE actions on the tables that
            # point at it (events would lose their call). The pragma is a no-op inside a
            # transaction, so it is set on the driver's connection before the first BEGIN.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,  # SQLite alters tables by copying them
            compare_type=True,
            include_object=report_cache.include_object,  # indexes only migrations spell
            # PostgreSQL: each revision commits on its own, so the locks one takes (an ALTER TABLE's
            # on calls) end with it rather than with the whole upgrade, and the concurrent index
            # builds (webapp/db/migrating.py) commit only their own revision's work. SQLite keeps one
            # transaction, so the foreign key check below can still undo everything.
            transaction_per_migration=not sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows whose foreign keys point nowhere: {broken[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
