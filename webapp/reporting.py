"""The SQL behind the report pages: the `call_report` view, aggregated with `daily_call_stats`'s rules.

The page reads `call_report` (migration 0002) for a UTC date range, optionally
one ExoPhone and one flow, in a single grouped query per (day, hour of day).
Its per-day columns use the expressions of `daily_call_stats` word for word,
so an analyst's `SELECT * FROM daily_call_stats` and the page agree (a test
pins it). Everything else on the page is a sum of those groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from .db import UTCDateTime

MAX_DAYS = 366

# (label, lower bound inclusive, upper bound exclusive or None), in seconds.
DURATION_BUCKETS = (
    ("under 10 s", 0, 10), ("10-30 s", 10, 30), ("30-60 s", 30, 60), ("1-2 min", 60, 120),
    ("2-5 min", 120, 300), ("5-10 min", 300, 600), ("10 min or more", 600, None),
)
RING_BUCKETS = (
    ("under 5 s", 0, 5), ("5-10 s", 5, 10), ("10-15 s", 10, 15), ("15-20 s", 15, 20),
    ("20-30 s", 20, 30), ("30-45 s", 30, 45), ("45 s or more", 45, None),
)
OUTCOMES = ("completed", "busy", "no_answer", "failed", "canceled", "rejected", "other")

# The rules of daily_call_stats (migration 0002), over call_report's columns.
PLACED = "status NOT IN ('pending', 'rejected') AND NOT (status = 'unknown' AND sid IS NULL)"
DAY = {"sqlite": "substr(created_at, 1, 10)", "postgresql": "CAST(created_at AT TIME ZONE 'UTC' AS date)"}
HOUR = {
    "sqlite": "CAST(substr(created_at, 12, 2) AS INTEGER)",
    "postgresql": "CAST(EXTRACT(HOUR FROM created_at AT TIME ZONE 'UTC') AS integer)",
}


def _bucket_sums(column: str, prefix: str, buckets) -> list[str]:
    sums = []
    for i, (_label, low, high) in enumerate(buckets):
        condition = f"{column} >= {low}" + (f" AND {column} < {high}" if high is not None else "")
        sums.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {prefix}{i}")
    return sums


def report_sql(dialect: str, *, caller_id: bool, flow_url: bool) -> str:
    """One scan of call_report over [since, until): counts per (day, hour)."""
    columns = [
        f"{DAY[dialect]} AS day",
        f"{HOUR[dialect]} AS hour",
        "COUNT(*) AS calls",
        f"SUM(CASE WHEN {PLACED} THEN 1 ELSE 0 END) AS placed",
        "SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered",
        "SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed",
        "SUM(CASE WHEN status = 'busy' THEN 1 ELSE 0 END) AS busy",
        "SUM(CASE WHEN status = 'no-answer' THEN 1 ELSE 0 END) AS no_answer",
        "SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed",
        "SUM(CASE WHEN status = 'canceled' THEN 1 ELSE 0 END) AS canceled",
        "SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected",
        "SUM(CASE WHEN answered_at IS NOT NULL THEN conversation_duration END) AS conversation_seconds",
        "COUNT(CASE WHEN answered_at IS NOT NULL THEN conversation_duration END) AS conversations",
        "SUM(ring_seconds) AS ring_seconds",
        "COUNT(ring_seconds) AS rings",
        *_bucket_sums("CASE WHEN answered_at IS NOT NULL THEN conversation_duration END", "d", DURATION_BUCKETS),
        *_bucket_sums("ring_seconds", "r", RING_BUCKETS),
    ]
    where = ["created_at >= :since", "created_at < :until"]
    if caller_id:
        where.append("caller_id = :caller_id")
    if flow_url:
        where.append("flow_url = :flow_url")
    return (
        f"SELECT {', '.join(columns)} FROM call_report WHERE {' AND '.join(where)} "
        f"GROUP BY {DAY[dialect]}, {HOUR[dialect]}"
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
WIDTH = len(SUMMED) + len(DURATION_BUCKETS) + len(RING_BUCKETS)


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


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def build_report(connection: Connection, filters: ReportFilters) -> Report:
    """The report for `filters`, from one query over call_report."""
    dialect = connection.dialect.name
    statement = text(
        report_sql(dialect, caller_id=bool(filters.caller_id), flow_url=bool(filters.flow_url))
    ).bindparams(bindparam("since", type_=UTCDateTime), bindparam("until", type_=UTCDateTime))
    params = {"since": filters.since, "until": filters.until}
    if filters.caller_id:
        params["caller_id"] = filters.caller_id
    if filters.flow_url:
        params["flow_url"] = filters.flow_url
    total = [0] * WIDTH
    by_day: dict[date, list] = {}
    by_hour: dict[int, list] = {}
    for day, hour, *values in connection.execute(statement, params):
        values = [value or 0 for value in values]
        total = [a + b for a, b in zip(total, values)]
        day, hour = _as_date(day), int(hour)
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
