"""A report read from the cache: totals, per day and per hour of day, for a range of days in one zone.

The cache holds UTC quarter hours; each is placed in the zone's local day and
hour by zoneinfo (so daylight saving time is followed), after the database has
added up the ExoPhones and flows of each quarter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, literal_column, select, text

from .cache import refresh, report_quarter_totals, report_quarters
from .sql import BUCKET_COLUMNS, DURATION_BUCKETS, OUTCOMES, RING_BUCKETS, SUMMED, WIDTH


@dataclass(frozen=True)
class ReportFilters:
    """A report's scope: whole days of `zone` from `start` to `end` inclusive, optionally one ExoPhone and flow."""

    start: date
    end: date
    caller_id: str | None = None
    flow_url: str | None = None
    zone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def since(self) -> datetime:
        """The first instant of `start` in the zone, in UTC."""
        return datetime.combine(self.start, time.min, self.tz).astimezone(UTC)

    @property
    def until(self) -> datetime:
        """The first instant after `end` in the zone, in UTC."""
        return datetime.combine(self.end + timedelta(days=1), time.min, self.tz).astimezone(UTC)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


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
    def from_sums(cls, sums: Sequence[Any]) -> Counts:
        """Counts from the summed columns of report_sql's rows, in SUMMED's order, then the buckets."""
        n, d = len(SUMMED), len(DURATION_BUCKETS)
        values: dict[str, Any] = {name: int(value) for name, value in zip(SUMMED, sums[:n], strict=True)}
        values["ring_seconds"] = float(sums[SUMMED.index("ring_seconds")])
        return cls(
            **values,
            durations=[int(value) for value in sums[n : n + d]],
            ring_times=[int(value) for value in sums[n + d :]],
        )

    def __add__(self, other: Counts) -> Counts:
        """Both groups' counts together."""
        lists = ("durations", "ring_times")
        values: dict[str, Any] = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name not in lists}
        for name in lists:
            values[name] = [a + b for a, b in zip(getattr(self, name), getattr(other, name), strict=True)]
        return Counts(**values)

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
            yield {"hour": hour, "calls": counts.calls, "answered": counts.answered, "answer_rate": counts.answer_rate}

    def duration_rows(self) -> Iterator[dict]:
        for (label, low, high), calls in zip(DURATION_BUCKETS, self.total.durations, strict=True):
            yield {"conversation": label, "from_seconds": low, "to_seconds": high, "calls": calls}

    def ring_rows(self) -> Iterator[dict]:
        for (label, low, high), calls in zip(RING_BUCKETS, self.total.ring_times, strict=True):
            yield {"ring_time": label, "from_seconds": low, "to_seconds": high, "calls": calls}


TABLES = {
    "daily": Report.daily_rows,
    "hours": Report.hour_rows,
    "durations": Report.duration_rows,
    "ring-times": Report.ring_rows,
}


def _column_sums(rows: Iterable[Sequence[Any]]) -> list[Any]:
    """Each column of `rows` added up (zeros when there are none)."""
    sums = [sum(column) for column in zip(*rows, strict=True)]
    return sums or [0] * WIDTH


# A cached quarter's start as whole seconds since 1970, per dialect.
EPOCH = {"postgresql": "CAST(extract(epoch FROM {0}) AS bigint)", "sqlite": "CAST(strftime('%s', {0}) AS INTEGER)"}


def _hour_shift(filters: ReportFilters) -> int | None:
    """The zone's offset from UTC modulo an hour, if it stays the same over the range, else None.

    With one such shift (India's 1,800 s all year; New York's 0 across its clock changes), the
    quarters of each local hour are those of one shifted UTC hour, and the database adds them up.
    """
    tz, shifts, instant = filters.tz, set(), filters.since
    while instant < filters.until:
        offset = instant.astimezone(tz).utcoffset()
        shifts.add(int(offset.total_seconds()) % 3600 if offset is not None else 0)
        instant += timedelta(hours=1)
    return shifts.pop() if len(shifts) == 1 else None


def build_report(engine: Engine, filters: ReportFilters) -> Report:
    """The report for `filters`: the cache refreshed, its quarters in range added up per local day and hour."""
    refresh(engine)
    table = report_quarters if filters.caller_id or filters.flow_url else report_quarter_totals
    columns = table.c
    shift = _hour_shift(filters)
    # Local hours as shifted UTC hours when the zone allows (fewer rows back), else the quarters themselves.
    key = (literal_column(f"({EPOCH[engine.dialect.name].format(table.name + '.quarter_start')} + {shift}) / 3600")
           if shift is not None else columns.quarter_start)
    query = select(key, *[func.sum(columns[name]) for name in SUMMED + BUCKET_COLUMNS]).where(
        columns.quarter_start >= filters.since, columns.quarter_start < filters.until
    )
    if filters.caller_id:
        query = query.where(columns.caller_id == filters.caller_id)
    if filters.flow_url:
        query = query.where(columns.flow_url == filters.flow_url)
    with engine.connect() as connection:
        rows = connection.execute(query.group_by(key)).all()
    tz = filters.tz
    cells: dict[tuple[date, int], list[Sequence[Any]]] = defaultdict(list)
    for row in rows:
        start = row[0] if shift is None else datetime.fromtimestamp(int(row[0]) * 3600 - shift, UTC)
        local = start.astimezone(tz)
        cells[(local.date(), local.hour)].append([value or 0 for value in row[1:]])
    hourly = {cell: _column_sums(values) for cell, values in cells.items()}
    days: dict[date, list[Sequence[Any]]] = defaultdict(list)
    hours: dict[int, list[Sequence[Any]]] = defaultdict(list)
    for (day, hour), sums in hourly.items():
        days[day].append(sums)
        hours[hour].append(sums)
    by_day = {day: _column_sums(values) for day, values in days.items()}
    return Report(
        filters,
        Counts.from_sums(_column_sums(by_day.values())),
        {day: Counts.from_sums(sums) for day, sums in by_day.items()},
        {hour: Counts.from_sums(_column_sums(values)) for hour, values in hours.items()},
    )


def choices(engine: Engine, recent: int = 2_000) -> tuple[list[str], list[str]]:
    """ExoPhones and flows of the latest `recent` calls, to suggest in the filter; one read of those calls for both."""
    latest = f"(SELECT caller_id, flow_url FROM calls ORDER BY created_at DESC LIMIT {int(recent)}) AS latest"
    with engine.connect() as connection:
        pairs = connection.execute(text(f"SELECT DISTINCT caller_id, flow_url FROM {latest}")).all()
    return sorted({str(caller_id) for caller_id, _flow in pairs}), sorted({str(flow) for _caller_id, flow in pairs})
