"""The worker's heartbeat: a row per worker process, renewed every few seconds while it runs."""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..db import Database, utcnow
from .tables import WorkerHeartbeat

log = logging.getLogger(__name__)

BEAT_SECONDS = 15.0
SEEN_WITHIN = timedelta(minutes=1)
FORGET_AFTER = timedelta(days=1)


def last_seen(db: Database) -> datetime | None:
    """The latest heartbeat of any worker, or None when none ever beat."""
    with db.transaction(write=False) as session:
        return session.scalar(select(func.max(WorkerHeartbeat.last_seen)))


def worker_status(db: Database, now: datetime | None = None) -> dict[str, object]:
    """`{"seen": bool, "last_seen": ISO 8601 or None}`: seen = a heartbeat within the last minute."""
    seen_at = last_seen(db)
    now = now or utcnow()
    return {"seen": seen_at is not None and now - seen_at <= SEEN_WITHIN,
            "last_seen": seen_at.isoformat() if seen_at else None}


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
                update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id).values(last_seen=now)
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
        """Stop beating and remove this worker's row, so a clean stop shows at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        try:
            with self.db.transaction() as session:
                session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id))
        except SQLAlchemyError:
            pass
