"""Real serving processes for tests: a free port, gunicorn as the README runs it, nginx from deploy/nginx.conf."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.credentials import SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's pick; released for the caller to bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 30,
                 ready: tuple[int, ...] = (200,)) -> None:
    """Poll `url`/healthz until it answers one of `ready`; stop the process and fail with its log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code in ready:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop(process)
    raise AssertionError(f"{url} did not serve: {log.read_text()[-2000:]}")


def gunicorn(database_url: str, log: Path, *, app: str = "webapp:create_app()", workers: int = 2,
             extra_env: dict[str, str] | None = None, args: tuple[str, ...] = (),
             ready: tuple[int, ...] = (200,)) -> tuple[subprocess.Popen, str]:
    """`gunicorn -c gunicorn.conf.py APP` on a free loopback port, in simulator mode; (process, url) once
    /healthz answers one of `ready`."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("EXOTEL_", "PROMETHEUS_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, **(extra_env or {}))
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), *args, app]
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process, log, ready=ready)
    return process, url


def nginx_binary() -> str:
    """Debian's nginx (scripts/ensure-nginx installs it); a skip without it, a failure under CI=true."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but nginx is not installed: run scripts/ensure-nginx")
    pytest.skip("nginx not installed (scripts/ensure-nginx)")


def render_nginx(directory: Path, listen_port: int, upstream: str) -> Path:
    """deploy/nginx.conf with only its machine-specific lines changed: ports, files, the user."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    replacements = {
        r"^user www-data;": "user root;" if os.geteuid() == 0 else "",
        r"^pid /run/nginx.pid;": f"pid {directory}/nginx.pid;",
        r"listen 80;": f"listen 127.0.0.1:{listen_port};",
        r"server 127\.0\.0\.1:8000;": f"server {upstream};",
        r"/var/log/nginx/": f"{directory}/",
        r"^http \{": "http {\n" + "".join(
            f"    {kind}_temp_path {directory}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
    }
    for pattern, replacement in replacements.items():
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
        assert count == 1, f"deploy/nginx.conf no longer has {pattern!r}"
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


def nginx(directory: Path, upstream: str) -> tuple[subprocess.Popen, str]:
    """nginx in the foreground with deploy/nginx.conf, in front of `upstream` (host:port); (process, url)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = render_nginx(directory, port, upstream)
    binary = nginx_binary()
    check = subprocess.run([binary, "-t", "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(config)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    log = directory / "stderr.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [binary, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(config), "-g", "daemon off;"],
            stdout=output, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process, log)
    return process, url
