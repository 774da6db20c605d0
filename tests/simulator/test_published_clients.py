"""Published Exotel clients on PyPI, driven at the simulator, get the answers Exotel gives them.

`pyexotel` (API key and token, today's flow URL) places a flow call and reads it back. `exotel` is older: it
signs in with the account SID as the user name and sends the older flow URL (`my.exotel.in/exoml/start/<id>`),
and can connect two numbers with `To` and no `Url`. Exotel takes the SID as the key only where the account's key
is its SID, as on accounts of that time; any other pair is a 401 RestException, as it is from Exotel.
"""

from __future__ import annotations

import pytest
from exotel import Exotel as ClassicClient
from pyexotel import Exotel as CurrentClient

from tests.support.simulator import ACCOUNT, KEY, TOKEN, wait_finished
from webapp.simulator import SimulatorServer

CALLER_ID = "08047112345"


def test_pyexotel_places_a_flow_call_and_reads_it_back(sim: SimulatorServer) -> None:
    client = CurrentClient(KEY, TOKEN, ACCOUNT)
    client.call_ep = f"{sim.base_url}/v1/Accounts/{ACCOUNT}/Calls"  # it names only Exotel's https hosts
    placed = client.connect_flow("09876543250", CALLER_ID, "123456")
    sid = placed["Call"]["Sid"]
    assert placed["Call"]["Status"] == "in-progress"
    wait_finished(sim, sid)
    details = client.get_call_info(sid)["Call"]
    assert details["Sid"] == sid and details["Status"] == "completed"
    assert isinstance(details["Duration"], str) and details["Duration"].isdigit()  # Exotel writes it as a string


@pytest.fixture
def classic_sim() -> SimulatorServer:
    """An account of the classic client's time: its API key is its SID."""
    with SimulatorServer(ACCOUNT, ACCOUNT, TOKEN, speed=0.02) as server:
        yield server


def test_the_classic_client_places_a_flow_call_by_the_older_url(classic_sim: SimulatorServer) -> None:
    client = ClassicClient(ACCOUNT, TOKEN, baseurl=f"{classic_sim.base_url}/")
    placed = client.call_flow("09876543250", CALLER_ID, "123456")
    assert placed.status_code == 200, placed.text
    sid = placed.json()["Call"]["Sid"]
    wait_finished(classic_sim, sid)
    details = client.call_details(sid)
    assert details.status_code == 200 and details.json()["Call"]["Status"] == "completed"


def test_the_classic_client_connects_two_numbers_without_a_flow(classic_sim: SimulatorServer) -> None:
    client = ClassicClient(ACCOUNT, TOKEN, baseurl=f"{classic_sim.base_url}/")
    placed = client.call_number("09876543250", CALLER_ID, "09876500001")
    assert placed.status_code == 200, placed.text
    assert placed.json()["Call"]["To"].endswith("9876500001")


def test_the_classic_client_is_refused_where_the_key_is_not_the_sid(sim: SimulatorServer) -> None:
    client = ClassicClient(ACCOUNT, TOKEN, baseurl=f"{sim.base_url}/")
    refused = client.call_flow("09876543250", CALLER_ID, "123456")
    assert refused.status_code == 401
    assert refused.json()["RestException"]["Status"] == 401
