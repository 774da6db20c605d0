"""`make run`: the web server and one worker in one command; Ctrl-C stops both.

    python -m webapp.jobs.supervisor [--port 5000]

Without Exotel credentials and without EXOTEL_API_BASE, it first starts the
simulator as a process of its own (`python -m webapp.simulator`), so the web
server and the worker talk to the same simulated Exotel. Each child runs in a
session of its own and hears only this supervisor: on SIGINT or SIGTERM it
passes SIGINT on (the web server stops, the worker finishes its running
tasks), waits, and kills what is still running after a grace period. When the
web server or the simulator exits on its own, the others are stopped too and
the exit status says so; when the worker does, the web server goes on serving
and its pages say that background work is stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time

GRACE_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _needs_simulator(env: dict[str, str]) -> bool:
    return not (env.get("EXOTEL_API_KEY") or "").strip() and not (env.get("EXOTEL_API_BASE") or "").strip()


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)


def commands(port: int, threads: int, env: dict[str, str]) -> list[tuple[str, list[str]]]:
    """The children to start, in order: (name, argv)."""
    python = sys.executable
    children = []
    if _needs_simulator(env):
        sim_port = _free_port()
        env["EXOTEL_API_BASE"] = f"http://127.0.0.1:{sim_port}"
        children.append(("simulator", [python, "-m", "webapp.simulator", "--port", str(sim_port)]))
    # Campaign calls are placed by the worker, outside any request: callbacks come back to this web server.
    if not (env.get("EXOTEL_API_KEY") or "").strip():  # with real credentials, PUBLIC_BASE_URL must be given
        env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    flask = [python, "-m", "flask", "--app", "webapp"]
    children.append(("web", [*flask, "run", "--host", "127.0.0.1", "--port", str(port), "--with-threads"]))
    children.append(("worker", [*flask, "worker", "--threads", str(threads)]))
    return children


def run(port: int, threads: int) -> int:
    env = dict(os.environ)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    for name, argv in commands(port, threads, env):
        procs.append((name, subprocess.Popen(argv, env=env, start_new_session=True)))
        if name == "simulator":
            _wait_for_port(int(env["EXOTEL_API_BASE"].rsplit(":", 1)[1]))
    status = 0
    worker_reported = False
    while not stop.is_set():
        ended = [(name, proc) for name, proc in procs if proc.poll() is not None]
        if any(name != "worker" for name, _ in ended):
            name, proc = next((n, p) for n, p in ended if n != "worker")
            print(f"{name} exited with status {proc.returncode}; stopping the others", file=sys.stderr, flush=True)
            status = proc.returncode or 1
            break
        if ended and not worker_reported:
            worker_reported = True
            print(f"worker exited with status {ended[0][1].returncode}; the web server goes on without it",
                  file=sys.stderr, flush=True)
        stop.wait(0.2)
    for _name, proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + GRACE_SECONDS
    for name, proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop within {GRACE_SECONDS:g} s; killing it", file=sys.stderr, flush=True)
            proc.kill()
            proc.wait()
    return status


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.jobs.supervisor", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=2, help="the worker's threads")
    args = parser.parse_args(argv)
    sys.exit(run(args.port, args.threads))


if __name__ == "__main__":
    main()
