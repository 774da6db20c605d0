"""`make run`'s supervisor: the web server, one worker and the simulator in one command; SIGINT stops all."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from webapp.jobs.supervisor import _free_port

pytestmark = pytest.mark.processes


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_one_command_serves_and_works_and_ctrl_c_stops_all(sqlite_template, tmp_path):
    shutil.copy(sqlite_template, tmp_path / "calls.db")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXOTEL_", "QUEUE_", "DATABASE_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'calls.db'}", SECRET_KEY="x" * 32)
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "webapp.jobs.supervisor", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[2])
    children: set[int] = set()
    try:
        health = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
                if health["worker"]["seen"]:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        assert health and health["worker"]["seen"], (tmp_path / "run.log").read_text()[-2000:]
        children = _children(proc.pid)
        assert len(children) == 3  # simulator, web server, worker

        # The worker stops: the web server goes on, and says so.
        worker = next(pid for pid in children if b"\0worker\0" in Path(f"/proc/{pid}/cmdline").read_bytes())
        os.kill(worker, signal.SIGINT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["worker"]["seen"]:
            time.sleep(0.2)
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["worker"]["seen"] is False
        assert proc.poll() is None

        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)  # the supervisor failed to: leave no stray process behind
        log.close()
