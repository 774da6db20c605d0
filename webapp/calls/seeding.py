"""Synthetic calls and events for demos and benchmarks, inserted in bulk.

Rows are plain tuples written with COPY on PostgreSQL and executemany on
SQLite: a million calls take a minute or two, not the hours ORM objects would.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Engine, text

CALL_COLUMNS = (
    "id", "sid", "from_number", "caller_id", "flow_url", "call_type", "time_limit", "time_out",
    "custom_field", "status", "error_code", "error_message", "created_at", "placed_at", "answered_at",
    "ended_at", "conversation_duration", "recording_url", "answered_by", "updated_at",
)
EVENT_COLUMNS = ("call_id", "call_sid", "event_type", "status", "occurred_at", "received_at", "payload", "dedup_key")

EXOPHONES = (("08047112345", 50), ("08047112346", 30), ("02248906789", 20))
FLOWS = (
    ("http://my.exotel.com/acme1/exoml/start_voice/230001", 45),
    ("http://my.exotel.com/acme1/exoml/start_voice/230002", 30),
    ("http://my.exotel.com/acme1/exoml/start_voice/230003", 15),
    ("http://my.exotel.com/acme1/exoml/start_voice/230004", 10),
)
# Outcomes of settled calls, in percent of all calls.
OUTCOMES = (
    ("completed", 55.0), ("no-answer", 18.0), ("busy", 11.0), ("failed", 5.0), ("canceled", 2.0),
    ("rejected", 3.0), ("unknown", 0.6), ("pending", 0.2),
)
# Calls per UTC hour: Indian business hours (09:00-20:00 IST is 03:30-14:30 UTC).
HOUR_WEIGHTS = (2, 2, 3, 8, 12, 14, 14, 13, 12, 13, 13, 12, 10, 8, 6, 4, 3, 2, 1, 1, 1, 1, 1, 1)
RECONCILED = 0.03  # share of settled calls whose terminal callback never came
EXTRA_STATUS_EVENT = 0.45  # share of settled calls that also got a status-only callback
BATCH = 10_000

Row = tuple[Any, ...]  # one row of calls or call_events, in column order
T = TypeVar("T")
IST_OFFSET = 19800  # Exotel's timestamps are in the account's zone
# Unanswered outcomes: seconds from placing to the end.
ENDINGS = {"no-answer": (30, 45), "busy": (3, 10), "failed": (1, 5), "canceled": (5, 20)}


@dataclass
class SeedReport:
    calls: int = 0
    events: int = 0


def _cumulative(choices: Iterable[tuple[T, float]]) -> tuple[tuple[T, ...], list[float]]:
    """Values and cumulative weights, for bisecting a uniform draw."""
    pairs = list(choices)
    return tuple(value for value, _ in pairs), list(itertools.accumulate(weight for _, weight in pairs))


def _time(epoch: float | None) -> str | None:
    """Epoch seconds as the naive UTC text UTCDateTime stores on SQLite (PostgreSQL reads it too)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(" ", "microseconds")[:26]


def _exotel_time(epoch: float) -> str:
    """Epoch seconds as Exotel writes DateUpdated: local time (IST), to the second."""
    return datetime.fromtimestamp(epoch + IST_OFFSET, UTC).isoformat(" ", "seconds")[:19]


def generate(n: int, *, days: int = 90, seed: int | None = None, now: datetime | None = None) -> Iterator[tuple[Row, list[Row]]]:
    """Yield (call row, its event rows) for `n` calls created over the last `days` days.

    Times are naive UTC text ('YYYY-MM-DD HH:MM:SS.ffffff'), as stored on SQLite.
    """
    rng = random.Random(seed)
    random_ = rng.random
    now_ts = int((now or datetime.now(UTC)).timestamp())
    start_ts = now_ts - now_ts % 86400 - (days - 1) * 86400  # midnight UTC, `days` days ago
    phones, phone_cum = _cumulative(EXOPHONES)
    flows, flow_cum = _cumulative(FLOWS)
    outcomes, outcome_cum = _cumulative(OUTCOMES)
    hours, hour_cum = _cumulative(enumerate(HOUR_WEIGHTS))

    def pick(values: Sequence[T], cumulative: list[float]) -> T:
        return values[bisect.bisect(cumulative, random_() * cumulative[-1])]

    for _ in range(n):
        created: float = now_ts
        while created >= now_ts:  # today's hours still to come: draw again
            created = start_ts + rng.randrange(days) * 86400 + pick(hours, hour_cum) * 3600 + random_() * 3600
        call_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        status = pick(outcomes, outcome_cum)
        if now_ts - created < 120 and status not in ("rejected", "pending", "unknown"):
            status = rng.choice(("queued", "ringing", "in-progress"))
        sid: str | None = None
        error_code: str | None = None
        error_message: str | None = None
        placed: float | None = None
        answered: float | None = None
        ended: float | None = None
        duration: int | None = None
        answered_by: str | None = None
        if status == "rejected":
            error_code, error_message = "403", "Not allowed to call this number (unverified on a trial account)"
        elif status == "unknown":
            error_message = "Exotel did not answer within 30 s"
        elif status != "pending":
            sid = f"{rng.getrandbits(128):032x}"
            placed = float(int(created) + 1)  # Exotel's DateCreated, to the second
            if status in ("completed", "in-progress"):
                answered = placed + max(2, min(55, round(rng.gauss(12, 6))))
                answered_by = "human"
            if status == "completed":
                assert answered is not None
                duration = max(1, min(3600, round(rng.lognormvariate(4.1, 0.9))))
                ended = answered + duration
            elif status in ENDINGS:
                assert placed is not None
                low, high = ENDINGS[status]
                duration, ended = 0, placed + rng.randint(low, high)
        call = (
            call_id, sid, f"+9198{rng.randrange(10**8):08d}", pick(phones, phone_cum), pick(flows, flow_cum),
            "trans", 3600, 45, f"order-{rng.randrange(10**6)}" if random_() < 0.7 else None,
            status, error_code, error_message, _time(created), _time(placed), _time(answered), _time(ended),
            duration, None, answered_by, _time(ended or answered or placed or created),
        )
        yield call, list(_events(rng, call_id, sid, status, answered, ended, duration))


def _events(
    rng: random.Random, call_id: str, sid: str | None, status: str,
    answered: float | None, ended: float | None, duration: int | None,
) -> Iterator[Row]:
    """The callbacks (and reconciliation results) a call like this one would have left."""
    if sid is None:
        return
    k = 0

    def event(event_type: str, event_status: str, when: float, extra: str = "") -> Row:
        nonlocal k
        k += 1
        kind = f', "EventType": "{event_type}"' if event_type in ("answered", "terminal") else ""
        body = f'{{"CallSid": "{sid}", "Status": "{event_status}", "DateUpdated": "{_exotel_time(when)}"{kind}{extra}}}'
        received = when + rng.random() * 2
        return (call_id, sid, event_type, event_status, _time(when), _time(received), body, f"{call_id}:{k}")

    if answered is not None:
        yield event("answered", "in-progress", answered)
    if ended is None:
        return
    extra = f', "ConversationDuration": "{duration}"'
    if rng.random() < RECONCILED:
        yield event("reconcile", status, ended + rng.randint(15, 60) * 60, extra)
        return
    yield event("terminal", status, ended, extra)
    if rng.random() < EXTRA_STATUS_EVENT:
        yield event("status", status, ended, extra)


def seed(engine: Engine, n: int, *, days: int = 90, seed: int | None = None, now: datetime | None = None) -> SeedReport:
    """Insert `n` synthetic calls and their events, then refresh the planner's statistics."""
    return seed_many([engine], n, days=days, seed=seed, now=now)


def seed_many(engines: list[Engine], n: int, *, days: int = 90, seed: int | None = None, now: datetime | None = None) -> SeedReport:
    """The same synthetic calls into several databases, generated once (the benchmark compares them)."""
    report = SeedReport()
    calls: list[Row] = []
    events: list[Row] = []
    writers: list[_PostgresWriter | _SQLiteWriter] = [
        _PostgresWriter(e) if e.dialect.name == "postgresql" else _SQLiteWriter(e) for e in engines
    ]
    with contextlib.ExitStack() as stack:
        for writer in writers:
            stack.enter_context(writer)
        for call, call_events in generate(n, days=days, seed=seed, now=now):
            calls.append(call)
            events.extend(call_events)
            if len(calls) >= BATCH:
                for writer in writers:
                    writer.write(calls, events)
                report.calls += len(calls)
                report.events += len(events)
                calls, events = [], []
        if calls:
            for writer in writers:
                writer.write(calls, events)
            report.calls += len(calls)
            report.events += len(events)
    for engine in engines:
        with engine.begin() as connection:
            # Rows written behind the app's back, with past updated_at: have the report cache rebuilt.
            connection.execute(text("DELETE FROM report_refresh"))
        _analyze(engine)
    return report


class _PostgresWriter:
    """COPY into both tables through psycopg, one transaction a batch."""

    def __init__(self, engine: Engine):
        self.raw = engine.raw_connection()
        self.driver: Any = self.raw.driver_connection

    def __enter__(self) -> _PostgresWriter:
        with self.driver.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")  # the naive UTC text is read as UTC
        return self

    def write(self, calls: list[Row], events: list[Row]) -> None:
        with self.driver.cursor() as cursor:
            with cursor.copy(f"COPY calls ({', '.join(CALL_COLUMNS)}) FROM STDIN") as copy:
                for row in calls:
                    copy.write_row(row)
            with cursor.copy(f"COPY call_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
                for row in events:
                    copy.write_row(row)
        self.raw.commit()

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        try:
            self.raw.rollback()
            with self.driver.cursor() as cursor:
                cursor.execute("RESET TIME ZONE")
            self.raw.commit()
        finally:
            self.raw.close()


class _SQLiteWriter:
    """executemany, one IMMEDIATE transaction a batch, with a page cache big enough for the indexes."""

    def __init__(self, engine: Engine):
        self.raw = engine.raw_connection()
        driver: Any = self.raw.driver_connection
        self.cursor: Any = driver.cursor()

    def __enter__(self) -> _SQLiteWriter:
        self.cursor.execute("PRAGMA cache_size=-1000000")  # 1 GB: random keys (uuid, sid) touch every page
        return self

    def write(self, calls: list[Row], events: list[Row]) -> None:
        self.cursor.execute("BEGIN IMMEDIATE")
        try:
            self.cursor.executemany(
                f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({', '.join('?' * len(CALL_COLUMNS))})", calls
            )
            self.cursor.executemany(
                f"INSERT INTO call_events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                events,
            )
        except BaseException:
            self.cursor.execute("ROLLBACK")
            raise
        self.cursor.execute("COMMIT")

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        try:
            self.cursor.execute("PRAGMA cache_size=-2000")
            self.cursor.close()
        finally:
            self.raw.close()


def _analyze(engine: Engine) -> None:
    """Fresh statistics; on PostgreSQL also the visibility map that index-only scans need."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) calls, call_events"))
    else:
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
