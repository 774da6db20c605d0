"""The Huey instance for a QUEUE_URL: SQLite file, PostgreSQL database or Redis.

Huey's SQL storages refuse a lock with a time to live, and a worker killed
while holding a lock would otherwise block that work until someone flushes it.
The two small subclasses here add that one method, atomically: SQLite inside
Huey's own `begin exclusive`, PostgreSQL in one INSERT .. ON CONFLICT on the
server's clock. Redis uses Huey's RedisExpireStorage, whose locks expire on any
Redis version.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from huey import Huey
from huey.storage import PostgresStorage, RedisExpireStorage, SqliteStorage
from sqlalchemy.engine import make_url

from ..config import queue_kind
from ..db import utcnow

QUEUE_NAME = "exotel-calls"
_TTL_PREFIX = b"ttl:"


def _expired(value: bytes | memoryview | None, now: float) -> bool:
    data = bytes(value) if value is not None else b""
    if not data.startswith(_TTL_PREFIX):
        return False  # a lock taken without a time to live never expires
    try:
        return float(data[len(_TTL_PREFIX) :]) <= now
    except ValueError:
        return False


class ExpiringSqliteStorage(SqliteStorage):
    """Huey's SQLite storage, with locks that expire."""

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if ttl is None:
            return super().put_if_empty(key, value)
        now = time.time()
        with self.db(commit=True) as curs:  # begin exclusive: one writer across processes
            row = curs.execute("select value from kv where queue=? and key=?", (self.name, key)).fetchone()
            if row is not None and not _expired(row[0], now):
                return False
            curs.execute(
                "insert or replace into kv (queue, key, value) values (?, ?, ?)",
                (self.name, key, _TTL_PREFIX + repr(now + ttl).encode()),
            )
        return True


class ExpiringPostgresStorage(PostgresStorage):
    """Huey's PostgreSQL storage, with locks that expire on the server's clock."""

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if ttl is None:
            return super().put_if_empty(key, value)
        # One statement: a row lock orders two takers, and the loser re-reads the winner's value.
        sql = (
            f"insert into {self.table_kv} as kv (queue, key, value) "
            "values (%s, %s, convert_to('ttl:' || (extract(epoch from clock_timestamp()) + %s)::text, 'UTF8')) "
            "on conflict (queue, key) do update set value = excluded.value "
            "where substring(kv.value from 1 for 4) = 'ttl:'::bytea "
            "and convert_from(substring(kv.value from 5), 'UTF8')::double precision < extract(epoch from clock_timestamp())"
        )
        with self.db() as curs:
            curs.execute(sql, (self.name, self._key(key), float(ttl)))
            return bool(curs.rowcount == 1)


class _Huey(Huey):
    """Huey without result storage: the truth of every task lives in the app's tables. Its schedule is on the
    clock every host shares (webapp.db.clock): a task one host delays by 5 s is due 5 s later on every host."""

    def __init__(self, storage_class: type, **storage_kwargs: Any):
        super().__init__(QUEUE_NAME, results=False, utc=True, storage_class=storage_class, **storage_kwargs)

    def _get_timestamp(self) -> datetime:
        return utcnow().replace(tzinfo=None)  # Huey's kind of time: naive UTC


def libpq_dsn(url: str) -> str:
    """A psycopg connection string from a SQLAlchemy or libpq PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_path(url: str) -> str:
    """The file of a sqlite:///PATH URL."""
    database = make_url(url).database
    if not database:
        raise ValueError("a SQLite queue needs a file")
    return database


def make_huey(queue_url: str) -> Huey:
    """A Huey on the storage QUEUE_URL names; its tables are created on first use."""
    kind = queue_kind(queue_url)
    if kind == "sqlite":
        return _Huey(ExpiringSqliteStorage, filename=sqlite_path(queue_url), timeout=10)
    if kind == "postgresql":
        return _Huey(ExpiringPostgresStorage, dsn=libpq_dsn(queue_url), connect_timeout=5)
    if kind == "redis":
        return _Huey(RedisExpireStorage, url=queue_url)
    raise ValueError(f"unsupported queue {kind!r}")
