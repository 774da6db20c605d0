"""Exotel's bulk Calls list in the simulator: filters, the one-month range, pages and their cursor."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.simulator import AUTH, connect, get, wait_finished
from webapp.simulator import SimulatorServer
from webapp.simulator.formats import EXOTEL_TZ

FAILED, BUSY, COMPLETED = "+919876543213", "+919876543211", "+919876543250"
EXOPHONE, OTHER_EXOPHONE = "08047112345", "08047199999"


def sids(body: dict[str, Any]) -> list[str]:
    """The Sids of a list answer, in its order."""
    return [call["Sid"] for call in body["Calls"]]


def ist(moment: datetime) -> str:
    """A time as Exotel's filters take it: local time, no zone."""
    return moment.astimezone(EXOTEL_TZ).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def three(sim: SimulatorServer) -> dict[str, str]:
    """Three finished calls: failed and busy on one ExoPhone, completed on another."""
    placed = {
        "failed": connect(sim, From=FAILED).json()["Call"]["Sid"],
        "busy": connect(sim, From=BUSY).json()["Call"]["Sid"],
        "completed": connect(sim, From=COMPLETED, CallerId=OTHER_EXOPHONE).json()["Call"]["Sid"],
    }
    for sid in placed.values():
        wait_finished(sim, sid)
    return placed


def test_from_to_phone_number_and_status_filters(sim: SimulatorServer, three: dict[str, str]) -> None:
    assert sids(get(sim, "/Calls.json", From=FAILED).json()) == [three["failed"]]
    assert set(sids(get(sim, "/Calls.json", From=f"{FAILED},{BUSY}").json())) == {three["failed"], three["busy"]}
    # Exotel shows +91 numbers as 0...; either spelling finds the call.
    assert sids(get(sim, "/Calls.json", From="09876543213").json()) == [three["failed"]]
    assert sids(get(sim, "/Calls.json", PhoneNumber=OTHER_EXOPHONE).json()) == [three["completed"]]
    assert set(sids(get(sim, "/Calls.json", To=EXOPHONE).json())) == {three["failed"], three["busy"]}
    assert sids(get(sim, "/Calls.json", Status="busy").json()) == [three["busy"]]
    both = get(sim, "/Calls.json", Status="completed,failed", PhoneNumber=EXOPHONE).json()
    assert sids(both) == [three["failed"]] and both["Metadata"]["Total"] == 1
    assert get(sim, "/Calls.json", From="+919999999990").json()["Calls"] == []


def test_date_created_range_in_exotel_local_time(sim: SimulatorServer, three: dict[str, str]) -> None:
    created = {sid: get(sim, f"/Calls/{sid}.json").json()["Call"]["DateCreated"] for sid in three.values()}
    earliest, latest = min(created.values()), max(created.values())
    inside = get(sim, "/Calls.json", DateCreated=f"gte:{earliest};lte:{latest}").json()
    assert set(sids(inside)) == set(three.values())
    before = datetime.strptime(earliest, "%Y-%m-%d %H:%M:%S").replace(tzinfo=EXOTEL_TZ) - timedelta(seconds=1)
    assert get(sim, "/Calls.json", DateCreated=f"lte:{ist(before)}").json()["Calls"] == []
    assert set(sids(get(sim, "/Calls.json", DateCreated=f"gte:{earliest}").json())) == set(three.values())
    tomorrow = datetime.now(EXOTEL_TZ) + timedelta(days=1)
    assert get(sim, "/Calls.json", DateCreated=f"gte:{ist(tomorrow)}").json()["Calls"] == []


@pytest.mark.parametrize("params, named", [
    ({"DateCreated": "gte:yesterday"}, "DateCreated"),
    ({"DateCreated": "after:2026-01-01 00:00:00"}, "DateCreated"),
    ({"DateCreated": "gte:2026-01-01 00:00:00;lte:2026-03-01 00:00:00"}, "month"),
    ({"DateCreated": "gte:2026-02-01 00:00:00;lte:2026-01-01 00:00:00"}, "DateCreated"),
    ({"From": ",".join(f"+9198765432{i:02d}" for i in range(6))}, "From"),
    ({"SortBy": "Price:asc"}, "SortBy"),
])
def test_what_exotel_refuses_is_a_400_naming_it(sim: SimulatorServer, params: dict[str, str], named: str) -> None:
    response = get(sim, "/Calls.json", **params)
    assert response.status_code == 400
    assert named in response.json()["RestException"]["Message"]


def test_calls_in_progress_are_not_listed(sim: SimulatorServer) -> None:
    ended = connect(sim, From="+919876543243").json()["Call"]["Sid"]  # failed after 1 simulated second
    other = connect(sim, From=BUSY).json()["Call"]["Sid"]
    wait_finished(sim, ended)
    wait_finished(sim, other)
    sim.state.configure(speed=1.0)  # the completed call talks for seconds
    talking = connect(sim, From="+919876543240", CallerId=OTHER_EXOPHONE).json()["Call"]["Sid"]
    body = get(sim, "/Calls.json", From="+919876543240,+919876543243").json()
    assert sids(body) == [ended] and body["Metadata"]["Total"] == 1
    assert get(sim, "/Calls.json", PhoneNumber=OTHER_EXOPHONE).json()["Calls"] == []
    assert get(sim, "/Calls.json", Sid=talking).json()["Calls"] == []


def test_pages_follow_next_page_uri_with_the_filters_kept(sim: SimulatorServer) -> None:
    placed = [connect(sim, From=FAILED).json()["Call"]["Sid"] for _ in range(5)]
    noise = connect(sim, From=BUSY).json()["Call"]["Sid"]
    for sid in [*placed, noise]:
        wait_finished(sim, sid)
    pages, uri = [], None
    body = get(sim, "/Calls.json", From=FAILED, PageSize=2).json()
    while True:
        pages.append(sids(body))
        assert body["Metadata"]["Total"] == 5 and body["Metadata"]["PageSize"] == 2
        uri = body["Metadata"]["NextPageUri"]
        if uri is None:
            break
        assert uri.startswith("/v1/Accounts/") and "From=" in uri and "After=" in uri
        body = requests.get(f"{sim.base_url}{uri}", auth=AUTH, timeout=5).json()
    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [sid for page in pages for sid in page]
    assert sorted(listed) == sorted(placed) and noise not in listed
    # Newest first: placing order reversed (calls created in one second keep it).
    assert listed == placed[::-1]
    oldest_first = get(sim, "/Calls.json", From=FAILED, PageSize=100, SortBy="DateCreated:asc").json()
    assert sids(oldest_first) == placed


def test_a_sid_list_is_one_page_and_takes_filters(sim: SimulatorServer, three: dict[str, str]) -> None:
    listed = get(sim, "/Calls.json", Sid=",".join(three.values())).json()
    assert set(sids(listed)) == set(three.values()) and listed["Metadata"]["NextPageUri"] is None
    busy_only = get(sim, "/Calls.json", Sid=",".join(three.values()), Status="busy").json()
    assert sids(busy_only) == [three["busy"]]


def test_dnd_and_balance_refusals_by_number(sim):
    """Numbers ending 8888 are refused as DND (403), ending 7777 as out of balance (402); nothing is placed."""
    for number, status, word in (("+919876508888", 403, "DND"), ("+919876507777", 402, "balance")):
        answer = connect(sim, From=number)
        assert answer.status_code == status
        assert word in answer.json()["RestException"]["Message"]
    assert sim.state.calls == {}
