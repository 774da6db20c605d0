"""Schema changes that leave the service running, for migrations: indexes built and dropped CONCURRENTLY on PostgreSQL.

A plain `CREATE INDEX` on PostgreSQL holds a lock that blocks every write to the
table until the build ends (seconds on a large `calls`: callbacks would wait);
`DROP INDEX` waits for every query on the table and blocks all behind it.
CONCURRENTLY lets reads and writes go on. It cannot run inside a transaction, so
each statement runs in Alembic's autocommit block (which first commits what the
migration did so far). A concurrent build that fails (a deadlock, a cancelled
statement, a duplicate in a unique index) leaves an INVALID index under its name:
it is dropped first, and an index already built is kept (IF NOT EXISTS), so a
migration that stopped half-way can simply be run again.

SQLite builds as before: its writers wait for its one write lock anyway.
`tests/test_online_migrations.py` holds every migration to this.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _drop_if_invalid(name: str) -> None:
    invalid = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = pg_index.indexrelid "
                "WHERE pg_class.relname = :name AND NOT pg_index.indisvalid"),
        {"name": name},
    ).first()
    if invalid is not None:
        op.execute(sa.text(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'))


def create_index(name: str, table: str, columns: Sequence[Any], **options: Any) -> None:
    """`op.create_index`; on PostgreSQL CONCURRENTLY, after dropping an INVALID leftover, kept if already built."""
    if not _postgresql():
        op.create_index(name, table, list(columns), **options)
        return
    with op.get_context().autocommit_block():
        _drop_if_invalid(name)
        op.create_index(name, table, list(columns), postgresql_concurrently=True, if_not_exists=True, **options)


def build_index(name: str, definition: str, *, unique: bool = False) -> None:
    """PostgreSQL only: `CREATE [UNIQUE] INDEX CONCURRENTLY name <definition>` (e.g. "ON calls (reverse(x))"), as create_index."""
    with op.get_context().autocommit_block():
        _drop_if_invalid(name)
        op.execute(sa.text(f"CREATE {'UNIQUE ' if unique else ''}INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}"))


def drop_index(name: str, table: str) -> None:
    """`op.drop_index`; on PostgreSQL CONCURRENTLY (and a no-op when it is gone already)."""
    if not _postgresql():
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def create_foreign_key(name: str, source: str, referent: str, local: list[str], remote: list[str], **options: Any) -> None:
    """PostgreSQL only (SQLite adds constraints in batch mode): a foreign key added NOT VALID, then validated after a commit.

    Adding a checked foreign key scans the whole table under a lock that blocks its
    writes; added NOT VALID it only checks new rows, and VALIDATE CONSTRAINT then
    scans under a lock that lets writes go on (once the add's lock is committed away).
    """
    op.create_foreign_key(name, source, referent, local, remote, postgresql_not_valid=True, **options)
    with op.get_context().autocommit_block():
        op.execute(sa.text(f'ALTER TABLE "{source}" VALIDATE CONSTRAINT "{name}"'))


def add_unique_constraint(name: str, table: str, columns: list[str]) -> None:
    """PostgreSQL only (SQLite adds constraints in batch mode): a unique constraint whose index is built CONCURRENTLY first."""
    build_index(name, f'ON "{table}" ({", ".join(columns)})', unique=True)
    op.execute(sa.text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE USING INDEX "{name}"'))
