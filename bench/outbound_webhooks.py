"""Outbound webhooks under load: 10,000 calls' events (20,000) to a receiver that is down for the first 2 minutes.

For each database (PostgreSQL by default; BENCH_DATABASES=sqlite,postgresql for
both) it migrates a scratch database, serves the app with gunicorn and starts two
workers, then:
1. the ingest rate, webhooks on against off, in BENCH_ROUNDS pairs: wrk posts
   fresh calls' callbacks (each answered, then completed; one request in ten a
   duplicate) for BENCH_SECONDS with no endpoint ("off": the triggers write
   nothing), then as long with an endpoint registered whose receiver is down
   ("on": every callback writes its event, the workers fan them out and probe the
   dead receiver), the endpoint deleted again, and a last "off" round at the end.
   Each "on" round is compared with the mean of the "off" rounds on either side
   of it (the machine's speed drifts over minutes); the figure is the median of
   those ratios (target >= 0.9). The events these rounds wrote are then discarded.
2. an endpoint is registered for the outage receiver (it answers 503 until 2
   minutes after registration), and wrk posts the callbacks of BENCH_CALLS calls
   while the workers fan the events out and probe it; its ingest rate is shown too;
3. the receiver (which verifies every delivery with the `standardwebhooks`
   library) recovers; it waits until every message is delivered and reports:
   events, deliveries, duplicates by webhook-id, failed attempts during the
   outage, and the time from recovery to the last delivery.

Environment: BENCH_SECONDS (8), BENCH_ROUNDS (5), BENCH_CALLS (10000),
BENCH_DOWN_SECONDS (120), BENCH_DATABASES (postgresql), BENCH_DATABASE_URL as
for the other benchmarks.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.callbacks import RunSet, make_calls, make_runset
from bench.common import postgres_base
from bench.processes import ROOT, WRK_THREADS, Gunicorn, free_port, gunicorn_settings, run_wrk
from bench.webhooks import SECRET_KEY, _insert_calls, redeliver_missing
from tests.support.databases import migrate, scratch_postgres

RATIO_TARGET = 0.9


def _app(database_url: str):
    from webapp import create_app

    return create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "WEBHOOK_ALLOW_PRIVATE": "1"})


def _register(app, url: str) -> str:
    """The endpoint for every call event, and two delivery chains queued (one per worker); its secret."""
    from webapp.accounts.audit import Actor
    from webapp.db import get_db, utcnow
    from webapp.jobs import get_jobs
    from webapp.jobs.tasks import deliver_webhooks
    from webapp.webhooks import endpoints

    with app.app_context():
        given = endpoints.EndpointInput(url=url, events=("call.answered", "call.completed"))
        _endpoint, secret = endpoints.create(get_db(), given, secret_key=SECRET_KEY, actor=Actor("system"), now=utcnow())
        for _ in range(2):
            get_jobs(app).enqueue(deliver_webhooks)
    return secret


def _unregister(app) -> None:
    from webapp.accounts.audit import Actor
    from webapp.db import get_db, utcnow
    from webapp.webhooks import endpoints, queries

    with app.app_context():
        with get_db().transaction(write=False) as session:
            ids = [endpoint.id for endpoint in queries.list_endpoints(session)]
        for endpoint_id in ids:
            endpoints.remove(get_db(), endpoint_id, actor=Actor("system"), now=utcnow())


def _counts(app) -> dict:
    from sqlalchemy import func, select

    from webapp.db import get_db
    from webapp.webhooks.models import WebhookDelivery, WebhookEvent, WebhookMessage

    with app.app_context(), get_db().transaction(write=False) as session:
        states = dict(session.execute(select(WebhookMessage.state, func.count()).group_by(WebhookMessage.state)).all())
        return {
            "events": session.scalar(select(func.count()).select_from(WebhookEvent)) or 0,
            "unfanned": session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.fanned_out_at.is_(None))) or 0,
            "states": states,
            "attempts": session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0,
            "failed": session.scalar(select(func.count()).select_from(WebhookDelivery).where(
                WebhookDelivery.status_code.is_(None) | (WebhookDelivery.status_code >= 300))) or 0,
        }


def _msg_ids(app) -> set[str]:
    from sqlalchemy import select

    from webapp.db import get_db
    from webapp.webhooks.models import WebhookEvent

    with app.app_context(), get_db().transaction(write=False) as session:
        return set(session.scalars(select(WebhookEvent.msg_id)))


def _rest(runset: RunSet, issued: list[int]) -> RunSet:
    return RunSet(runset.name + "-rest", [items[count:] for items, count in zip(runset.per_thread, issued, strict=False)])


def _discard_events(app) -> None:
    """Forget the paired rounds' events (their deliveries and messages go with them) before the outage run."""
    from sqlalchemy import delete

    from webapp.db import get_db
    from webapp.webhooks.models import WebhookEvent

    with app.app_context(), get_db().transaction() as session:
        session.execute(delete(WebhookEvent))


def _completed_calls(count: int) -> list[dict]:
    return [{**call, "outcome": "completed"} for call in make_calls(count)]  # answered + completed: 2 events each


def _paired_ingest(kind: str, app, url: str, workdir: Path, seconds: int, round_calls: list[list[dict]]) -> dict:
    """Off and on rounds in turn, off first and last, on the same kind of traffic; each on round's ratio."""
    sets = [make_runset(f"{kind}-{'on' if n % 2 else 'off'}-{n // 2}", calls, WRK_THREADS, SECRET_KEY)
            for n, calls in enumerate(round_calls)]
    port = free_port()
    down = Gunicorn("bench.receiver:app", {**os.environ, "BENCH_RECEIVER_DIR": str(workdir), "BENCH_RECEIVER_SECRET": "-",
                                           "BENCH_RECEIVER_DOWN_UNTIL": "inf"}, workdir / f"receiver-down-{kind}.log", (1, 2), port=port)
    off: list[float] = []
    on: list[float] = []
    try:
        for n, runset in enumerate(sets):
            if n % 2:
                _register(app, f"http://127.0.0.1:{port}/hook")
                on.append(run_wrk(url, runset, 16, seconds, workdir)["rps"])
                _unregister(app)
            else:
                off.append(run_wrk(url, runset, 16, seconds, workdir)["rps"])
    finally:
        down.stop()
    ratios = [rate / ((off[n] + off[n + 1]) / 2) for n, rate in enumerate(on)]
    print(f"{kind}: ingest off {', '.join(f'{r:.0f}' for r in off)}/s; on {', '.join(f'{r:.0f}' for r in on)}/s", flush=True)
    return {"off": off, "on": on, "ratios": ratios, "ratio": statistics.median(ratios)}


def bench_database(kind: str, database_url: str, seconds: int, rounds: int, calls: int, down: float, workdir: Path) -> dict:
    round_calls = [_completed_calls(3000 * seconds * 10 // 17) for _ in range(2 * rounds + 1)]
    warm_calls = _completed_calls(3000)
    on_calls = _completed_calls(calls)
    migrate(database_url)
    _insert_calls(database_url, warm_calls + [call for batch in round_calls for call in batch] + on_calls)
    on_set = make_runset(f"{kind}-outage", on_calls, WRK_THREADS, SECRET_KEY)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EXOTEL_", "TEST_DATABASE"))}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "LOG_LEVEL": "WARNING", "WEBHOOK_ALLOW_PRIVATE": "1"})
    server = Gunicorn("webapp:create_app()", env, workdir / f"gunicorn-{kind}.log", gunicorn_settings(database_url))
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "webapp", "worker", "--threads", "2"], env=env, cwd=ROOT,
                                stdout=open(workdir / f"worker-{kind}-{n}.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
               for n in range(int(os.environ.get("BENCH_WORKER_PROCESSES", "2")))]
    app = _app(database_url)
    receiver: Gunicorn | None = None
    received_dir = workdir / f"received-{kind}"
    received_dir.mkdir()
    try:
        run_wrk(server.url, make_runset(f"{kind}-warm", warm_calls, WRK_THREADS, SECRET_KEY), 16, 2, workdir)
        paired = _paired_ingest(kind, app, server.url, workdir, seconds, round_calls)
        _discard_events(app)
        port = free_port()
        secret = _register(app, f"http://127.0.0.1:{port}/hook")
        recovers = time.time() + down
        receiver = Gunicorn("bench.receiver:app", {**os.environ, "BENCH_RECEIVER_DIR": str(received_dir),
                                                   "BENCH_RECEIVER_SECRET": secret, "BENCH_RECEIVER_DOWN_UNTIL": str(recovers)},
                            workdir / f"receiver-{kind}.log", (2, 4), port=port)
        requests_on = sum(len(items) for items in on_set.per_thread)
        on_seconds = max(2, int(0.8 * requests_on / statistics.mean(paired["off"])))  # shorter than the set takes: no wrap
        outage = run_wrk(server.url, on_set, 16, on_seconds, workdir)
        rest = run_wrk(server.url, _rest(on_set, outage["issued"]), 16, max(2, int(2 * requests_on / outage["rps"])), workdir)
        sent = on_set.sent_events([len(items) for items in on_set.per_thread])
        redelivered = redeliver_missing(server.url, database_url, {"on": on_set}, sent)
        time.sleep(max(0.0, recovers - time.time()))
        during_outage = _counts(app)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            counts = _counts(app)
            if not counts["unfanned"] and set(counts["states"]) == {"delivered"}:
                break
            time.sleep(1)
        counts = _counts(app)
        msg_ids = _msg_ids(app)
    finally:
        if receiver is not None:
            receiver.stop()
        for worker in workers:
            worker.terminate()
            worker.wait(30)
        server.stop()
        app.extensions["database"].engine.dispose()
    lines = [line.split("\t") for path in received_dir.glob("*.tsv") for line in path.read_text().splitlines()]
    delivered = [(webhook_id, float(at)) for webhook_id, status, at in lines if status == "204"]
    unverified = sum(1 for _id, status, _at in lines if status == "400")
    ids = [webhook_id for webhook_id, _at in delivered]
    return {
        **paired, "outage_rps": outage["rps"], "outage_wrapped": outage["wrapped"], "rest_non2xx": rest["non2xx"],
        "non2xx": outage["non2xx"] + rest["non2xx"], "redelivered": redelivered["count"],
        "events": counts["events"], "calls": calls, "states": counts["states"],
        "attempts_during_outage": during_outage["attempts"], "attempts": counts["attempts"], "failed": counts["failed"],
        "delivered": len(set(ids)), "duplicates": len(ids) - len(set(ids)),
        "undelivered": len(msg_ids - set(ids)), "unverified": unverified,
        "recovery_to_last_s": (max(at for _id, at in delivered) - recovers) if delivered else None,
    }


def main() -> int:
    sys.path.insert(0, str(ROOT))
    random.seed(11)
    seconds = int(os.environ.get("BENCH_SECONDS", "8"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    calls = int(os.environ.get("BENCH_CALLS", "10000"))
    down = float(os.environ.get("BENCH_DOWN_SECONDS", "120"))
    chosen = os.environ.get("BENCH_DATABASES", "postgresql").split(",")
    workdir = Path(tempfile.mkdtemp(prefix="bench-outbound-"))
    print(f"{calls} calls ({2 * calls} events), receiver down {down:g}s; {os.cpu_count()} CPUs shared by everything", flush=True)
    status = 0
    for kind in chosen:
        if kind == "sqlite":
            outcome = bench_database(kind, f"sqlite:///{workdir / 'bench.db'}", seconds, rounds, calls, down, workdir)
        else:
            base = postgres_base()
            if base is None:
                continue
            with scratch_postgres(base, "bench_outbound") as url:
                outcome = bench_database(kind, url, seconds, rounds, calls, down, workdir)
        ok = (outcome["events"] == 2 * calls and outcome["undelivered"] == 0 and outcome["duplicates"] == 0
              and outcome["unverified"] == 0 and outcome["ratio"] >= RATIO_TARGET)
        status |= 0 if ok else 1
        print(f"\n| {kind} | value |\n|---|---:|")
        for label, value in (
            ("ingest, webhooks off (callbacks/s, each round)", ", ".join(f"{r:.0f}" for r in outcome["off"])),
            ("ingest, webhooks on (callbacks/s, each round)", ", ".join(f"{r:.0f}" for r in outcome["on"])),
            ("on / off, each on round against the off rounds beside it", ", ".join(f"{r:.2f}" for r in outcome["ratios"])),
            (f"on / off, median (target >= {RATIO_TARGET})", f"{outcome['ratio']:.2f}"),
            ("ingest while the outage's events were written (callbacks/s)", f"{outcome['outage_rps']:.0f}"),
            ("events written (expected)", f"{outcome['events']} ({2 * calls})"),
            ("attempts made before the receiver recovered", outcome["attempts_during_outage"]),
            ("failed attempts (503 while down, refused before it started)", outcome["failed"]),
            ("attempts in all", outcome["attempts"]),
            ("events delivered (distinct webhook-id)", outcome["delivered"]),
            ("duplicates by webhook-id", outcome["duplicates"]),
            ("undelivered", outcome["undelivered"]),
            ("deliveries that did not verify", outcome["unverified"]),
            ("recovery to last delivery (s)", f"{outcome['recovery_to_last_s']:.1f}" if outcome["recovery_to_last_s"] else "-"),
            ("non-2xx callbacks", outcome["non2xx"]),
        ):
            print(f"| {label} | {value} |")
        print(f"\n{'ok' if ok else 'FAILED'}; logs in {workdir}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
