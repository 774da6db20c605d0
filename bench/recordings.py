"""Streaming a 50 MB recording through GET /calls/<id>/recording: the serving process's memory and the throughput.

    python -m bench recordings

The simulator (its own process) serves a BENCH_RECORDING_MB (default 50) MB
WAV with Basic auth, as Exotel does; gunicorn serves the app (one worker) with
RECORDINGS_DIR set. Two calls: one whose recording the worker's archiving run
has fetched (the route reads the file) and one it has not (the route relays
Exotel's). For each, BENCH_ROUNDS (default 3) downloads, alternating with a
direct download of the same file from the simulator: the worker's RSS above
its idle RSS at its peak (sampled every 20 ms; the promise: under 20 MB), and
the route's throughput as a ratio of the direct read's (median of the rounds).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.processes import Gunicorn, free_port
from tests.support.databases import migrate
from tests.support.signin import csrf_token
from tests.support.waiting import wait_until
from webapp.simulator import defaults

SECRET_KEY = "bench-recordings-secret-key-0123456789abcdef"
EMAIL, PASSWORD = "bench@example.com", "correct horse battery staple"
PIECE = 1 << 20
RSS_LIMIT_MB = 20


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_pid(master: int) -> int:
    """gunicorn's one worker: the master's child."""
    found: list[int] = []
    for task in Path(f"/proc/{master}/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    assert len(found) == 1, found
    return found[0]


def download(session: requests.Session, url: str, **kwargs) -> tuple[int, float]:
    """Bytes read and seconds taken, piece by piece (never the whole body in the client's memory)."""
    started, size = time.perf_counter(), 0
    with session.get(url, stream=True, timeout=120, **kwargs) as response:
        response.raise_for_status()
        for piece in response.iter_content(PIECE):
            size += len(piece)
    return size, time.perf_counter() - started


def peak_rss_during(pid: int, work) -> tuple[float, object]:
    """The highest RSS of `pid` while `work()` runs, and its result."""
    peak, done = [rss_mb(pid)], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.append(rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    return max(peak), result


def prepare(database_url: str, folder: str, sim_url: str, size: int) -> tuple[str, str, str]:
    """A user and two ended calls; the first's recording archived by the worker's own run. (archived, relayed, sim URL)."""
    from tests.support.calls import add_call
    from webapp import create_app
    from webapp.accounts import create_user
    from webapp.db import get_db
    from webapp.jobs.archiving import run_archive

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "EXOTEL_ACCOUNT_SID": defaults.ACCOUNT_SID,
                      "EXOTEL_API_KEY": defaults.API_KEY, "EXOTEL_API_TOKEN": defaults.API_TOKEN,
                      "EXOTEL_API_BASE": sim_url, "RECORDINGS_DIR": folder})
    with app.app_context():
        create_user(get_db(), EMAIL, PASSWORD, is_admin=True)
    now = datetime.now(UTC)
    urls = [f"{sim_url}/recordings/{defaults.ACCOUNT_SID}/{digit * 32}.wav" for digit in "ab"]
    archived = add_call(app, sid="a" * 32, recording_url=urls[0], ended_at=now)
    # Not final yet, so the archive leaves it: the route relays Exotel's copy.
    relayed = add_call(app, sid="b" * 32, status="in-progress", recording_url=urls[1])
    assert run_archive(app) == {"archived": 1}, "the archiving run did not archive the recording"
    assert [p.stat().st_size for p in Path(folder).iterdir()] == [size]
    app.extensions["database"].engine.dispose()
    return archived.id, relayed.id, urls[1]


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token(session.get(f"{base}/login", timeout=10).text)
    answer = session.post(f"{base}/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.status_code
    return session


def main() -> int:
    size = int(float(os.environ.get("BENCH_RECORDING_MB", "50")) * 1_000_000)
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    with tempfile.TemporaryDirectory(prefix="bench-recordings-") as tmp:
        work = Path(tmp)
        port = free_port()
        sim_url = f"http://127.0.0.1:{port}"
        sim_log = open(work / "simulator.log", "ab")  # noqa: SIM115 - closed below
        sim = subprocess.Popen([sys.executable, "-m", "webapp.simulator", "--port", str(port)], stdout=sim_log,
                               stderr=sim_log)
        server = None
        try:
            assert wait_until(lambda: _answers(f"{sim_url}/_sim/config"), timeout=20, interval=0.2)
            requests.post(f"{sim_url}/_sim/recordings", json={"size_bytes": size}, timeout=10).raise_for_status()
            database_url = f"sqlite:///{work / 'calls.db'}"
            migrate(database_url)
            archived, relayed, direct_url = prepare(database_url, str(work / "recordings"), sim_url, size)
            env = {key: value for key, value in os.environ.items() if not key.startswith(("EXOTEL_", "TEST_DATABASE"))}
            env.update({"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "EXOTEL_ACCOUNT_SID": defaults.ACCOUNT_SID,
                        "EXOTEL_API_KEY": defaults.API_KEY, "EXOTEL_API_TOKEN": defaults.API_TOKEN,
                        "EXOTEL_API_BASE": sim_url, "RECORDINGS_DIR": str(work / "recordings"), "LOG_LEVEL": "WARNING"})
            server = Gunicorn("webapp:create_app()", env, work / "gunicorn.log", (1, 4))
            session = signed_in(server.url)
            pid = worker_pid(server.process.pid)
            direct = requests.Session()
            download(session, f"{server.url}/calls/{relayed}/recording", headers={"Range": "bytes=0-1023"})  # warm
            idle = rss_mb(pid)
            print(f"recording {size / 1e6:.0f} MB; serving worker idle RSS {idle:.1f} MB; {rounds} rounds")
            failed = 0
            for label, call_id in (("from the archive", archived), ("relayed from Exotel", relayed)):
                ratios, peaks, speeds = [], [], []
                for _ in range(rounds):
                    got, direct_seconds = download(direct, direct_url, auth=(defaults.API_KEY, defaults.API_TOKEN))
                    assert got == size
                    peak, (got, seconds) = peak_rss_during(pid, lambda c=call_id: download(session, f"{server.url}/calls/{c}/recording"))
                    assert got == size, (label, got)
                    peaks.append(peak - idle)
                    speeds.append(size / seconds / 1e6)
                    ratios.append(direct_seconds / seconds)
                worst = max(peaks)
                failed |= worst > RSS_LIMIT_MB
                print(f"  {label:>20}: {statistics.median(speeds):6.0f} MB/s through the route, "
                      f"{statistics.median(ratios):.2f}x the direct read; RSS above idle at peak "
                      f"{worst:.1f} MB (limit {RSS_LIMIT_MB}){'  OVER' if worst > RSS_LIMIT_MB else ''}")
            return 1 if failed else 0
        finally:
            if server is not None:
                server.stop()
            sim.terminate()
            sim.wait(10)
            sim_log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    sys.exit(main())
