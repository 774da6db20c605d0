"""The raw write path: a dead connection is reported as a disconnect and every stale pooled one is replaced."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from webapp.db.fastpath import run_write


def _backend_pid(cursor) -> int:
    cursor.execute("SELECT pg_backend_pid()")
    return cursor.fetchone()[0]


def test_a_disconnect_replaces_every_pooled_connection(postgres_database):
    """After the server drops its connections, the first write fails as a disconnect and the next one succeeds.

    The pool holds two connections; both die. Without invalidating the whole pool the
    second write would be handed the other dead connection and fail too.
    """
    engine = create_engine(postgres_database, pool_size=2, max_overflow=0)
    admin = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    try:
        first, second = engine.raw_connection(), engine.raw_connection()
        dead = {first.driver_connection.info.backend_pid, second.driver_connection.info.backend_pid}
        first.close()
        second.close()
        with admin.connect() as connection:
            for pid in dead:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        with pytest.raises(DBAPIError) as failure:
            run_write(engine, None, _backend_pid)
        assert failure.value.connection_invalidated

        assert run_write(engine, None, _backend_pid) not in dead
    finally:
        engine.dispose()
        admin.dispose()
