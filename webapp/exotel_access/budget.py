"""One budget of Exotel requests for the whole deployment: a sliding 60-second log.

Every request that leaves for Exotel first takes a slot: at most `limit` slots
in any 60 seconds, counted where the queue lives, so every process on every
host shares one count. Bulk work (reconciliation, campaigns) stops at 90 % of
the limit, so a person placing a call is not refused because a campaign runs.

Each grant is atomic: SQLite inside BEGIN IMMEDIATE (one writer at a time),
PostgreSQL under a transaction-scoped advisory lock, Redis in one Lua script.
The clock is the storage's own (PostgreSQL's clock_timestamp(), Redis' TIME;
SQLite is on one host) unless a test passes one.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from ..config import queue_kind
from ..db import WRITE, make_engine
from ..exotel import BULK, BudgetSpent, Priority

WINDOW = 60.0
BULK_SHARE = 0.9
NAME = "exotel"

Clock = Callable[[], float]


@dataclass(frozen=True)
class Grant:
    granted: bool
    retry_after: float  # seconds until a slot frees (0 when granted)
    at: float = 0.0  # the log's clock when asked (Unix seconds)


def cap(limit: int, priority: Priority) -> int:
    """The slots `priority` may use of `limit`: bulk never the last 10 %."""
    return max(1, math.floor(limit * BULK_SHARE)) if priority == BULK else limit


class _SqlLog:
    """The log in SQLite or PostgreSQL, through a SQLAlchemy engine (its pool, its BEGIN IMMEDIATE)."""

    def __init__(self, engine: Engine, *, clock: Clock | None):
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._clock = clock
        self._created = False

    def _create(self, conn: Connection) -> None:
        id_type = "bigserial primary key" if self._postgres else "integer primary key"
        conn.exec_driver_sql(f"create table if not exists exotel_budget (id {id_type}, name varchar(64) not null, "
                             "sent_at double precision not null)")
        conn.exec_driver_sql("create index if not exists ix_exotel_budget_name_sent_at on exotel_budget (name, sent_at)")

    def take(self, name: str, limit: int) -> Grant:
        with self._engine.connect().execution_options(**WRITE) as conn, conn.begin():
            if self._postgres:
                # Every taker waits here in turn, so count and insert see the same log. The commit does
                # not wait for the disk (like SQLite's WAL with synchronous=NORMAL): a server crash may
                # forget the last fraction of a second of grants, never break a running server's count.
                conn.execute(text("set local synchronous_commit = off"))
                conn.execute(text("select pg_advisory_xact_lock(hashtext(:key))"), {"key": f"exotel-budget:{name}"})
            if not self._created:
                self._create(conn)
                self._created = True
            if self._clock is not None:
                now = self._clock()
            elif self._postgres:
                now = float(conn.execute(text("select extract(epoch from clock_timestamp())::double precision")).scalar_one())
            else:
                now = time.time()
            args = {"name": name, "low": now - WINDOW, "now": now}
            conn.execute(text("delete from exotel_budget where name = :name and sent_at <= :low"), args)
            used = int(conn.execute(text("select count(*) from exotel_budget where name = :name"), args).scalar_one())
            if used < limit:
                conn.execute(text("insert into exotel_budget (name, sent_at) values (:name, :now)"), args)
                return Grant(True, 0.0, now)
            # The slot that frees once enough older ones have left the window.
            oldest = conn.execute(
                text("select sent_at from exotel_budget where name = :name order by sent_at limit 1 offset :skip"),
                {**args, "skip": used - limit},
            ).scalar()
            return Grant(False, max(0.0, float(oldest) + WINDOW - now) if oldest is not None else WINDOW, now)


_LUA = """
local key, limit, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return {1, '0', tostring(now)}
end
local slot = redis.call('ZRANGE', key, used - limit, used - limit, 'WITHSCORES')
return {0, tostring(tonumber(slot[2]) + window - now), tostring(now)}
"""


class _RedisLog:
    def __init__(self, url: str, clock: Clock | None):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5)
        self._script = self._redis.register_script(_LUA)
        self._clock = clock

    def close(self) -> None:
        self._redis.close()

    def take(self, name: str, limit: int) -> Grant:
        now = "" if self._clock is None else repr(self._clock())
        granted, wait, at = self._script(keys=[f"exotel-calls:budget:{name}"], args=[limit, WINDOW, now, uuid.uuid4().hex])
        return Grant(bool(int(granted)), max(0.0, float(wait)), float(at))


def libpq_url(url: str) -> str:
    """A SQLAlchemy psycopg 3 URL for a postgresql:// QUEUE_URL."""
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


class Budget:
    """The deployment's Exotel budget: `limit` requests in any 60 seconds."""

    def __init__(self, queue_url: str, limit: int, *, engine: Engine | None = None, clock: Clock | None = None,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Clock = time.monotonic):
        """`engine`: the app's own, when the queue is the app's database (one pool, disposed with it)."""
        self.limit = limit
        self._sleep = sleep
        self._monotonic = monotonic
        self._own_engine: Engine | None = None
        if queue_kind(queue_url) == "redis":
            self._log: _SqlLog | _RedisLog = _RedisLog(queue_url, clock)
            return
        if engine is None:
            url = queue_url if queue_kind(queue_url) == "sqlite" else libpq_url(queue_url)
            engine = self._own_engine = make_engine(url, pool_size=2, max_overflow=8)
        self._log = _SqlLog(engine, clock=clock)

    def close(self) -> None:
        """Release connections this budget opened itself."""
        if self._own_engine is not None:
            self._own_engine.dispose()
        if isinstance(self._log, _RedisLog):
            self._log.close()

    def try_take(self, priority: Priority) -> Grant:
        """One attempt at a slot, without waiting."""
        return self._log.take(NAME, cap(self.limit, priority))

    def take(self, priority: Priority, *, wait: float, on_wait: Callable[[float], None] | None = None) -> Grant:
        """A slot for one request, waiting at most `wait` seconds; raises BudgetSpent otherwise."""
        give_up = self._monotonic() + wait
        while True:
            grant = self.try_take(priority)
            if grant.granted:
                return grant
            left = give_up - self._monotonic()
            if grant.retry_after > left:
                raise BudgetSpent(
                    f"This deployment's budget of {self.limit} Exotel requests a minute is spent; "
                    f"nothing was sent. Try again in {math.ceil(grant.retry_after)} s.",
                    retry_after=grant.retry_after,
                )
            pause = min(max(grant.retry_after, 0.01), left)
            if on_wait is not None:
                on_wait(pause)
            self._sleep(pause)
