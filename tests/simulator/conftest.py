"""Simulator tests: each gets its own simulator, 50x faster than real time, and a callback receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.simulator import ACCOUNT, KEY, TOKEN, Receiver
from webapp.simulator import SimulatorServer

SPEED = 0.02


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running callback receiver."""
    with Receiver() as rec:
        yield rec


@pytest.fixture
def sim(receiver: Receiver) -> Iterator[SimulatorServer]:
    """A running simulator, 50x faster than real time, with fast retries."""
    with SimulatorServer(ACCOUNT, KEY, TOKEN, speed=SPEED, callback_retry_delays=(1, 1)) as server:
        yield server
