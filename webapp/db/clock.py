"""The clock every host shares: the database's.

Hosts compare times they each wrote: a worker's heartbeat read by a web
server, a claim made on one host and judged lost on another, a call created by
a web server and reconciled by a worker. Each process therefore measures how
far PostgreSQL's clock is from its own host's (the round trip's midpoint, best
of three) when it starts and every SYNC_EVERY seconds after, and
`webapp.db.utcnow()` / `Settings.now()` apply that offset
(`webapp.config.timebase`). Differences under TOLERANCE are left alone, so a
well-synchronised host's clock never steps. SQLite is one host by definition:
nothing to measure.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from ..config.timebase import clock_offset, set_clock_offset
from .answer import answer_within
from .engine import ANSWER_SECONDS
from .per_process import PerProcess

log = logging.getLogger(__name__)

SYNC_EVERY = 300.0  # seconds between two measurements
TOLERANCE = timedelta(milliseconds=250)  # smaller differences are not corrected
SAMPLES = 3


def measure_offset(engine: Engine) -> timedelta | None:
    """How far the database's clock is ahead of this host's; None when there is no other clock (SQLite)."""
    if engine.dialect.name != "postgresql":
        return None
    best: tuple[float, float] | None = None  # (round trip, offset) in seconds
    with answer_within(ANSWER_SECONDS), engine.connect() as connection:
        for _ in range(SAMPLES):
            before = time.time()
            server = float(connection.execute(text("select extract(epoch from clock_timestamp())")).scalar_one())
            after = time.time()
            if best is None or after - before < best[0]:
                best = (after - before, server - (before + after) / 2)
    assert best is not None
    return timedelta(seconds=best[1])


def sync_clock(engine: Engine) -> timedelta:
    """Measure the database's clock and correct this process's time by it; the offset now applied."""
    measured = measure_offset(engine)
    if measured is None:
        return clock_offset()
    if abs(measured - clock_offset()) >= TOLERANCE:
        if abs(measured) < TOLERANCE:
            measured = timedelta(0)
        else:
            log.warning("this host's clock is %.1f s %s the database's: times are corrected by it",
                        abs(measured.total_seconds()), "behind" if measured > timedelta(0) else "ahead of",
                        extra={"event": "clock_offset", "offset_seconds": round(measured.total_seconds(), 3)})
        set_clock_offset(measured)
    return clock_offset()


class _Keeper:
    """A daemon thread of this process re-measuring the clock every SYNC_EVERY seconds."""

    def __init__(self, engine: Engine, every: float):
        self.engine = engine
        self.every = every
        self.thread = threading.Thread(target=self._run, name="clock-sync", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                sync_clock(self.engine)
            except SQLAlchemyError as exc:  # the database is away: keep the last offset, try again later
                log.warning("clock sync failed: %s", type(exc).__name__)
            except Exception:  # anything else: logged, and the thread goes on (it is this process's only one)
                log.exception("clock sync failed")
            time.sleep(self.every)


_keepers: PerProcess[_Keeper] = PerProcess()


def keep_clock(engine: Engine, every: float = SYNC_EVERY) -> None:
    """Keep this process's time on the database's clock: a thread measures now and every `every` seconds.
    Cheap to call often (a web server calls it per request): it starts the thread once per process (again
    after a fork) and otherwise only points it at `engine`."""
    if engine.dialect.name != "postgresql":
        return
    _keepers.get(lambda: _Keeper(engine, every)).engine = engine
