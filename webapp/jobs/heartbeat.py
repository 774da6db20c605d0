"""The worker's heartbeat: a row per worker process, renewed every few seconds while it runs.

Its times are on the clock every host shares (webapp.db.clock), so a web server
on another host reads a live worker as alive whatever its own clock says. A
clean stop keeps the row with its time (the home page says which host
stopped); rows are forgotten a day after their last beat.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..db import Database, utcnow
from ..reporting.shift import WorkerSeen, WorkerState
from .tables import WorkerHeartbeat

log = logging.getLogger(__name__)

BEAT_SECONDS = 15.0
SEEN_WITHIN = timedelta(minutes=1)
LISTED_WITHIN = timedelta(hours=1)  # /healthz and the home page list the workers seen this recently
FORGET_AFTER = timedelta(days=1)


def last_seen(db: Database) -> datetime | None:
    """The latest heartbeat of any worker, or None when none ever beat."""
    with db.transaction(write=False) as session:
        return session.scalar(select(func.max(WorkerHeartbeat.last_seen)))


def worker_status(db: Database, now: datetime | None = None) -> dict[str, object]:
    """`{"seen": bool, "last_seen": ISO 8601 or None}`: seen = a heartbeat within the last minute from a
    worker that has not stopped."""
    now = now or utcnow()
    with db.transaction(write=False) as session:
        seen_at = session.scalar(select(func.max(WorkerHeartbeat.last_seen)))
        alive = session.scalar(select(func.count()).select_from(WorkerHeartbeat).where(
            WorkerHeartbeat.stopped_at.is_(None), WorkerHeartbeat.last_seen >= now - SEEN_WITHIN))
    return {"seen": bool(alive), "last_seen": seen_at.isoformat() if seen_at else None}


def workers_seen(db: Database, now: datetime | None = None) -> list[WorkerSeen]:
    """Each worker process seen in the last hour, by host and pid; alive = beating within the last minute."""
    now = now or utcnow()
    with db.transaction(write=False) as session:
        rows = session.scalars(select(WorkerHeartbeat).where(WorkerHeartbeat.last_seen >= now - LISTED_WITHIN)
                               .order_by(WorkerHeartbeat.host, WorkerHeartbeat.pid, WorkerHeartbeat.started_at)).all()
    return [WorkerSeen(row.host, row.pid, row.last_seen,
                       alive=row.stopped_at is None and now - row.last_seen <= SEEN_WITHIN,
                       stopped_at=row.stopped_at) for row in rows]


def workers_json(workers: list[WorkerSeen]) -> list[dict[str, object]]:
    """/healthz's `workers`: `{"host", "pid", "last_seen", "alive"}` each."""
    return [{"host": w.host, "pid": w.pid, "last_seen": w.last_seen.isoformat(), "alive": w.alive} for w in workers]


def worker_state(db: Database, now: datetime | None = None) -> WorkerState:
    """The home page's Worker tile: whether any worker is alive, the latest beat, each worker process."""
    workers = workers_seen(db, now)
    latest = last_seen(db)
    return WorkerState(seen=any(w.alive for w in workers), last_seen=latest, workers=tuple(workers))


class Heartbeat:
    """Beats for this process in a daemon thread until stopped."""

    def __init__(self, db: Database, *, periodic: bool, every: float = BEAT_SECONDS, on_beat=None):
        self.db = db
        self.periodic = periodic
        self.every = every
        self.on_beat = on_beat
        self.started_at = utcnow()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{int(self.started_at.timestamp())}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def beat(self) -> None:
        now = utcnow()
        with self.db.transaction() as session:
            result = session.execute(
                update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id)
                .values(last_seen=now, stopped_at=None)
            )
            changed = getattr(result, "rowcount", 0)
            if not changed:
                session.add(WorkerHeartbeat(worker_id=self.worker_id, host=socket.gethostname(), pid=os.getpid(),
                                            periodic=self.periodic, started_at=self.started_at, last_seen=now))
            session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen < now - FORGET_AFTER))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
                if self.on_beat is not None:
                    self.on_beat()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("heartbeat failed: %s", type(exc).__name__)
            except Exception:
                log.exception("heartbeat failed")
            self._stop.wait(self.every)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating and mark this worker's row stopped, so a clean stop shows at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        now = utcnow()
        try:
            with self.db.transaction() as session:
                session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id)
                                .values(last_seen=now, stopped_at=now))
        except SQLAlchemyError:
            pass
