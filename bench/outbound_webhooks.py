"""Outbound webhooks under load: 10,000 calls' events (20,000) to a receiver that is down for the first 2 minutes.

For each database (PostgreSQL by default; BENCH_DATABASES=sqlite,postgresql for
both) it migrates a scratch database, serves the app with gunicorn and starts two
workers, then:
1. "off": no endpoint exists (the triggers write nothing), wrk posts fresh calls'
   callbacks for BENCH_SECONDS: the ingest rate with webhooks off (measured again
   at the end, the endpoint deleted, and the two averaged: the machine's load drifts);
2. "on": an endpoint is registered for a receiver that is down (it answers 503), and
   wrk posts the callbacks of BENCH_CALLS calls (each answered, then completed:
   two events each; one request in ten a duplicate), while the workers fan the
   events out and try them against the dead receiver: the ingest rate with
   webhooks on (the first part of those requests, so wrk never wraps);
3. the rest of those callbacks are posted; the receiver (which verifies every
   delivery with the `standardwebhooks` library) starts listening 2 minutes
   after the endpoint was registered;
4. it waits until every message is delivered and reports: events, deliveries,
   duplicates by webhook-id, failed attempts during the outage, the time from
   recovery to the last delivery, and the on/off ingest ratio (target >= 0.9).

Environment: BENCH_SECONDS (10), BENCH_CALLS (10000), BENCH_DOWN_SECONDS (120),
BENCH_DATABASES (postgresql), BENCH_DATABASE_URL as for the other benchmarks.
"""

from __future__ import annotations

import os
import random
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


def bench_database(kind: str, database_url: str, seconds: int, calls: int, down: float, workdir: Path) -> dict:
    off_calls = make_calls(3000 * seconds * 10 // 17)
    after_calls = make_calls(3000 * seconds * 10 // 17)
    on_calls = [{**call, "outcome": "completed"} for call in make_calls(calls)]  # answered + completed: 2 events each
    migrate(database_url)
    _insert_calls(database_url, off_calls + on_calls + after_calls)
    off_set = make_runset(f"{kind}-off", off_calls, WRK_THREADS, SECRET_KEY)
    on_set = make_runset(f"{kind}-on", on_calls, WRK_THREADS, SECRET_KEY)
    after_set = make_runset(f"{kind}-off-after", after_calls, WRK_THREADS, SECRET_KEY)
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
        run_wrk(server.url, off_set, 16, 2, workdir)  # warm-up (these calls' events are written: no endpoint yet)
        off = run_wrk(server.url, off_set, 16, seconds, workdir)
        port = free_port()
        secret = _register(app, f"http://127.0.0.1:{port}/hook")
        recovers = time.time() + down
        receiver = Gunicorn("bench.receiver:app", {**os.environ, "BENCH_RECEIVER_DIR": str(received_dir),
                                                   "BENCH_RECEIVER_SECRET": secret, "BENCH_RECEIVER_DOWN_UNTIL": str(recovers)},
                            workdir / f"receiver-{kind}.log", (2, 4), port=port)
        requests_on = sum(len(items) for items in on_set.per_thread)
        on_seconds = max(2, int(0.8 * requests_on / off["rps"]))  # shorter than the whole set takes: wrk never wraps
        on = run_wrk(server.url, on_set, 16, on_seconds, workdir)
        print(f"{kind}: ingest {off['rps']:.0f}/s off, {on['rps']:.0f}/s on", flush=True)
        rest = run_wrk(server.url, _rest(on_set, on["issued"]), 16, max(2, int(2 * requests_on / off["rps"])), workdir)
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
        _unregister(app)  # webhooks off again: the same ingest once more, against drift on a shared machine
        off_after = run_wrk(server.url, after_set, 16, seconds, workdir)
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
        "off_rps": (off["rps"] + off_after["rps"]) / 2, "off_rounds": [off["rps"], off_after["rps"]], "on_rps": on["rps"], "on_wrapped": on["wrapped"], "rest_non2xx": rest["non2xx"],
        "non2xx": off["non2xx"] + on["non2xx"], "redelivered": redelivered["count"],
        "events": counts["events"], "calls": calls, "states": counts["states"],
        "attempts_during_outage": during_outage["attempts"], "attempts": counts["attempts"], "failed": counts["failed"],
        "delivered": len(set(ids)), "duplicates": len(ids) - len(set(ids)),
        "undelivered": len(msg_ids - set(ids)), "unverified": unverified,
        "recovery_to_last_s": (max(at for _id, at in delivered) - recovers) if delivered else None,
    }


def main() -> int:
    sys.path.insert(0, str(ROOT))
    random.seed(11)
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    calls = int(os.environ.get("BENCH_CALLS", "10000"))
    down = float(os.environ.get("BENCH_DOWN_SECONDS", "120"))
    chosen = os.environ.get("BENCH_DATABASES", "postgresql").split(",")
    workdir = Path(tempfile.mkdtemp(prefix="bench-outbound-"))
    print(f"{calls} calls ({2 * calls} events), receiver down {down:g}s; {os.cpu_count()} CPUs shared by everything", flush=True)
    status = 0
    for kind in chosen:
        if kind == "sqlite":
            outcome = bench_database(kind, f"sqlite:///{workdir / 'bench.db'}", seconds, calls, down, workdir)
        else:
            base = postgres_base()
            if base is None:
                continue
            with scratch_postgres(base, "bench_outbound") as url:
                outcome = bench_database(kind, url, seconds, calls, down, workdir)
        ratio = outcome["on_rps"] / outcome["off_rps"]
        ok = (outcome["events"] == 2 * calls and outcome["undelivered"] == 0 and outcome["duplicates"] == 0
              and outcome["unverified"] == 0 and ratio >= RATIO_TARGET)
        status |= 0 if ok else 1
        print(f"\n| {kind} | value |\n|---|---:|")
        for label, value in (
            ("ingest, webhooks off (callbacks/s; before, after)",
             f"{outcome['off_rps']:.0f} ({', '.join(f'{r:.0f}' for r in outcome['off_rounds'])})"),
            ("ingest, webhooks on (callbacks/s)", f"{outcome['on_rps']:.0f}"),
            (f"on / off (target >= {RATIO_TARGET})", f"{ratio:.2f}"),
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
