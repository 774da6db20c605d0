"""The processes of the webhook benchmark: gunicorn serving an app, wrk replaying callbacks, py-spy."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from unittest import mock

import requests

from bench.callbacks import RunSet
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
REPLAY_SCRIPT = Path(__file__).with_name("replay.lua")
WRK_THREADS = 2
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



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn serving `target` on a free loopback port, its stderr in `log`."""

    def __init__(self, target: str, env: dict[str, str], log: Path, settings: tuple[int, int], port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "ab")  # noqa: SIM115 - open for the server process's lifetime, closed in stop()
        command = [
            # The project's settings, then this run's own (the same threads for app and bare).
            sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(settings[0]), "--threads", str(settings[1]), "--backlog", "2048",
            "--log-level", "warning", "--chdir", str(ROOT), target,
        ]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log)
        if not wait_until(self._ready, timeout=30, interval=0.2):
            raise RuntimeError(f"gunicorn for {target} did not start; see {log}")

    def _ready(self) -> bool:
        """True once /healthz answers 200; raises once the process has died."""
        if self.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
        try:
            return requests.get(self.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

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
    script = REPLAY_SCRIPT
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
