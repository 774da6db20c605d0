"""The worker's test helpers: real worker processes, numbers, calls already at the simulator, queues."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN, SECRET_KEY
from webapp.db import utcnow
from webapp.models import Call


def worker_redis_url(base: str, worker: str | None) -> str:
    """`base` with its db number moved on by the xdist worker's index (gw0: base, gw1: base + 1, ...), so
    workers flushing their db never empty another's; within Redis's 16 dbs."""
    index = int(worker.removeprefix("gw")) if worker and worker.startswith("gw") else 0
    parts = urlsplit(base)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(db + index) % 16}"))


REDIS_URL = worker_redis_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/6"), os.environ.get("PYTEST_XDIST_WORKER"))
CALLER_ID = "08047112345"
QUEUE_TABLES = ("huey_kv", "huey_schedule", "huey_task", "huey_counter", "exotel_budget", "worker_heartbeats")


def redis_or_fail(url: str):
    import redis

    in_ci = os.environ.get("CI", "").lower() == "true"
    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        if in_ci:
            pytest.fail(f"CI=true but Redis at {url} is unreachable: {type(exc).__name__}")
        pytest.skip(f"Redis unreachable: {type(exc).__name__}")
    return client


def worker_env(database_url: str, queue_url: str | None, sim_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXOTEL_", "QUEUE_", "RECONCILE_", "DATABASE_"))}
    env.update(
        DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, EXOTEL_ACCOUNT_SID=ACCOUNT_SID, EXOTEL_API_KEY=API_KEY,
        EXOTEL_API_TOKEN=API_TOKEN, EXOTEL_API_BASE=sim_url, EXOTEL_CALLER_ID=CALLER_ID, LOG_LEVEL="INFO",
        RECONCILE_EVERY_MINUTES="1", RECONCILE_OLDER_THAN_MINUTES="0", EXOTEL_REQUESTS_PER_MINUTE="100000",
    )
    if queue_url:
        env["QUEUE_URL"] = queue_url
    env.update(extra)
    return env


class Worker:
    """`flask --app webapp worker` as a real process, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str):
        self.log = log
        self._out = log.open("wb")
        argv = [sys.executable, "-m", "flask", "--app", "webapp", "worker", "--scheduler-period", "1", *args]
        self.proc = subprocess.Popen(argv, env=env, stdout=self._out, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2])

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def wait_for(self, needle: str, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in self.lines()):
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}):\n" + "\n".join(self.lines()[-30:]))
            time.sleep(0.05)
        return False

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


def number(index: int, last: int = 0) -> str:
    """A distinct E.164 number; its last digit picks the simulator's outcome (0: completed)."""
    return f"+919{index:08d}{last}"


def open_calls_in_simulator(sim, db, count: int) -> list[str]:
    """`count` calls placed at the simulator (no callback URL) and recorded here as in progress; their ids."""
    ids = []
    with db.transaction() as session:
        for index in range(count):
            number_ = number(index)
            simulated = sim.state.place_call(from_number="0" + number_[3:], caller_id=CALLER_ID,
                                             flow_url="http://my.exotel.com/x/exoml/start_voice/1")
            call = Call(id=str(uuid.uuid4()), sid=simulated.sid, from_number=number_, caller_id=CALLER_ID,
                        flow_url="http://my.exotel.com/x/exoml/start_voice/1", status="in-progress",
                        created_at=utcnow() - timedelta(seconds=1), placed_at=utcnow())
            session.add(call)
            ids.append(call.id)
    return ids
