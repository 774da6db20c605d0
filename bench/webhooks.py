"""Webhook throughput: gunicorn on loopback, wrk posting realistic StatusCallbacks.

For each database (a scratch SQLite file, a scratch PostgreSQL database) it
migrates, pre-creates calls, serves the app with gunicorn, and has wrk (a second
process) post answered/terminal callbacks for those calls in all three encodings
(multipart, url-encoded, JSON), one in ten an exact duplicate of an earlier one,
for BENCH_SECONDS at 16 and at 64 concurrent connections. The ceilings are bare
Flask endpoints that only read the body (see CEILINGS), served the same way in
the same run.
Afterwards it checks the database: distinct events stored == distinct events
sent, no event stored twice, no non-2xx answer.

Environment: BENCH_SECONDS (10), BENCH_DATABASE_URL (else TEST_DATABASE_URL,
else postgresql+psycopg://postgres@127.0.0.1:5432/postgres: a scratch database
is created beside it), BENCH_WORKERS / BENCH_THREADS (else as gunicorn.conf.py picks them),
BENCH_DATABASES (sqlite,postgresql).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.callbacks import RunSet, make_calls, make_runset
from bench.ceilings import CEILINGS
from bench.common import postgres_base
from bench.processes import ROOT, WRK_THREADS, Gunicorn, gunicorn_settings, run_wrk, start_profiler
from bench.table import report
from tests.support.databases import migrate, scratch_postgres

SECRET_KEY = "bench-secret-key-" + "x" * 32
CONCURRENCY = (16, 64)


def redeliver_missing(url: str, database_url: str, runsets: dict[str, RunSet], sent: set) -> dict:
    """Post again each sent event that is not stored, as Exotel redelivers a callback it got no answer for.

    wrk drops its connections at its deadline: a request then on its way may be
    lost with the connection, unanswered. Only those can be missing, so there
    are at most as many as connections; each is posted once more (same bytes).
    """
    stored = {(row[0], row[1]) for row in _stored_events(database_url)}
    missing = sent - stored
    by_event = {}
    for runset in runsets.values():
        for items in runset.per_thread:
            for item in items:
                if item.event in missing:
                    by_event.setdefault(item.event, item)
    session = requests.Session()
    non2xx = 0
    for item in by_event.values():
        response = session.post(url + item.path, data=item.body, headers={"Content-Type": item.content_type}, timeout=30)
        non2xx += not 200 <= response.status_code < 300
    session.close()
    return {"count": len(by_event), "non2xx": non2xx}


def _stored_events(database_url: str) -> list:
    from sqlalchemy import text

    from webapp.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT call_id, event_type FROM call_events")).all()
    engine.dispose()
    return rows


def _insert_calls(database_url: str, calls: list[dict]) -> None:
    from sqlalchemy import insert

    from webapp.db import make_engine, utcnow
    from webapp.models import Call

    now = utcnow()
    rows = [
        {"id": c["id"], "sid": c["sid"], "from_number": c["from_number"], "caller_id": "08047112345",
         "flow_url": "http://my.exotel.com/bench/exoml/start_voice/1", "status": "in-progress",
         "created_at": now, "placed_at": now, "updated_at": now}
        for c in calls
    ]
    engine = make_engine(database_url)
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Call), rows[start:start + 5000])
    engine.dispose()


def count_check(database_url: str, sent: set[tuple[str, str]], terminal_calls: set[str]) -> dict:
    """What the database holds after the runs, against what was sent."""
    from sqlalchemy import text

    from webapp.calls.status import FINAL
    from webapp.db import make_engine

    rows = _stored_events(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        statuses = dict(connection.execute(text("SELECT id, status FROM calls")).all())
    engine.dispose()
    stored = [(row[0], row[1]) for row in rows]
    distinct = set(stored)
    return {
        "sent": len(sent),
        "stored": len(stored),
        "duplicates": len(stored) - len(distinct),
        "missing": len(sent - distinct),
        "unexpected": len(distinct - sent),
        "not_final": sum(1 for call_id in terminal_calls if statuses.get(call_id) not in FINAL),
    }



def combine(runs: list[dict]) -> dict:
    """Rounds of one endpoint at one concurrency as one figure: the rate over all of them, the worse latencies."""
    requests_ = sum(run["requests"] for run in runs)
    return {
        "rps": requests_ / sum(run["requests"] / run["rps"] for run in runs),
        "p50": max(run["p50"] for run in runs),
        "p99": max(run["p99"] for run in runs),
        "requests": requests_,
        "non2xx": sum(run["non2xx"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
        "wrapped": any(run.get("wrapped") for run in runs),
        "rounds": [round(run["rps"]) for run in runs],
        "p99_rounds": [round(run["p99"], 1) for run in runs],
    }


def bench_database(kind: str, database_url: str, bare_set: RunSet, seconds: int, workdir: Path) -> dict:
    """The app on `database_url` and the bare endpoint, same gunicorn settings, in alternating rounds.

    This machine is shared, so the load around a run drifts. Each concurrency
    gets rounds in the order bare, app, app, bare (each `seconds` / 2): both
    endpoints meet the same drift, and the ratio compares like with like.
    """
    per_second = 5000  # more than the app answers here, so wrk never runs out of fresh events
    half = max(2, seconds // 2)
    names = ["warmup", *(f"c{c}-{r}" for c in CONCURRENCY for r in (1, 2))]
    durations = {name: (3 if name == "warmup" else half) for name in names}
    calls = {name: make_calls(per_second * durations[name] * 10 // 17) for name in names}
    migrate(database_url)
    _insert_calls(database_url, [call for group in calls.values() for call in group])
    runsets = {name: make_runset(f"{kind}-{name}", calls[name], WRK_THREADS, SECRET_KEY) for name in names}

    multiproc = workdir / f"prometheus-{kind}"
    multiproc.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EXOTEL_", "TEST_DATABASE"))}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
                "LOG_LEVEL": "INFO"})
    settings = gunicorn_settings(database_url)
    bares = {
        name: Gunicorn(f"bench.ceilings:bare_app({name!r})", dict(os.environ), workdir / f"gunicorn-bare-{name}-{kind}.log", settings)
        for name in CEILINGS
    }
    server = Gunicorn("webapp:create_app()", env, workdir / f"gunicorn-{kind}.log", settings)
    app_runs: dict[int, list] = {c: [] for c in CONCURRENCY}
    bare_runs: dict[str, dict[int, list]] = {name: {c: [] for c in CONCURRENCY} for name in CEILINGS}
    sent: set[tuple[str, str]] = set()
    non2xx = 0

    def bare_rounds(concurrency: int) -> None:
        for name, bare in bares.items():
            bare_runs[name][concurrency].append(run_wrk(bare.url, bare_set, concurrency, half, workdir))

    def app_round(name: str, concurrency: int) -> None:
        nonlocal sent, non2xx
        profiler = start_profiler(server, kind, concurrency, durations[name], workdir) if name.endswith("-1") else None
        result = run_wrk(server.url, runsets[name], concurrency, durations[name], workdir)
        if profiler is not None:
            profiler.wait()
        sent |= runsets[name].sent_events(result["issued"])
        non2xx += result["non2xx"] + result["socket_errors"]
        if name != "warmup":
            app_runs[concurrency].append(result)

    try:
        for bare in bares.values():
            run_wrk(bare.url, bare_set, 16, 3, workdir)
        app_round("warmup", 16)
        for concurrency in CONCURRENCY:
            bare_rounds(concurrency)
            app_round(f"c{concurrency}-1", concurrency)
            app_round(f"c{concurrency}-2", concurrency)
            bare_rounds(concurrency)
        time.sleep(1)  # what wrk sent just before its deadline is still being answered
        redelivered = redeliver_missing(server.url, database_url, runsets, sent)
    finally:
        server.stop()
        for bare in bares.values():
            bare.stop()
    terminal_calls = {call_id for call_id, event_type in sent if event_type == "terminal"}
    check = count_check(database_url, sent, terminal_calls)
    check["non2xx"] = non2xx + redelivered["non2xx"]
    check["redelivered"] = redelivered["count"]
    check["connections"] = 16 + 2 * sum(CONCURRENCY)  # the most requests wrk can cut off
    return {
        "settings": settings,
        "runs": {c: combine(runs) for c, runs in app_runs.items()},
        "bare": {name: {c: combine(runs) for c, runs in by_c.items()} for name, by_c in bare_runs.items()},
        "check": check,
    }


def main() -> int:
    """Run the benchmark, print the table and the count check; non-zero when a check fails."""
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    random.seed(5)
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    chosen = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    print(f"wrk: {WRK_THREADS} threads, {seconds}s per run; {os.cpu_count()} CPUs shared by everything", flush=True)
    bare_calls = make_calls(2500 * seconds * 10 // 17)
    bare_set = make_runset("bare", bare_calls, WRK_THREADS, SECRET_KEY)

    outcomes: dict[str, dict] = {}
    for kind in chosen:
        if kind == "sqlite":
            outcomes[kind] = bench_database(kind, f"sqlite:///{workdir / 'bench.db'}", bare_set, seconds, workdir)
            continue
        base = postgres_base()
        if base is None:
            continue
        with scratch_postgres(base, "bench_webhooks") as url:
            outcomes[kind] = bench_database(kind, url, bare_set, seconds, workdir)

    return report(outcomes, workdir)


if __name__ == "__main__":
    sys.exit(main())
