"""The Exotel budget: overhead per request and achieved rate, on SQLite, PostgreSQL and Redis.

    python -m bench budget

For each store: the cost of one grant (µs, one process, a limit never reached),
then 4 processes asking for slots as fast as the budget lets them for
BENCH_BUDGET_SECONDS (default 120) at 100/min and at 1000/min: the requests
granted per minute against the configured rate, and the most granted in any
60-second window on the limiter's own clock (never above the limit) and on the
clients' clocks once their grant came back (a few more are possible there: the
answer's latency varies, so a receiver whose window edge falls inside that
jitter can count one or two extra; leave a margin below Exotel's limit). PostgreSQL comes from
BENCH_DATABASE_URL or TEST_DATABASE_URL (a scratch database is made and
dropped); Redis from BENCH_REDIS_URL (default redis://127.0.0.1:6379/7).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from webapp.exotel import INTERACTIVE
from webapp.exotel_access.budget import NAME, Budget

PROCESSES = 4
RATES = (100, 1000)


def _reset(queue_url: str) -> None:
    budget = Budget(queue_url, 1)
    try:
        log = budget._log
        if hasattr(log, "_redis"):
            log._redis.delete(f"exotel-calls:budget:{NAME}")
        else:
            budget.try_take(INTERACTIVE)  # creates the table
            with log._engine.begin() as conn:
                conn.execute(text("delete from exotel_budget"))
    finally:
        budget.close()


def overhead_us(queue_url: str, calls: int = 2000) -> float:
    """Median µs of one granted slot, one process."""
    _reset(queue_url)
    budget = Budget(queue_url, 10_000_000)
    try:
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            budget.try_take(INTERACTIVE)
            samples.append((time.perf_counter() - started) * 1e6)
        return statistics.median(samples)
    finally:
        budget.close()


def _client(queue_url: str, limit: int, until: float) -> list[tuple[float, float]]:
    """(the limiter's clock at the grant, this process's clock once granted) for each slot."""
    budget = Budget(queue_url, limit)
    granted = []
    try:
        while time.time() < until:
            try:
                grant = budget.take(INTERACTIVE, wait=max(0.0, until - time.time()))
            except Exception:
                break
            moment = time.time()
            if moment < until:
                granted.append((grant.at, moment))
    finally:
        budget.close()
    return granted


def max_in_window(moments: list[float], window: float = 60.0) -> int:
    """The most moments in any half-open window [t, t + window)."""
    moments = sorted(moments)
    best, low = 0, 0
    for high, moment in enumerate(moments):
        while moments[low] <= moment - window:
            low += 1
        best = max(best, high - low + 1)
    return best


def rate_run(queue_url: str, limit: int, seconds: float) -> tuple[float, int, int]:
    """(granted per minute, most in any 60 s on the limiter's clock, and as the clients saw them)."""
    _reset(queue_url)
    until = time.time() + 2 + seconds  # all clients start together
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(_client, [(queue_url, limit, until)] * PROCESSES)
    pairs = [pair for result in results for pair in result if pair[1] >= until - seconds]
    return len(pairs) / (seconds / 60), max_in_window([p[0] for p in pairs]), max_in_window([p[1] for p in pairs])


def _stores():
    folder = tempfile.mkdtemp(prefix="bench-budget-")
    yield "sqlite", f"sqlite:///{folder}/queue.db", None
    server = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if server:
        url = make_url(server).set(drivername="postgresql+psycopg")
        name = f"bench_budget_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield "postgresql", url.set(database=name).render_as_string(hide_password=False), None
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        print("postgresql: skipped (set BENCH_DATABASE_URL or TEST_DATABASE_URL)")
    yield "redis", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"), None


def main() -> int:
    seconds = float(os.environ.get("BENCH_BUDGET_SECONDS", "120"))
    print(f"{PROCESSES} processes, {seconds:g} s per run")
    print(f"{'store':<11} {'µs/grant':>9} {'limit/min':>10} {'granted/min':>12} {'of limit':>9} {'max in 60 s':>12}"
          f" {'as clients saw':>15}")
    status = 0
    for store, url, _ in _stores():
        cost = overhead_us(url)
        for limit in RATES:
            achieved, most, seen = rate_run(url, limit, seconds)
            over = most > limit
            status |= int(over)
            print(f"{store:<11} {cost:>9.0f} {limit:>10} {achieved:>12.1f} {achieved / limit:>8.1%} {most:>12}"
                  f" {seen:>15}{'  OVER THE LIMIT' if over else ''}", flush=True)
    return status
