"""The simulator's connect log: what reached it and when, placed or refused, readable over HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from tests.support.simulator import connect, wait_for
from webapp.simulator import SimulatorServer


def test_each_connect_is_logged_with_its_arrival_and_answer(sim: SimulatorServer) -> None:
    before = time.time()
    placed = connect(sim, From="+919876543210").json()["Call"]["Sid"]
    assert connect(sim, From="+919876547777").status_code == 402
    assert connect(sim, From="not a number").status_code == 400  # never a connect Exotel would act on
    after = time.time()
    first, second = sim.state.connects.entries()
    assert (first["from"], first["status"], first["sid"]) == ("09876543210", 200, placed)
    assert (second["from"], second["status"], second["sid"]) == ("09876547777", 402, None)
    assert before <= first["at"] <= second["at"] <= after

    listed = requests.get(f"{sim.base_url}/_sim/connects", timeout=5).json()["connects"]
    assert listed == [first, second]
    sim.state.reset()
    assert sim.state.connects.entries() == []


def test_a_fault_is_logged_with_the_answer_it_gave(sim: SimulatorServer) -> None:
    sim.state.add_fault("status", status=503)
    assert connect(sim).status_code == 503
    (entry,) = sim.state.connects.entries()
    assert (entry["status"], entry["sid"]) == (503, None)


def test_a_call_placed_before_a_slow_answer_is_logged_at_once(sim: SimulatorServer) -> None:
    sim.state.add_fault("timeout", delay=1.0, place=True)
    with pytest.raises(requests.Timeout):
        connect(sim, timeout=0.2)
    (entry,) = sim.state.connects.entries()
    assert entry["sid"] in sim.state.calls and entry["status"] is None  # placed, not answered yet
    wait_for(lambda: sim.state.connects.entries()[0]["status"] == 200)
