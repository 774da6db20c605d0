"""The SQL behind the report pages: `call_report` aggregated with `daily_call_stats`'s rules, and its cache.

One statement (`report_sql`) reads `call_report` (migration 0002) and sums, per
UTC hour, ExoPhone and flow, the figures the pages show; its per-day columns use
the expressions of `daily_call_stats` word for word, so an analyst's query and
the page agree (tests and the benchmark pin it).

Reading a 30-day range of a million calls that way costs seconds, so the sums
are kept in `report_hours`, a cache refreshed before every report: the hours
holding calls changed (`calls.updated_at`) since the last refresh, less a
safety overlap for transactions that committed late, are recomputed by the
same statement. A page then adds up at most 24 rows a day per ExoPhone and flow.
Calls are never deleted; whoever writes calls behind the app's back (a bulk
import) empties `report_refresh` to have the cache rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator

from sqlalchemy import Column, Engine, Float, Integer, PrimaryKeyConstraint, String, Table, Text, bindparam, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from .db import WRITE, Base, UTCDateTime, utcnow

MAX_DAYS = 366

# (label, lower bound inclusive, upper bound exclusive or None), in seconds.
DURATION_BUCKETS = (
    ("< 10 s", 0, 10), ("10-30 s", 10, 30), ("30-60 s", 30, 60), ("1-2 min", 60, 120),
    ("2-5 min", 120, 300), ("5-10 min", 300, 600), ("10+ min", 600, None),
)
RING_BUCKETS = (
    ("< 5 s", 0, 5), ("5-10 s", 5, 10), ("10-15 s", 10, 15), ("15-20 s", 15, 20),
    ("20-30 s", 20, 30), ("30-45 s", 30, 45), ("45+ s", 45, None),
)
OUTCOMES = ("completed", "busy", "no_answer", "failed", "canceled", "rejected", "other")

# The rules of daily_call_stats (migration 0002), over call_report's columns.
PLACED = "status NOT IN ('pending', 'rejected') AND NOT (status = 'unknown' AND sid IS NULL)"
HOUR_START = {
    "sqlite": "substr(created_at, 1, 13) || ':00:00.000000'",
    "postgresql": "date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}
# Calls whose row changed this long before the last refresh are looked at again: a
# transaction that stamped updated_at then may have committed after that refresh read.
REFRESH_OVERLAP = timedelta(minutes=5)
# More changed hours than this and the whole cache is rebuilt in one statement.
MAX_PATCHED_HOURS = 200


def _bucket_sums(column: str, prefix: str, buckets) -> list[str]:
    sums = []
    for i, (_label, low, high) in enumerate(buckets):
        condition = f"{column} >= {low}" + (f" AND {column} < {high}" if high is not None else "")
        sums.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {prefix}{i}")
    return sums


def report_sql(dialect: str) -> str:
    """call_report's calls created in [since, until), summed per (UTC hour, ExoPhone, flow)."""
    columns = [
        f"{HOUR_START[dialect]} AS hour_start",
        "caller_id",
        "flow_url",
        "COUNT(*) AS calls",
        f"SUM(CASE WHEN {PLACED} THEN 1 ELSE 0 END) AS placed",
        "SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered",
        "SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed",
        "SUM(CASE WHEN status = 'busy' THEN 1 ELSE 0 END) AS busy",
        "SUM(CASE WHEN status = 'no-answer' THEN 1 ELSE 0 END) AS no_answer",
        "SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed",
        "SUM(CASE WHEN status = 'canceled' THEN 1 ELSE 0 END) AS canceled",
        "SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected",
        "COALESCE(SUM(CASE WHEN answered_at IS NOT NULL THEN conversation_duration END), 0) AS conversation_seconds",
        "COUNT(CASE WHEN answered_at IS NOT NULL THEN conversation_duration END) AS conversations",
        "COALESCE(SUM(ring_seconds), 0) AS ring_seconds",
        "COUNT(ring_seconds) AS rings",
        *_bucket_sums("CASE WHEN answered_at IS NOT NULL THEN conversation_duration END", "d", DURATION_BUCKETS),
        *_bucket_sums("ring_seconds", "r", RING_BUCKETS),
    ]
    return (
        f"SELECT {', '.join(columns)} FROM call_report WHERE created_at >= :since AND created_at < :until "
        f"GROUP BY {HOUR_START[dialect]}, caller_id, flow_url"
    )


@dataclass(frozen=True)
class ReportFilters:
    """A report's scope: whole UTC days from `start` to `end` inclusive, optionally one ExoPhone and flow."""

    start: date
    end: date
    caller_id: str | None = None
    flow_url: str | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, timezone.utc)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, timezone.utc)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


# The additive columns of report_sql, in its order after (day, hour).
SUMMED = (
    "calls", "placed", "answered", "completed", "busy", "no_answer", "failed", "canceled", "rejected",
    "conversation_seconds", "conversations", "ring_seconds", "rings",
)
BUCKET_COLUMNS = tuple(f"d{i}" for i in range(len(DURATION_BUCKETS))) + tuple(f"r{i}" for i in range(len(RING_BUCKETS)))
WIDTH = len(SUMMED) + len(BUCKET_COLUMNS)

report_hours = Table(
    "report_hours",
    Base.metadata,
    Column("hour_start", UTCDateTime, nullable=False),
    Column("caller_id", String(32), nullable=False),
    Column("flow_url", Text, nullable=False),
    *[Column(name, Float if name == "ring_seconds" else Integer, nullable=False) for name in SUMMED + BUCKET_COLUMNS],
    PrimaryKeyConstraint("hour_start", "caller_id", "flow_url"),
)
report_refresh = Table(
    "report_refresh",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("refreshed_at", UTCDateTime, nullable=False),
)


@dataclass
class Counts:
    """Additive counts for one group of calls (a day, an hour, the whole range)."""

    calls: int = 0
    placed: int = 0
    answered: int = 0
    completed: int = 0
    busy: int = 0
    no_answer: int = 0
    failed: int = 0
    canceled: int = 0
    rejected: int = 0
    conversation_seconds: int = 0
    conversations: int = 0
    ring_seconds: float = 0.0
    rings: int = 0
    durations: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    ring_times: list[int] = field(default_factory=lambda: [0] * len(RING_BUCKETS))

    @classmethod
    def from_sums(cls, sums: list) -> Counts:
        """Counts from the summed columns of report_sql's rows."""
        n, d = len(SUMMED), len(DURATION_BUCKETS)
        counts = cls(*(int(value) for value in sums[: n - 2]), float(sums[n - 2]), int(sums[n - 1]))
        counts.durations = [int(value) for value in sums[n : n + d]]
        counts.ring_times = [int(value) for value in sums[n + d :]]
        return counts

    @property
    def other(self) -> int:
        """Calls with none of the final outcomes counted apart: in flight, pending, unknown."""
        return self.calls - sum(getattr(self, name) for name in OUTCOMES[:-1])

    @property
    def answer_rate(self) -> float | None:
        """answered / placed, as daily_call_stats computes it; None when none placed."""
        return self.answered / self.placed if self.placed else None

    @property
    def avg_conversation_seconds(self) -> float | None:
        return self.conversation_seconds / self.conversations if self.conversations else None

    @property
    def avg_ring_seconds(self) -> float | None:
        return self.ring_seconds / self.rings if self.rings else None


@dataclass
class Report:
    filters: ReportFilters
    total: Counts
    by_day: dict[date, Counts]
    by_hour: dict[int, Counts]

    def daily_rows(self) -> Iterator[dict]:
        """One row a day (days without calls included), the columns of daily_call_stats and more."""
        for day in self.filters.days:
            counts = self.by_day.get(day) or Counts()
            yield {
                "day": day,
                "calls": counts.calls,
                "placed": counts.placed,
                "answered": counts.answered,
                "answer_rate": counts.answer_rate,
                "completed": counts.completed,
                "busy": counts.busy,
                "no_answer": counts.no_answer,
                "failed": counts.failed,
                "canceled": counts.canceled,
                "rejected": counts.rejected,
                "other": counts.other,
                "avg_conversation_seconds": counts.avg_conversation_seconds,
                "avg_ring_seconds": counts.avg_ring_seconds,
            }

    def hour_rows(self) -> Iterator[dict]:
        for hour in range(24):
            counts = self.by_hour.get(hour) or Counts()
            yield {"hour_utc": hour, "calls": counts.calls, "answered": counts.answered, "answer_rate": counts.answer_rate}

    def duration_rows(self) -> Iterator[dict]:
        for (label, low, high), calls in zip(DURATION_BUCKETS, self.total.durations):
            yield {"conversation": label, "from_seconds": low, "to_seconds": high, "calls": calls}

    def ring_rows(self) -> Iterator[dict]:
        for (label, low, high), calls in zip(RING_BUCKETS, self.total.ring_times):
            yield {"ring_time": label, "from_seconds": low, "to_seconds": high, "calls": calls}


TABLES = {
    "daily": Report.daily_rows,
    "hours": Report.hour_rows,
    "durations": Report.duration_rows,
    "ring-times": Report.ring_rows,
}


def _fill(connection: Connection, since: datetime | None, until: datetime | None) -> None:
    """Recompute the cache's hours in [since, until) (everything when None) from call_report."""
    hours = report_hours.c.hour_start
    if since is None:
        connection.execute(delete(report_hours))
        since, until = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9999, 1, 1, tzinfo=timezone.utc)
    else:
        connection.execute(delete(report_hours).where(hours >= since, hours < until))
    names = ("hour_start", "caller_id", "flow_url", *SUMMED, *BUCKET_COLUMNS)
    source = text(report_sql(connection.dialect.name)).bindparams(
        bindparam("since", since, type_=UTCDateTime), bindparam("until", until, type_=UTCDateTime)
    ).columns(*[report_hours.c[name] for name in names])
    connection.execute(insert(report_hours).from_select(names, source))


def _runs(hours: list[datetime]) -> Iterator[tuple[datetime, datetime]]:
    """Sorted hour starts as [start, end) ranges of consecutive hours."""
    start = end = None
    for hour in sorted(hours):
        if end is not None and hour == end:
            end = hour + timedelta(hours=1)
            continue
        if start is not None:
            yield start, end
        start, end = hour, hour + timedelta(hours=1)
    if start is not None:
        yield start, end


def refresh(engine: Engine) -> None:
    """Bring report_hours up to date with the calls, in one write transaction."""
    dialect = engine.dialect.name
    with engine.connect() as connection:
        connection.execution_options(**WRITE)
        with connection.begin():
            if dialect == "postgresql":  # one refresher at a time; SQLite's BEGIN IMMEDIATE does the same
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('report_hours'))"))
            started = utcnow()
            last = connection.execute(select(report_refresh.c.refreshed_at).where(report_refresh.c.id == 1)).scalar()
            if last is None:
                _fill(connection, None, None)
            else:
                changed = text(
                    f"SELECT DISTINCT {HOUR_START[dialect]} AS hour_start FROM calls WHERE updated_at > :since"
                ).bindparams(bindparam("since", last - REFRESH_OVERLAP, type_=UTCDateTime))
                hours = connection.execute(changed.columns(report_hours.c.hour_start)).scalars().all()
                if len(hours) > MAX_PATCHED_HOURS:
                    _fill(connection, None, None)
                else:
                    for since, until in _runs(hours):
                        _fill(connection, since, until)
            connection.execute(delete(report_refresh))
            connection.execute(insert(report_refresh).values(id=1, refreshed_at=started))


def build_report(engine: Engine, filters: ReportFilters) -> Report:
    """The report for `filters`: the cache refreshed, then its hours in range added up."""
    refresh(engine)
    hours = report_hours.c
    query = select(hours.hour_start, *[func.sum(hours[name]) for name in SUMMED + BUCKET_COLUMNS]).where(
        hours.hour_start >= filters.since, hours.hour_start < filters.until
    )
    if filters.caller_id:
        query = query.where(hours.caller_id == filters.caller_id)
    if filters.flow_url:
        query = query.where(hours.flow_url == filters.flow_url)
    total = [0] * WIDTH
    by_day: dict[date, list] = {}
    by_hour: dict[int, list] = {}
    with engine.connect() as connection:
        rows = connection.execute(query.group_by(hours.hour_start)).all()
    for hour_start, *values in rows:
        values = [value or 0 for value in values]
        total = [a + b for a, b in zip(total, values)]
        day, hour = hour_start.date(), hour_start.hour
        by_day[day] = [a + b for a, b in zip(by_day.get(day) or [0] * WIDTH, values)]
        by_hour[hour] = [a + b for a, b in zip(by_hour.get(hour) or [0] * WIDTH, values)]
    return Report(
        filters,
        Counts.from_sums(total),
        {day: Counts.from_sums(sums) for day, sums in by_day.items()},
        {hour: Counts.from_sums(sums) for hour, sums in by_hour.items()},
    )


def choices(connection: Connection, recent: int = 2_000) -> tuple[list[str], list[str]]:
    """ExoPhones and flows of the latest `recent` calls, to suggest in the filter (read from the index, not the table)."""
    latest = f"(SELECT caller_id, flow_url FROM calls ORDER BY created_at DESC LIMIT {int(recent)}) AS latest"
    caller_ids = connection.execute(text(f"SELECT DISTINCT caller_id FROM {latest} ORDER BY caller_id")).scalars().all()
    flows = connection.execute(text(f"SELECT DISTINCT flow_url FROM {latest} ORDER BY flow_url")).scalars().all()
    return list(caller_ids), list(flows)
