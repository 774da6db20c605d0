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

import json
import os
import random
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

import requests

from bench.common import postgres_base

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-" + "x" * 32
CONCURRENCY = (16, 64)
WRK_THREADS = 2
DUPLICATE_EVERY = 10  # one request in ten repeats an earlier one exactly
# gunicorn as the project ships it (gunicorn.conf.py: workers, threads per database,
# reuse_port, preload, the collector freeze), the bare endpoints with the same
# settings as the app they are compared with. gthread keeps wrk's connections
# alive, as Exotel's and a proxy's would. The README ("Serving") says why each
# setting is what it is.
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


def gunicorn_settings(database_url: str) -> tuple[int, int]:
    """(workers, threads) that gunicorn.conf.py picks for this database; BENCH_WORKERS / BENCH_THREADS override."""
    with mock.patch.dict(os.environ, {"DATABASE_URL": database_url}):
        conf = runpy.run_path(str(GUNICORN_CONF))
    return int(os.environ.get("BENCH_WORKERS", conf["workers"])), int(os.environ.get("BENCH_THREADS", conf["threads"]))


TARGETS = {"postgresql": 0.35, "sqlite": 0.30}
P99_TARGET_MS = {"postgresql": 40.0}

LUA = r"""
-- Each wrk thread replays its own pre-generated list of requests, in order.
issued = 0
threads = {}
local reqs = {}
local n = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1] .. "/t" .. id .. ".dat", "rb"))
  while true do
    local header = f:read("*l")
    if not header then break end
    local method, path, ctype, len = header:match("^([^\t]+)\t([^\t]+)\t([^\t]*)\t(%d+)$")
    local body = f:read(tonumber(len))
    f:read(1)
    n = n + 1
    local headers = {}
    if ctype ~= "" then headers["Content-Type"] = ctype end
    reqs[n] = wrk.format(method, path, headers, body)
  end
  f:close()
end

function request()
  issued = issued + 1
  return reqs[((issued - 1) % n) + 1]
end

function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    table.insert(parts, string.format('{"id":%d,"issued":%d}', t:get("id"), t:get("issued")))
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"threads":[%s]}',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ",")))
  out:close()
end
"""


# The ceilings: a bare Flask endpoint on the callback's route that reads the body
# and does nothing else, served exactly as the app is.
# - "form": Flask's request.form (json.loads for JSON), as the issue defines the
#   ceiling. The targets are judged against it.
# - "reader": the app's own body reader (webapp.views.webhooks.read_fields), whose
#   multipart parser is much cheaper than werkzeug's. Against it the ratio counts
#   only what the callback does beyond receiving its body: the stricter figure.
CEILINGS = {"form": "bare Flask, request.form", "reader": "bare Flask, the app's body reader"}


def bare_app(reader: str = "form"):
    """A ceiling endpoint (see CEILINGS)."""
    from flask import Flask, request

    from webapp.web.webhooks import MAX_BODY, MAX_PARTS, read_fields

    app = Flask("bare")

    @app.route("/webhooks/exotel/<call_id>/<token>", methods=["POST", "GET"])
    def read_only(call_id, token):
        request.max_content_length = MAX_BODY
        request.max_form_parts = MAX_PARTS
        if reader == "reader":
            return {"result": "read", "fields": len(read_fields(request) or ())}
        if request.mimetype == "application/json":
            return {"result": "read", "fields": len(json.loads(request.get_data()))}
        return {"result": "read", "fields": len(request.form)}

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


# -- Realistic callbacks -----------------------------------------------------------------


@dataclass
class Sent:
    """One request line for wrk, and the logical event it carries."""

    path: str
    content_type: str
    body: bytes
    event: tuple[str, str]  # (call id, event type)


@dataclass
class RunSet:
    """The requests of one wrk run, split between wrk's threads."""

    name: str
    per_thread: list[list[Sent]] = field(default_factory=list)

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        for index, items in enumerate(self.per_thread):
            with open(directory / f"t{index}.dat", "wb") as handle:
                for item in items:
                    handle.write(f"POST\t{item.path}\t{item.content_type}\t{len(item.body)}\n".encode())
                    handle.write(item.body + b"\n")

    def sent_events(self, issued: list[int]) -> set[tuple[str, str]]:
        """The logical events among the first `issued[i]` requests of each thread (wrk wraps around)."""
        events = set()
        for items, count in zip(self.per_thread, issued, strict=False):
            if count >= len(items):
                events.update(item.event for item in items)
            else:
                events.update(item.event for item in items[:count])
        return events


def _ts(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch + 5.5 * 3600))  # IST, as Exotel writes it


def _payloads(call_id: str, sid: str, number: str, outcome: str, start: float) -> list[tuple[str, dict]]:
    common = {
        "CallSid": sid,
        "DateCreated": _ts(start),
        "To": "08047112345",
        "From": number,
        "PhoneNumberSid": "08047112345",
        "StartTime": _ts(start),
        "Direction": "outbound-api",
    }
    events = []
    talk = 0
    if outcome == "completed":
        talk = random.randint(20, 300)
        events.append(("answered", {**common, "EventType": "answered", "Status": "in-progress",
                                     "DateUpdated": _ts(start + 6),
                                     "Legs": [{"Status": "in-progress", "OnCallDuration": 0, "AnsweredBy": "human"}]}))
    end = start + 6 + talk
    events.append(("terminal", {
        **common, "EventType": "terminal", "Status": outcome, "DateUpdated": _ts(end), "EndTime": _ts(end),
        "ConversationDuration": talk,
        "RecordingUrl": f"https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/bench/{sid}.mp3" if talk else "",
        "CustomField": f"order-{call_id[:8]}",
        "Legs": [{"Status": outcome, "OnCallDuration": talk, "AnsweredBy": "human" if talk else ""}],
    }))
    return events


def _flatten(payload: dict) -> list[tuple[str, str]]:
    fields = []
    for key, value in payload.items():
        if isinstance(value, list):
            for index, leg in enumerate(value):
                fields += [(f"{key}[{index}][{name}]", str(item)) for name, item in leg.items()]
        else:
            fields.append((key, str(value)))
    return fields


def _encode(payload: dict, encoding: int) -> tuple[str, bytes]:
    if encoding == 0:  # Exotel's default
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in _flatten(payload)
        ]
        return f"multipart/form-data; boundary={boundary}", ("".join(parts) + f"--{boundary}--\r\n").encode()
    if encoding == 1:
        return "application/x-www-form-urlencoded", urlencode(_flatten(payload)).encode()
    return "application/json", json.dumps(payload).encode()


def make_calls(count: int) -> list[dict]:
    outcomes = ["completed"] * 7 + ["busy", "no-answer", "failed"]
    return [
        {"id": str(uuid.uuid4()), "sid": uuid.uuid4().hex, "from_number": f"+9198{random.randint(10**7, 10**8 - 1)}",
         "outcome": random.choice(outcomes)}
        for _ in range(count)
    ]


def make_runset(name: str, calls: list[dict], threads: int) -> RunSet:
    """Every call's events (answered before terminal), round-robin encodings, 10 % exact duplicates."""
    from webapp.calls.signing import callback_token

    runset = RunSet(name, [[] for _ in range(threads)])
    start = time.time() - 3600
    encoding = 0
    for index, call in enumerate(calls):
        items = runset.per_thread[index % threads]
        path = f"/webhooks/exotel/{call['id']}/{callback_token(SECRET_KEY, call['id'])}"
        for event_type, payload in _payloads(call["id"], call["sid"], call["from_number"], call["outcome"], start):
            content_type, body = _encode(payload, encoding % 3)
            encoding += 1
            items.append(Sent(path, content_type, body, (call["id"], event_type)))
            if len(items) % (DUPLICATE_EVERY - 1) == 0:
                items.append(items[-random.randint(1, min(len(items), 20))])
    return runset


# -- Processes ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn serving `target` on a free loopback port, its stderr in `log`."""

    def __init__(self, target: str, env: dict[str, str], log: Path, settings: tuple[int, int]):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")  # noqa: SIM115 - open for the server process's lifetime, closed in stop()
        command = [
            # The project's settings, then this run's own (the same threads for app and bare).
            sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(settings[0]), "--threads", str(settings[1]), "--backlog", "2048",
            "--log-level", "warning", "--chdir", str(ROOT), target,
        ]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn for {target} did not start; see {log}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def run_wrk(url: str, runset: RunSet, concurrency: int, seconds: int, workdir: Path) -> dict:
    """One bounded wrk run; its figures as a dict (latencies in ms, rate in requests/s)."""
    directory = workdir / runset.name
    runset.write(directory)
    script = workdir / "replay.lua"
    script.write_text(LUA)
    result = workdir / f"{runset.name}-c{concurrency}.json"
    env = {**os.environ, "BENCH_RESULT": str(result)}
    command = ["wrk", "-t", str(WRK_THREADS), "-c", str(concurrency), "-d", f"{seconds}s", "--timeout", "10s",
               "-s", str(script), url, "--", str(directory)]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, timeout=seconds + 60)
    data = json.loads(result.read_text())
    issued = [thread["issued"] for thread in sorted(data["threads"], key=lambda t: t["id"])]
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50": data["p50_us"] / 1000,
        "p99": data["p99_us"] / 1000,
        "requests": data["requests"],
        "non2xx": data["non2xx"],
        "socket_errors": data["connect"] + data["read"] + data["write"] + data["timeout"],
        "issued": issued,
        "wrapped": any(count > len(items) for count, items in zip(issued, runset.per_thread, strict=False)),
    }


def start_profiler(server: Gunicorn, kind: str, concurrency: int, seconds: int, workdir: Path):
    """With BENCH_PROFILE=1, py-spy samples every worker during the run at 64 concurrent."""
    if not os.environ.get("BENCH_PROFILE") or concurrency != 64:
        return None
    raw = workdir / f"profile-{kind}-c{concurrency}.raw"
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--nonblocking",
               "-r", "200", "-d", str(max(1, seconds - 2)), "-f", "raw", "-o", str(raw)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    class Profiler:
        def wait(self) -> None:
            process.wait()
            summarize_profile(raw, workdir / f"profile-{kind}-c{concurrency}.txt")

    return Profiler()


def summarize_profile(raw: Path, out: Path) -> None:
    """Share of worker samples spent in (inclusive) and on (self) each function."""
    from collections import Counter

    inclusive, own, total = Counter(), Counter(), 0
    if not raw.exists():
        return
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or not any("handle_request" in frame for frame in frames):
            continue  # idle threads, the arbiter, the accept loop
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    with open(out, "w") as handle:
        handle.write(f"{total} samples in request handling\n\ninclusive:\n")
        for frame, count in inclusive.most_common(45):
            handle.write(f"{count / total:6.1%}  {frame}\n")
        handle.write("\nself:\n")
        for frame, count in own.most_common(25):
            handle.write(f"{count / total:6.1%}  {frame}\n")


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


# -- Databases ---------------------------------------------------------------------------


def _migrate(database_url: str) -> None:
    from alembic import command

    from webapp import create_app
    from webapp.cli import alembic_config

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "TESTING": True})
    with app.app_context():
        command.upgrade(alembic_config(), "head")
    app.extensions["database"].engine.dispose()


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


# -- The run -----------------------------------------------------------------------------


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
    _migrate(database_url)
    _insert_calls(database_url, [call for group in calls.values() for call in group])
    runsets = {name: make_runset(f"{kind}-{name}", calls[name], WRK_THREADS) for name in names}

    multiproc = workdir / f"prometheus-{kind}"
    multiproc.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EXOTEL_", "TEST_DATABASE"))}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
                "LOG_LEVEL": "INFO"})
    settings = gunicorn_settings(database_url)
    bares = {
        name: Gunicorn(f"bench.webhooks:bare_app({name!r})", dict(os.environ), workdir / f"gunicorn-bare-{name}-{kind}.log", settings)
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
    bare_set = make_runset("bare", bare_calls, WRK_THREADS)

    outcomes: dict[str, dict] = {}
    for kind in chosen:
        if kind == "sqlite":
            outcomes[kind] = bench_database(kind, f"sqlite:///{workdir / 'bench.db'}", bare_set, seconds, workdir)
            continue
        base = postgres_base()
        if base is None:
            continue
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"bench_webhooks_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(base).set(database=name).render_as_string(hide_password=False)
            outcomes[kind] = bench_database(kind, url, bare_set, seconds, workdir)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    return report(outcomes, workdir)


def report(outcomes: dict, workdir: Path) -> int:
    status = 0
    print()
    print("| database | gunicorn | endpoint | concurrent | requests/s | (per round) | p50 ms | p99 ms | (per round) "
          "| ratio to request.form | ratio to the app's reader | non-2xx |")
    print("|---|---|---|---:|---:|---|---:|---:|---|---:|---:|---:|")
    for kind, outcome in outcomes.items():
        workers, threads = outcome["settings"]
        setting = f"{workers} x {threads}"
        for name, label in CEILINGS.items():
            for concurrency, run in outcome["bare"][name].items():
                ratio = run["rps"] / outcome["bare"]["form"][concurrency]["rps"]
                print(f"| {kind} | {setting} | {label} | {concurrency} | {run['rps']:.0f} | {run['rounds']} | {run['p50']:.1f} | "
                      f"{run['p99']:.1f} | {run['p99_rounds']} | {ratio:.0%} | | {run['non2xx'] + run['socket_errors']} |")
        for concurrency, run in outcome["runs"].items():
            ratio = run["rps"] / outcome["bare"]["form"][concurrency]["rps"]
            strict = run["rps"] / outcome["bare"]["reader"][concurrency]["rps"]
            flag = ""
            if concurrency == 64 and ratio < TARGETS[kind]:
                flag, status = f" (target {TARGETS[kind]:.0%})", 1
            if concurrency == 16 and run["p99"] >= P99_TARGET_MS.get(kind, float("inf")):
                flag, status = f"{flag} (p99 target {P99_TARGET_MS[kind]:.0f} ms)", 1
            wrapped = " (wrk reused events)" if run["wrapped"] else ""
            print(f"| {kind} | {setting} | callback | {concurrency} | {run['rps']:.0f} | {run['rounds']} | {run['p50']:.1f} | {run['p99']:.1f} | "
                  f"{run['p99_rounds']} | {ratio:.0%}{flag} | {strict:.0%} | {run['non2xx'] + run['socket_errors']}{wrapped} |")
    print()
    print("| database | distinct events sent | events stored | duplicates | missing | unexpected | terminal but not final "
          "| non-2xx | cut off by wrk, redelivered |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, outcome in outcomes.items():
        check = outcome["check"]
        print(f"| {kind} | {check['sent']} | {check['stored']} | {check['duplicates']} | {check['missing']} | "
              f"{check['unexpected']} | {check['not_final']} | {check['non2xx']} | {check['redelivered']} |")
        if check["stored"] != check["sent"] or check["duplicates"] or check["missing"] or check["unexpected"] \
                or check["not_final"] or check["non2xx"] or check["redelivered"] > check["connections"]:
            status = 1
    print(f"\nlogs and wrk inputs: {workdir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
