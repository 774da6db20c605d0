"""Hosts on one machine: Linux network namespaces joined by veth pairs to a bridge, for the deployment tests.

Every address lives inside namespaces this module creates (the bridge too sits in a namespace of
its own), so nothing of the machine's own network changes. Names carry the creating process's pid
(`exo<pid>-web1`), so parallel runs do not collide, and a run killed before its teardown is
cleaned up by the next one (`remove_leftovers`). Needs root and iproute2's `ip`.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

PREFIX = "exo"
CLONE_NEWNET = 0x40000000
T = TypeVar("T")
_libc = ctypes.CDLL(None, use_errno=True)


def require_root_and_tools(*commands: str) -> None:
    """Skip (with the reason) without root or a needed command; under CI=true that is a failure."""
    missing = [command for command in ("ip", *commands) if not shutil.which(command)]
    reason = None
    if os.geteuid() != 0:
        reason = "network namespaces need root"
    elif missing:
        reason = f"not installed: {', '.join(missing)}"
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _namespaces() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def _kill_namespace(name: str) -> None:
    """SIGKILL whatever still runs inside namespace `name`, then delete it."""
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=30).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30)


def remove_leftovers() -> None:
    """Delete namespaces of earlier runs whose process is gone (a run killed before its teardown)."""
    for name in _namespaces():
        match = re.fullmatch(rf"{PREFIX}(\d+)-\w+", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            _kill_namespace(name)


def _enter(name: str) -> None:
    """Move the calling thread (only it: the network namespace is per thread) into namespace `name`."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))
    finally:
        os.close(fd)


class Host:
    """One namespace: its address, processes started inside it, and threads whose sockets live in it."""

    def __init__(self, network: Network, name: str, address: str):
        self.network, self.name, self.address = network, name, address
        self.namespace = f"{network.prefix}-{name}"
        self._pool: ThreadPoolExecutor | None = None

    def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `function` in a thread inside this host's network (a request sent from this host)."""
        return self.pool().submit(function, *args, **kwargs).result()

    def pool(self) -> ThreadPoolExecutor:
        """Threads inside this host's network, 16 at most: submit requests sent from this host."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(16, thread_name_prefix=self.namespace, initializer=_enter,
                                            initargs=(self.namespace,))
        return self._pool

    def command(self, *args: str) -> list[str]:
        """`args` as a command line run inside this host (`ip netns exec` execs it: the pid is the program's)."""
        return ["ip", "netns", "exec", self.namespace, *args]

    def start(self, args: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
        with log.open("ab") as output:
            process = subprocess.Popen(self.command(*args), cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
        self.network.processes.append(process)
        return process

    def link(self, up: bool) -> None:
        """Plug this host's cable in or pull it out (its interface, as seen from the host)."""
        ip("-n", self.namespace, "link", "set", "eth0", "up" if up else "down")


class Network:
    """A bridge in a namespace of its own, and hosts on it at `subnet`.N/24."""

    def __init__(self, subnet: str = "10.213.0"):
        self.prefix = f"{PREFIX}{os.getpid()}"
        self.subnet = subnet
        self.hosts: dict[str, Host] = {}
        self.processes: list[subprocess.Popen] = []
        self.switch = f"{self.prefix}-sw"

    def __enter__(self) -> Network:
        remove_leftovers()
        ip("netns", "add", self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        return self

    def add(self, name: str, number: int) -> Host:
        host = Host(self, name, f"{self.subnet}.{number}")
        ip("netns", "add", host.namespace)
        ip("-n", self.switch, "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
        ip("-n", self.switch, "link", "set", name, "master", "br0", "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", host.namespace, "link", "set", "eth0", "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        self.hosts[name] = host
        return host

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for host in self.hosts.values():
            if host._pool is not None:
                host._pool.shutdown(wait=False, cancel_futures=True)
            _kill_namespace(host.namespace)
        _kill_namespace(self.switch)
