"""What the shift's home page shows: today's calls, calls in flight, answer rates, latest failures, the worker.

Today and the seven days before it are days of the viewer's zone, counted by
the report (its cache, the rules of `daily_call_stats`); the calls in flight
and the latest failures are read from `calls` through its status index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ..models import Call
from .report import Counts, ReportFilters, build_report

# Not final, by how far they got; `unknown` is shown apart (reconciliation settles it).
IN_FLIGHT = ("pending", "queued", "ringing", "in-progress")
UNSETTLED = "unknown"
FAILURES = ("failed", "rejected")
LATEST = 8
BASELINE_DAYS = 7


@dataclass(frozen=True)
class WorkerSeen:
    """One worker process as its heartbeat last reported it."""

    host: str
    pid: int
    last_seen: datetime
    alive: bool
    stopped_at: datetime | None = None  # a clean stop; a killed worker just stops beating


@dataclass(frozen=True)
class WorkerState:
    """The background workers as their heartbeats last reported them (those seen in the last hour)."""

    seen: bool  # one is alive
    last_seen: datetime | None
    workers: tuple[WorkerSeen, ...] = ()

    @property
    def stopped_hosts(self) -> list[tuple[str, datetime]]:
        """Hosts none of whose workers is alive while another host's is, with when their last one stopped."""
        if not self.seen:
            return []
        alive = {w.host for w in self.workers if w.alive}
        stopped: dict[str, datetime] = {}
        for w in self.workers:
            if w.host not in alive:
                at = w.stopped_at or w.last_seen
                stopped[w.host] = max(stopped.get(w.host, at), at)
        return sorted(stopped.items())


@dataclass(frozen=True)
class Shift:
    """The home page's figures, at `now`, in `zone`."""

    now: datetime
    zone: str
    today: date
    today_counts: Counts
    baseline: Counts  # the BASELINE_DAYS days before today, together
    in_flight: dict[str, int]  # by status
    unsettled: int
    failures: Sequence[Call]
    worker: WorkerState | None  # None: this deployment reports no worker heartbeat
    unanswered: int = 0  # of the in-progress calls, those not answered yet (Exotel is still ringing them)

    @property
    def in_flight_total(self) -> int:
        return sum(self.in_flight.values())

    @property
    def baseline_start(self) -> date:
        return self.today - timedelta(days=BASELINE_DAYS)

    def version(self) -> str:
        """Changes whenever anything the page shows changes (an ETag)."""
        t, b = self.today_counts, self.baseline
        worker = (self.worker.seen, self.worker.last_seen, self.worker.workers) if self.worker else None
        state = repr((
            self.zone, self.today, t.calls, t.placed, t.answered, t.failed, t.rejected, b.placed, b.answered,
            sorted(self.in_flight.items()), self.unanswered, self.unsettled,
            [(call.id, call.status, call.updated_at) for call in self.failures], worker,
        ))
        return hashlib.sha256(state.encode()).hexdigest()[:20]


def _worker_state() -> WorkerState | None:
    """The worker's heartbeat; this build keeps none, so the page says so."""
    return None


def shift_summary(
    engine: Engine,
    session: Session,
    zone: str,
    *,
    now: datetime | None = None,
    worker: Callable[[], WorkerState | None] = _worker_state,
) -> Shift:
    """The figures for the shift's home page, in the viewer's `zone`, at `now` (default: the present)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = now.astimezone(ZoneInfo(zone)).date()
    report = build_report(engine, ReportFilters(today - timedelta(days=BASELINE_DAYS), today, zone=zone))
    today_counts = report.by_day.get(today) or Counts()
    baseline = sum((report.by_day.get(day) or Counts() for day in report.filters.days if day != today), Counts())
    in_flight = dict.fromkeys(IN_FLIGHT, 0)
    not_answered = Call.answered_at.is_(None)
    counted = session.execute(
        select(Call.status, not_answered, func.count()).where(Call.status.in_((*IN_FLIGHT, UNSETTLED)))
        .group_by(Call.status, not_answered)
    ).all()
    unsettled = unanswered = 0
    for status, waiting, count in counted:
        if status == UNSETTLED:
            unsettled += count
        else:
            in_flight[status] += count
            if status == "in-progress" and waiting:
                unanswered += count
    failures = session.scalars(
        select(Call).where(Call.status.in_(FAILURES)).order_by(Call.created_at.desc(), Call.id.desc()).limit(LATEST)
    ).all()
    return Shift(now, zone, today, today_counts, baseline, in_flight, unsettled, failures, worker(), unanswered)

