"""Campaign pace with real workers: 3 `flask worker` processes dial one campaign against the simulator.

The achieved rate is read from the simulator's connect log (each request's arrival time), over
BENCH_PACE_SECONDS (120) from the first request: the whole stretch against the target, and the worst
10-second window. Two runs per database: the Exotel budget far above the pace (the pace is the limit), and
the budget equal to the pace (campaigns never take its last 10 %, so the budget is the limit: 90 % of it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.support.apps import LiveServer, make_app
from tests.support.campaigns import all_day_window
from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN
from tests.support.waiting import wait_until
from tests.support.workers import worker_env
from webapp.campaigns import store
from webapp.campaigns.spec import parse_campaign
from webapp.db import get_db, utcnow
from webapp.models import Call

ROOT = Path(__file__).resolve().parent.parent
TARGET = 600  # calls a minute
WORKERS, THREADS = 3, 2
WINDOW = 10.0  # seconds: the worst stretch reported
PACE_TOLERANCE = 0.05  # the whole run within 5 % of its expected rate


@dataclass
class Run:
    label: str
    budget: int  # EXOTEL_REQUESTS_PER_MINUTE of the workers
    expected: float  # the rate the run should reach (per minute)
    achieved: float = 0.0
    worst: float = 0.0  # per minute, over the worst 10-s window
    best: float = 0.0
    claimed: float = 0.0  # calls rows per minute (the dispatcher's claims)
    most_in_60s: int = 0
    backlog: int = 0  # attempts claimed and not yet sent at the end
    load: str = ""


def worst_and_best(moments: list[float], start: float, seconds: float, window: float = WINDOW) -> tuple[int, int]:
    """The fewest and most moments in any window of `window` seconds inside [start, start + seconds)."""
    moments = sorted(m for m in moments if start <= m < start + seconds)
    counts = []
    low = high = 0
    step = 0.1
    t = start
    while t + window <= start + seconds + 1e-9:
        while low < len(moments) and moments[low] < t:
            low += 1
        while high < len(moments) and moments[high] < t + window:
            high += 1
        counts.append(high - low)
        t += step
    return (min(counts), max(counts)) if counts else (0, 0)


def most_in(moments: list[float], window: float) -> int:
    moments, best, low = sorted(moments), 0, 0
    for high, moment in enumerate(moments):
        while moments[low] <= moment - window:
            low += 1
        best = max(best, high - low + 1)
    return best


def load_note() -> str:
    """The 1-minute load average against the CPUs, and the busiest other processes when it is high."""
    one, _five, _fifteen = os.getloadavg()
    cpus = os.cpu_count() or 1
    note = f"load {one:.1f} on {cpus} CPU(s)"
    if one > cpus * 0.5:
        try:
            out = subprocess.run(["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True, timeout=5).stdout
            busy = [line.strip()[:70] for line in out.splitlines()[1:4]]
            note += "; busiest: " + " | ".join(busy)
        except (OSError, subprocess.SubprocessError):
            pass
    return note


def _start_workers(env: dict[str, str], logs: Path) -> list[tuple[subprocess.Popen[bytes], object]]:
    started = []
    for index in range(WORKERS):
        out = open(logs / f"worker-{index}.log", "wb")  # noqa: SIM115 - closed in _stop_workers
        argv = [sys.executable, "-m", "flask", "--app", "webapp", "worker", "--threads", str(THREADS)]
        started.append((subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT), out))
    return started


def _stop_workers(started) -> None:
    for proc, _out in started:
        proc.send_signal(signal.SIGINT)
    for proc, out in started:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


def run_pace(database_url: str, run: Run, seconds: float, logs: Path) -> Run:
    """One campaign at TARGET a minute, dialled by real workers; the run's figures filled in."""
    import logging

    from webapp.simulator import SimulatorServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the callbacks' request lines

    sim = SimulatorServer(ACCOUNT_SID, API_KEY, API_TOKEN, speed=0.05, rate_limit_per_minute=None).start()
    live = LiveServer()
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL=live.url, EXOTEL_REQUESTS_PER_MINUTE=100_000)
    live.serve(app)
    started = []
    try:
        contacts = int(TARGET * (seconds + 60) / 60)
        with app.app_context():
            spec = parse_campaign({"name": run.label, "app_id": "1", "calls_per_minute": TARGET, "window": all_day_window()},
                                  account_sid=ACCOUNT_SID, default_caller_id="08047112345", budget=100_000)
            rows = [(i, f"+14155{i:05d}0", None) for i in range(1, contacts + 1)]  # US numbers: any hour; all complete
            campaign = store.create_campaign(get_db(), spec, rows, created_by="bench", now=utcnow()).campaign
        # Production settings otherwise: 5-s dispatcher runs, the scheduler's minute, reconciliation every 5 min.
        env = worker_env(database_url, None, sim.base_url, PUBLIC_BASE_URL=live.url, LOG_LEVEL="WARNING",
                         RECONCILE_EVERY_MINUTES="5", RECONCILE_OLDER_THAN_MINUTES="15",
                         EXOTEL_REQUESTS_PER_MINUTE=str(run.budget))
        started = _start_workers(env, logs)
        # The web would start the dispatcher the same way; the workers' minute would start it within 60 s.
        with app.app_context():
            from webapp.jobs import get_jobs
            from webapp.jobs.tasks import dispatch_campaigns

            get_jobs(app).enqueue(dispatch_campaigns)
        if not wait_until(lambda: sim.state.connects.entries(), timeout=90, interval=0.1):
            raise RuntimeError(f"no attempt reached the simulator; see {logs}")
        first = sim.state.connects.entries()[0]["at"]
        time.sleep(max(0.0, first + seconds + 1 - time.time()))
        run.load = load_note()
        moments = [e["at"] for e in sim.state.connects.entries()]
        inside = [m for m in moments if first <= m < first + seconds]
        run.achieved = len(inside) / (seconds / 60)
        worst, best = worst_and_best(moments, first, seconds)
        run.worst, run.best = worst * 60 / WINDOW, best * 60 / WINDOW
        run.most_in_60s = most_in(inside, 60.0)
        with app.app_context(), get_db().transaction(write=False) as session:
            base = select(func.count()).select_from(Call).where(Call.campaign_id == campaign.id)
            since = datetime.fromtimestamp(first, UTC)
            claimed = session.scalar(base.where(Call.created_at >= since, Call.created_at < since + timedelta(seconds=seconds)))
            run.claimed = (claimed or 0) / (seconds / 60)
            run.backlog = session.scalar(base.where(Call.status == "pending")) or 0
    finally:
        if started:
            _stop_workers(started)
        live.stop()
        app.extensions["jobs"].close()
        app.extensions["database"].engine.dispose()
        sim.stop()
    return run


def main_pace(databases: list[tuple[str, str]]) -> int:
    seconds = float(os.environ.get("BENCH_PACE_SECONDS", "120"))
    status = 0
    results: list[tuple[str, Run]] = []
    for kind, url_for in databases:
        runs = [Run("pace-limited", 100_000, TARGET), Run("budget-limited", TARGET, TARGET * 0.9)]
        for run in [r for r in runs if r.label in os.environ.get("BENCH_PACE_RUNS", "pace-limited,budget-limited")]:
            with tempfile.TemporaryDirectory(prefix=f"bench-pace-{kind}-") as logs:
                results.append((kind, run_pace(url_for(), run, seconds, Path(logs))))
            print(f"  {kind} {run.label}: {run.achieved:.0f}/min ({run.load})", flush=True)
    print(f"\ncampaign pace: {WORKERS} workers x {THREADS} threads, one campaign at {TARGET}/min, {seconds:g} s from the "
          f"first request (target: within {PACE_TOLERANCE:.0%} of the expected rate; the budget-limited run expects "
          f"the bulk share, 90 % of EXOTEL_REQUESTS_PER_MINUTE={TARGET}, and never the whole budget in any 60 s as "
          "Exotel sees the requests arrive; the worst and best 10 s are one dispatcher round more or less, as each "
          "round claims a second's worth at once)")
    print("| database | run | budget/min | expected/min | achieved/min | achieved/expected | worst 10 s (/min) | best 10 s (/min) "
          "| claimed/min | most in any 60 s at Exotel | claimed, unsent at the end | load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for kind, run in results:
        ratio = run.achieved / run.expected
        flag = ""
        if abs(ratio - 1) > PACE_TOLERANCE:
            flag, status = " (target)", 1
        if run.most_in_60s > run.budget:  # Exotel would have answered 429
            flag, status = f"{flag} (over the budget)", 1
        print(f"| {kind} | {run.label} | {run.budget} | {run.expected:.0f} | {run.achieved:.1f} | {ratio:.1%}{flag} | "
              f"{run.worst:.0f} | {run.best:.0f} | {run.claimed:.1f} | {run.most_in_60s} | {run.backlog} | {run.load} |")
    return status
