"""The standalone simulator (`python -m webapp.simulator`) as a real process: signals, noise, environment."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.waiting import wait_for

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]
AUTH = ("simulator", "simulator")
FLOW = "http://my.exotel.com/simulator/exoml/start_voice/1"
# The first bytes of a TLS 1.2 ClientHello, as a client that expected https sends them.
TLS_HELLO = bytes.fromhex("160301020001000" "1fc0303") + bytes(range(32)) + b"\x00" * 64


class Standalone:
    """One `python -m webapp.simulator` process on a free port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        """Start the process and wait for the line that names its origin."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SIMULATOR_")}
        environ.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webapp.simulator", "--port", "0", *args], cwd=ROOT, env=environ,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.process.stdout], [], [], 20)
        line = self.process.stdout.readline() if ready else ""  # type: ignore[union-attr]
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if match is None:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the simulator did not start: {line!r} {self.process.stderr.read()!r}")  # type: ignore[union-attr]
        self.url = match.group(0)
        self.port = int(self.url.rsplit(":", 1)[1])

    def api(self, path: str) -> str:
        """Return the URL of an API path under the standalone account."""
        return f"{self.url}/v1/Accounts/simulator{path}"

    def stop(self) -> tuple[float, str]:
        """SIGTERM the process; return (seconds until it exited, its stderr)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        elapsed = time.monotonic() - started
        return elapsed, self.process.stderr.read()  # type: ignore[union-attr]


@contextmanager
def standalone(*args: str, env: dict[str, str] | None = None) -> Iterator[Standalone]:
    """A running standalone simulator, killed at the end whatever happened."""
    sim = Standalone(*args, env=env)
    try:
        yield sim
    finally:
        if sim.process.poll() is None:
            sim.process.kill()
            sim.process.wait()
        for pipe in (sim.process.stdout, sim.process.stderr):
            if pipe is not None:
                pipe.close()


class Blackhole:
    """A callback receiver that accepts connections and never answers (a hung receiver)."""

    def __init__(self) -> None:
        """Listen on a free port and hold every connection accepted."""
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/callback"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        """Accept until closed."""
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        """Close the listener and every held connection."""
        self.listener.close()
        for sock in self.held:
            sock.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    """A running :class:`Blackhole`."""
    hole = Blackhole()
    yield hole
    hole.close()


def test_sigterm_stops_within_two_seconds_while_callbacks_hang(blackhole: Blackhole) -> None:
    hung = blackhole.url
    with standalone("--speed", "0.01", "--rate-limit", "0") as sim:
        session = requests.Session()  # keeps an idle keep-alive connection open, too
        for index in range(8):
            response = session.post(sim.api("/Calls/connect.json"), auth=AUTH, timeout=5, data={
                "From": f"+91987654321{index % 9}", "CallerId": "08047112345", "Url": FLOW,
                "StatusCallback": hung, "StatusCallbackEvents[0]": "terminal"})
            assert response.status_code in (200, 403), response.text
        # Callbacks are on the wire to a receiver that never answers (Exotel waits 15 s for it).
        wait_for(lambda: len(blackhole.held) >= 2, what="callbacks posted to the hung receiver")
        elapsed, stderr = sim.stop()
    session.close()
    assert elapsed < 2, f"took {elapsed:.1f} s to stop"
    assert sim.process.returncode == 0
    assert "Traceback" not in stderr


@pytest.mark.parametrize("garbage", [TLS_HELLO, b"\x00\xff\xfe\xfd\r\n\r\n", b"HELLO THERE FRIEND\r\n\r\n"],
                         ids=["tls-hello", "binary", "words"])
def test_non_http_bytes_are_answered_400_without_a_traceback(garbage: bytes) -> None:
    with standalone() as sim:
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
            sock.sendall(garbage)
            answer = sock.recv(200)
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer
        # Still serving after the noise.
        assert requests.get(f"{sim.url}/_sim/config", timeout=5).status_code == 200
        _, stderr = sim.stop()
    assert "Traceback" not in stderr and "Exception" not in stderr, stderr


def test_environment_sets_the_options_and_the_rate_limit() -> None:
    env = {"SIMULATOR_SPEED": "0.05", "SIMULATOR_REQUESTS_PER_MINUTE": "2",
           "SIMULATOR_DROP_CALLBACKS": "0.5", "SIMULATOR_DELAY_CALLBACKS": "30"}
    with standalone(env=env) as sim:
        config = requests.get(f"{sim.url}/_sim/config", timeout=5).json()
        assert config["speed"] == 0.05 and config["rate_limit_per_minute"] == 2
        assert config["drop_callbacks"] == 0.5 and config["delay_callbacks"] == 30
        answers = [requests.get(sim.api("/Calls.json"), auth=AUTH, timeout=5) for _ in range(3)]
        sim.stop()
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert answers[2].json()["RestException"]["Status"] == 429


def test_exotel_rate_limit_by_default_and_the_command_line_wins() -> None:
    with standalone(env={"SIMULATOR_REQUESTS_PER_MINUTE": "1"}) as sim:
        assert requests.get(f"{sim.url}/_sim/config", timeout=5).json()["rate_limit_per_minute"] == 1
    with standalone("--rate-limit", "5", env={"SIMULATOR_REQUESTS_PER_MINUTE": "1"}) as sim:
        assert requests.get(f"{sim.url}/_sim/config", timeout=5).json()["rate_limit_per_minute"] == 5
    with standalone() as sim:
        assert requests.get(f"{sim.url}/_sim/config", timeout=5).json()["rate_limit_per_minute"] == 200


@pytest.mark.parametrize("variable, value", [("SIMULATOR_SPEED", "fast"), ("SIMULATOR_DROP_CALLBACKS", "1.5"),
                                             ("SIMULATOR_REQUESTS_PER_MINUTE", "-3")])
def test_a_bad_environment_value_stops_with_one_line_naming_it(variable: str, value: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SIMULATOR_")}
    result = subprocess.run([sys.executable, "-m", "webapp.simulator", "--port", "0"], cwd=ROOT,
                            env={**environ, variable: value}, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert variable in result.stderr and "Traceback" not in result.stderr
