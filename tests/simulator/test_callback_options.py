"""Lost and late callbacks on demand, through the control route and the embedded simulator's environment."""

from __future__ import annotations

import requests

from tests.support.credentials import SECRET_KEY
from tests.support.simulator import Receiver, connect, wait_finished, wait_for
from webapp import create_app
from webapp.exotel_access import exotel_client
from webapp.simulator import SimulatorServer


def terminal_only(receiver: Receiver) -> dict[str, str]:
    """Connect fields asking for the terminal callback only."""
    return {"StatusCallback": receiver.url, "StatusCallbackEvents[0]": "terminal"}


def test_control_route_delays_callbacks(sim: SimulatorServer, receiver: Receiver) -> None:
    # 100 simulated seconds are 2 real ones at this speed.
    answer = requests.post(f"{sim.base_url}/_sim/config", json={"delay_callbacks": 100}, timeout=5)
    assert answer.status_code == 200 and answer.json()["delay_callbacks"] == 100
    sid = connect(sim, From="+919876543213", **terminal_only(receiver)).json()["Call"]["Sid"]
    wait_finished(sim, sid)
    assert receiver.requests == []  # the call has ended; its callback is still waiting
    wait_for(lambda: receiver.requests)
    assert receiver.payloads()[0]["CallSid"] == sid and receiver.payloads()[0]["Status"] == "failed"


def test_control_route_drops_a_share_and_delays_the_rest(sim: SimulatorServer, receiver: Receiver) -> None:
    answer = requests.post(f"{sim.base_url}/_sim/config", json={"drop_callbacks": 0.5, "seed": 11,
                                                               "delay_callbacks": 100}, timeout=5)
    assert answer.status_code == 200
    placed = [connect(sim, From="+919876543213", **terminal_only(receiver)).json()["Call"]["Sid"] for _ in range(20)]
    for sid in placed:
        wait_finished(sim, sid)
    assert receiver.requests == []  # every call has ended; what was not lost is still waiting
    assert sim.state.wait_idle(10)
    dropped = {d["call_sid"] for d in sim.state.dropped_callbacks}
    delivered = {p["CallSid"] for p in receiver.payloads()}
    assert dropped and delivered and dropped | delivered == set(placed) and not dropped & delivered


def test_embedded_simulator_takes_its_options_from_the_environment(tmp_path, monkeypatch) -> None:
    for name in ("EXOTEL_ACCOUNT_SID", "EXOTEL_API_KEY", "EXOTEL_API_TOKEN", "EXOTEL_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIMULATOR_SPEED", "0.1")
    monkeypatch.setenv("SIMULATOR_REQUESTS_PER_MINUTE", "30")
    monkeypatch.setenv("SIMULATOR_DROP_CALLBACKS", "0.25")
    monkeypatch.setenv("SIMULATOR_DELAY_CALLBACKS", "60")
    app = create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    client = exotel_client(app)
    server = app.extensions["simulator"]
    try:
        assert client.base_url == server.base_url
        config = server.state.config()
        assert (config["speed"], config["rate_limit_per_minute"]) == (0.1, 30)
        assert (config["drop_callbacks"], config["delay_callbacks"]) == (0.25, 60)
    finally:
        server.stop()
        app.extensions["database"].engine.dispose()
