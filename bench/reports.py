"""Report page, calls list and CSV export over a million calls, on SQLite and PostgreSQL.

It creates a scratch SQLite file and a scratch PostgreSQL database, migrates
both, seeds the same BENCH_CALLS synthetic calls (1,000,000, with about two
events each, over 90 days) into both, and then, per database, through the app's
test client signed in as a user (server time: routing, SQL, rendering; no
network):

- the report page for the last 30 days, its days and hours in UTC
  (`GET /reports?start=&end=&tz=UTC`) and in Asia/Kolkata (`&tz=Asia/Kolkata`,
  counted from the cache's UTC quarter hours);
- the calls list page, first page and filtered by status and a date range
  (`GET /calls`, the HTML page with keyset pagination and its count), by the
  last 5 digits of a number, and by a placer with no calls (the worst case for
  an index the list also walks in date order);
- the calls CSV export of at least 100,000 rows (`GET /calls.csv?since=&until=`),
  in a fresh process: peak Python heap (tracemalloc) and peak RSS (VmHWM).

Each timing is the median of 5 after one warm-up request. It also checks that
the report's per-day figures equal `daily_call_stats` for the range (UTC), and
that its Asia/Kolkata days equal a query counting in that zone.

Environment: BENCH_CALLS (1000000), BENCH_DATABASE_URL (else TEST_DATABASE_URL,
else postgresql+psycopg://postgres@127.0.0.1:5432/postgres: a scratch database
is created beside it), BENCH_DATABASES (sqlite,postgresql), BENCH_TIMEOUT
(seconds for the whole run, 3600).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import postgres_base
from tests.support.databases import migrate, scratch_postgres

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-" + "r" * 32
EMAIL, PASSWORD = "bench@example.com", "bench password 1234"
RUNS = 5
REPORT_DAYS = 30
CSV_ROWS = 100_000
TARGETS_MS = {
    ("report", "postgresql"): 150, ("report", "sqlite"): 400,
    ("report IST", "postgresql"): 150, ("report IST", "sqlite"): 400,
    ("list", "postgresql"): 100, ("list", "sqlite"): 100,
    ("list filtered", "postgresql"): 100, ("list filtered", "sqlite"): 100,
    # SQLite keeps no index on a number's ending (calls/number_search.py): it reads all of ix_calls_from_number_created_at.
    ("list last digits", "postgresql"): 100, ("list last digits", "sqlite"): 600,
    ("list by placer", "postgresql"): 100, ("list by placer", "sqlite"): 100,
}
CSV_TARGET_MB = 100


class Timeout(Exception):
    """BENCH_TIMEOUT passed."""


def _config(database_url: str) -> dict:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "WTF_CSRF_ENABLED": False,
        # Credentials that are never used: no simulator starts, nothing is placed.
        "EXOTEL_ACCOUNT_SID": "bench", "EXOTEL_API_KEY": "bench", "EXOTEL_API_TOKEN": "bench",
        "EXOTEL_API_BASE": "http://127.0.0.1:9",
    }


def _app(database_url: str):
    from webapp import create_app

    return create_app(_config(database_url))


def _signed_in_client(app):
    from webapp.accounts import AccountError, create_user
    from webapp.db import get_db

    with app.app_context():
        try:
            create_user(get_db(), EMAIL, PASSWORD, is_admin=True)
        except AccountError:
            pass  # made by an earlier step
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed: {response.status_code}")
    return client


def _median_ms(client, path: str, query: dict | None = None) -> tuple[float, int]:
    """Median server time of RUNS requests after one warm-up, and the status of the last."""
    response = client.get(path, query_string=query)
    response.get_data()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        response = client.get(path, query_string=query)
        response.get_data()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), response.status_code


def _last_day(engine) -> date:
    from sqlalchemy import text

    with engine.connect() as connection:
        return date.fromisoformat(str(connection.execute(text("SELECT MAX(day) FROM daily_call_stats")).scalar()))


def _check_report(engine, start: date, end: date) -> str:
    """Whether the report's days equal daily_call_stats's over the range."""
    from sqlalchemy import text

    from webapp.reporting import ReportFilters, build_report

    columns = ("calls", "placed", "answered", "completed", "busy", "no_answer", "failed", "rejected",
               "answer_rate", "avg_conversation_seconds")
    report = build_report(engine, ReportFilters(start, end))
    with engine.connect() as connection:
        view = connection.execute(
            text("SELECT * FROM daily_call_stats WHERE day >= :start AND day <= :end"),
            {"start": start.isoformat(), "end": end.isoformat()},
        ).mappings().all()
    page = {str(row["day"]): row for row in report.daily_rows()}
    for row in view:
        mine = page[str(row["day"])]
        if any(mine[name] != row[name] for name in columns):
            return f"MISMATCH on {row['day']}"
    return f"equal to daily_call_stats ({len(view)} days, {report.total.calls:,} calls)"


# Calls, placed and answered per Asia/Kolkata day, counted by the database (India keeps +05:30 all year).
IST_DAY = {
    "postgresql": "CAST(created_at AT TIME ZONE 'Asia/Kolkata' AS date)",
    "sqlite": "date(created_at, '+330 minutes')",
}


def _check_zone_report(engine, start: date, end: date) -> str:
    """Whether the report's Asia/Kolkata days equal a query grouping call_report by that zone's day."""
    from sqlalchemy import text

    from webapp.reporting import ReportFilters, build_report
    from webapp.reporting.sql import PLACED

    filters = ReportFilters(start, end, zone="Asia/Kolkata")
    report = build_report(engine, filters)
    day = IST_DAY[engine.dialect.name]
    with engine.connect() as connection:
        rows = connection.execute(text(
            f"SELECT {day} AS day, COUNT(*) AS calls, SUM(CASE WHEN {PLACED} THEN 1 ELSE 0 END) AS placed, "
            "SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered FROM call_report "
            "WHERE created_at >= :since AND created_at < :until GROUP BY 1"
        ), {"since": filters.since, "until": filters.until}).all()
    query = {str(row.day): (row.calls, row.placed, row.answered) for row in rows}
    mine = {str(day): (c.calls, c.placed, c.answered) for day, c in report.by_day.items()}
    if mine != query:
        return "MISMATCH with the Asia/Kolkata query"
    return f"equal to a query in Asia/Kolkata ({len(query)} days, {report.total.calls:,} calls)"


def _memory_kb(field: str) -> int:
    """A line of /proc/self/status (VmRSS, VmHWM), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _csv_probe(database_url: str, query: dict, queue) -> None:
    """In a fresh process: stream the calls CSV; rows, time, peak Python heap, peak RSS during the export."""
    import tracemalloc

    sys.path.insert(0, str(ROOT))
    app = _app(database_url)
    client = _signed_in_client(app)
    for _chunk in client.get("/calls.csv", query_string={**query, "status": "pending"}).response:
        pass  # warm: imports, connection, templates
    rss_before = _memory_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak RSS, to the current RSS
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get("/calls.csv", query_string=query)
    lines = 0
    for chunk in response.response:
        lines += chunk.count("\n") if isinstance(chunk, str) else chunk.count(b"\n")
    seconds = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    queue.put({"rows": lines - 1, "seconds": seconds, "heap_mb": peak / 2**20,
               "rss_mb": _memory_kb("VmHWM") / 1024, "rss_growth_mb": (_memory_kb("VmHWM") - rss_before) / 1024})
    app.extensions["database"].engine.dispose()


def _csv_range(engine, end: date) -> dict:
    """The shortest range of whole days up to `end` (excluded) holding at least CSV_ROWS calls."""
    from sqlalchemy import text

    with engine.connect() as connection:
        days = connection.execute(text("SELECT day, calls FROM daily_call_stats ORDER BY day DESC")).all()
    total, since = 0, end
    for day, calls in days:
        day = date.fromisoformat(str(day))
        if day >= end:
            continue
        total, since = total + calls, day
        if total >= CSV_ROWS:
            break
    return {"since": since.isoformat(), "until": (end - timedelta(days=1)).isoformat()}


def _some_number(engine) -> str:
    """A number of the seeded calls, from the middle of the list."""
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text("SELECT from_number FROM calls ORDER BY created_at LIMIT 1 OFFSET 7000")).scalar_one()


def bench_database(kind: str, database_url: str) -> dict:
    """Every measurement on one seeded database."""
    app = _app(database_url)
    engine = app.extensions["database"].engine
    client = _signed_in_client(app)
    end = _last_day(engine)
    start = end - timedelta(days=REPORT_DAYS - 1)
    result = {"check": _check_report(engine, start, end), "check IST": _check_zone_report(engine, start, end)}
    result["report"] = _median_ms(client, "/reports", {"start": start.isoformat(), "end": end.isoformat(), "tz": "UTC"})
    result["report IST"] = _median_ms(
        client, "/reports", {"start": start.isoformat(), "end": end.isoformat(), "tz": "Asia/Kolkata"}
    )
    result["list"] = _median_ms(client, "/calls", {})
    result["list filtered"] = _median_ms(
        client, "/calls", {"status": "completed", "since": (end - timedelta(days=20)).isoformat(), "until": (end - timedelta(days=10)).isoformat()}
    )
    result["list last digits"] = _median_ms(client, "/calls", {"number": _some_number(engine)[-5:]})
    result["list by placer"] = _median_ms(client, "/calls", {"created_by": "user:nobody@example.com"})
    # Next page of the filtered list, through its own link: keyset, not OFFSET.
    html = client.get("/calls", query_string={"status": "completed"}).get_data(as_text=True)
    match = re.search(r'href="(/calls\?[^"]*cursor=[^"]+)"', html)
    if match:
        result["list page 2"] = _median_ms(client, match.group(1).replace("&amp;", "&"))
    csv_query = _csv_range(engine, end)
    app.extensions["database"].engine.dispose()

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_csv_probe, args=(database_url, csv_query, queue))
    process.start()
    result["csv"] = queue.get(timeout=900)
    process.join(60)
    return result


def _on_alarm(_signum, _frame):
    raise Timeout


def main() -> int:
    """Seed both databases, measure, print the table; non-zero when a target or check fails."""
    sys.path.insert(0, str(ROOT))
    from webapp.calls.seeding import seed_many
    from webapp.db import make_engine

    calls = int(os.environ.get("BENCH_CALLS", "1000000"))
    chosen = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(int(os.environ.get("BENCH_TIMEOUT", "3600")))
    workdir = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    urls: dict[str, str] = {}
    scratch = contextlib.ExitStack()
    try:
        if "sqlite" in chosen:
            urls["sqlite"] = f"sqlite:///{workdir / 'bench.db'}"
        base = postgres_base() if "postgresql" in chosen else None
        if base:
            urls["postgresql"] = scratch.enter_context(scratch_postgres(base, "bench_reports"))
        for url in urls.values():
            migrate(url, _config(url))
        engines = [make_engine(url) for url in urls.values()]
        started = time.perf_counter()
        print(f"seeding {calls:,} calls into {', '.join(urls)} ...", flush=True)
        seeded = seed_many(engines, calls, days=90, seed=20240501)
        for engine in engines:
            engine.dispose()
        print(f"seeded {seeded.calls:,} calls and {seeded.events:,} events in {time.perf_counter() - started:.0f} s "
              f"(generated once, written to each)", flush=True)
        results = {}
        for kind, url in urls.items():
            print(f"measuring {kind} ...", flush=True)
            results[kind] = bench_database(kind, url)
        return report(results, seeded)
    except Timeout:
        print("BENCH_TIMEOUT reached: stopped", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        scratch.close()
        for path in workdir.glob("*"):
            path.unlink()
        workdir.rmdir()


def report(results: dict, seeded) -> int:
    """Print the table of medians; 1 when a target is missed or the report disagrees with the view."""
    status = 0
    print(f"\n{seeded.calls:,} calls, {seeded.events:,} events; server time through the test client, median of {RUNS} warm runs")
    print(f"{'measurement':<44}" + "".join(f"{kind:>14}" for kind in results) + "   target")
    rows = [
        ("report", f"report page, {REPORT_DAYS} days, UTC (ms)"),
        ("report IST", f"report page, {REPORT_DAYS} days, Asia/Kolkata (ms)"),
        ("list", "calls list page, first page (ms)"),
        ("list filtered", "calls list, status + 10-day range (ms)"),
        ("list page 2", "calls list, status, next page (ms)"),
        ("list last digits", "calls list, a number's last 5 digits (ms)"),
        ("list by placer", "calls list, a placer with no calls (ms)"),
    ]
    for key, label in rows:
        line = f"{label:<44}"
        for kind, result in results.items():
            if key not in result:
                line += f"{'-':>14}"
                continue
            ms, code = result[key]
            target = TARGETS_MS.get((key, kind))
            missed = code != 200 or (target is not None and ms > target)
            status |= int(missed)
            line += f"{ms:>12.1f}{'!' if missed else ' '} "
        targets = sorted({f"{kind} < {TARGETS_MS[(key, kind)]}" for kind in results if (key, kind) in TARGETS_MS})
        print(line + "   " + ", ".join(targets))
    for label, field, fmt in (
        ("CSV export: rows", "rows", "{:,.0f}"),
        ("CSV export: seconds", "seconds", "{:.1f}"),
        ("CSV export: peak Python heap (MB)", "heap_mb", "{:.1f}"),
        ("CSV export: peak RSS growth (MB)", "rss_growth_mb", "{:.1f}"),
        ("CSV export: process peak RSS (MB)", "rss_mb", "{:.1f}"),
    ):
        line = f"{label:<44}"
        for result in results.values():
            value = result["csv"][field]
            line += f"{fmt.format(value):>14} "
        print(line + ("   < 100 MB" if field in ("heap_mb", "rss_growth_mb") else ""))
        if field in ("heap_mb", "rss_growth_mb"):
            status |= int(any(result["csv"][field] > CSV_TARGET_MB for result in results.values()))
    status |= int(any(result["csv"]["rows"] < CSV_ROWS for result in results.values()))
    for kind, result in results.items():
        print(f"{kind}: report figures {result['check']}; in Asia/Kolkata {result['check IST']}")
        status |= int(not result["check"].startswith("equal")) | int(not result["check IST"].startswith("equal"))
    return status
