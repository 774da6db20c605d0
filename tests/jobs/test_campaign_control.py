"""Campaigns under way in real worker processes, driven through the API against the simulator over HTTP, on both
databases: pause, resume and cancel take effect at their answer; Exotel's out-of-balance refusal pauses the
campaign; a DND refusal suppresses the number for good.

What "no new attempt after the answer" allows: a send task that checked its campaign was running just before
the answer may still reach Exotel after it (Exotel is never asked inside a transaction), so the simulator may
see at most one late request per worker thread, and only for an attempt claimed before the answer.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support.campaigns import DND, OUT_OF_BALANCE, connects_after, us_number
from tests.support.waiting import wait_for
from tests.support.workers import worker_env

pytestmark = [pytest.mark.processes, pytest.mark.parametrize("queue", ["sqlite", "postgresql"], indirect=True)]


def _env(queue, sim, site):
    _kind, database_url, queue_url = queue
    return worker_env(database_url, queue_url, sim.base_url, PUBLIC_BASE_URL=site.url, RECONCILE_EVERY_MINUTES="0")


def _check_the_stop(sim, site, campaign_id, answered, claimed, threads):
    """After a pause or cancel answered at `answered`, with these calls claimed: the dispatcher claims nothing
    more, and Exotel hears only of attempts already under way."""
    # While stopped the dispatcher still runs: it settles the attempts in flight, so once none is, it has had
    # rounds in which it could have claimed more.
    wait_for(lambda: site.in_flight(campaign_id) == 0, timeout=30, what="the attempts in flight settled")
    assert {call.id for call in site.calls(campaign_id)} == {call.id for call in claimed}
    late = connects_after(sim, answered)
    assert {entry["from"] for entry in late} <= {call.from_number for call in claimed}
    assert len(late) <= threads


def test_pause_resume_and_cancel_while_under_way(queue, sim, workers, site):
    numbers = [us_number(i) for i in range(40)]
    sim.state.configure(speed=0.1)  # calls last 0.5-1 s, so some are always in flight when a control comes
    env = _env(queue, sim, site)
    for _ in range(2):
        workers(env, "--threads", "2", "--dispatch-seconds", "2")
    threads = 4
    # 5 a second (in bursts of 2 s at most): the list lasts 8 s, so each control comes with contacts still waiting.
    campaign_id = site.create(numbers, calls_per_minute=300)["id"]

    wait_for(lambda: len(sim.state.connects.entries()) >= 3, timeout=30, what="the workers dialling")
    paused, at_pause = site.control(campaign_id, "pause")
    assert paused["status"] == "paused"
    before_pause = site.calls(campaign_id)
    _check_the_stop(sim, site, campaign_id, at_pause, before_pause, threads)
    assert site.campaign(campaign_id)["status"] == "paused"
    assert site.campaign(campaign_id)["counts"]["waiting"] > 0

    resumed, at_resume = site.control(campaign_id, "resume")
    assert resumed["status"] == "running"
    wait_for(lambda: len(connects_after(sim, at_resume)) >= 3, timeout=30, what="dialling again after the resume")

    canceled, at_cancel = site.control(campaign_id, "cancel")
    assert canceled["status"] == "canceled" and canceled["counts"]["waiting"] == 0
    assert canceled["counts"]["canceled"] > 0
    before_cancel = site.calls(campaign_id)
    flying = [c.number for c in site.contacts(campaign_id).values() if c.state in ("dialing", "answered")]
    assert flying, "nothing was in flight at the cancel: the test proves nothing"
    _check_the_stop(sim, site, campaign_id, at_cancel, before_cancel, threads)

    final = site.campaign(campaign_id)
    counts = final["counts"]
    assert final["status"] == "canceled"
    assert counts["contacts"] == 40 and counts["waiting"] == counts["dialing"] == counts["answered"] == 0
    assert counts["completed"] + counts["canceled"] == 40 and counts["exhausted"] == counts["suppressed"] == 0
    # Calls in flight at the cancel ran to their end; an attempt claimed but not yet sent was never sent.
    contacts = site.contacts(campaign_id)
    last_calls = {call.id: call for call in site.calls(campaign_id)}
    for number in flying:
        sent = last_calls[contacts[number].last_call_id].sid is not None
        assert contacts[number].state == ("completed" if sent else "canceled"), number
    at_exotel = Counter(entry["from"] for entry in sim.state.connects.entries())
    assert max(at_exotel.values()) == 1
    assert sum(at_exotel.values()) == counts["completed"]


def test_out_of_balance_pauses_the_campaign_instead_of_burning_the_list(queue, sim, workers, site):
    numbers = [us_number(i) for i in range(3)] + [OUT_OF_BALANCE] + [us_number(i) for i in range(3, 20)]
    # One thread: each send starts after the one before it was answered, so "no connect after the 402" is exact.
    workers(_env(queue, sim, site), "--threads", "1", "--dispatch-seconds", "1")
    campaign_id = site.create(numbers)["id"]

    refused = wait_for(lambda: next((e for e in sim.state.connects.entries() if e["status"] == 402), None),
                       timeout=30, what="Exotel's 402")
    wait_for(lambda: site.campaign(campaign_id)["status"] == "paused", timeout=10, what="the campaign paused")
    wait_for(lambda: site.in_flight(campaign_id) == 0, timeout=30, what="the attempts claimed settled")
    assert connects_after(sim, refused["at"]) == []

    body = site.campaign(campaign_id)
    assert body["status"] == "paused"
    assert body["status_reason"].startswith("Exotel refused: Insufficient balance")
    placed = [entry for entry in sim.state.connects.entries() if entry["status"] == 200]
    assert body["counts"]["completed"] == len(placed) == 3
    assert body["counts"]["waiting"] == len(numbers) - len(placed)  # the rest of the list, the refused number too
    assert site.contacts(campaign_id)[OUT_OF_BALANCE].state == "waiting"


def test_a_dnd_refusal_suppresses_the_number_and_never_retries_it(queue, sim, workers, site):
    numbers = [us_number(i) for i in range(3)] + [DND] + [us_number(i) for i in range(3, 10)]
    workers(_env(queue, sim, site), "--threads", "2", "--dispatch-seconds", "1")
    retries = {"count": 3, "on": ["busy", "no-answer", "failed"], "delay_minutes": 1}
    campaign_id = site.create(numbers, retries=retries)["id"]

    wait_for(lambda: site.campaign(campaign_id)["status"] == "completed", timeout=30, what="the campaign completed")
    counts = site.campaign(campaign_id)["counts"]
    assert (counts["completed"], counts["suppressed"], counts["contacts"]) == (10, 1, 11)
    contact = site.contacts(campaign_id)[DND]
    assert (contact.state, contact.attempts, contact.next_attempt_at) == ("suppressed", 1, None)
    assert [e["status"] for e in sim.state.connects.entries() if e["from"] == DND] == [403]
    suppressions = site.http.get(f"{site.url}/api/suppressions", timeout=10).json()["suppressions"]
    assert [(s["number"], s["reason"]) for s in suppressions] == [(DND, "dnd")]
    # Another campaign does not even import it.
    again = site.create([DND, us_number(11)], retries=retries)
    assert [(row["number"], row["reason"]) for row in again["not_imported"]] == [(DND, "suppressed")]
