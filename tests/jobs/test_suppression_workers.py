"""A suppressed number is never dialled by a campaign again from the moment the suppression is answered, with
real worker processes sending to the simulator over HTTP, on both databases: whether its attempt was claimed
and not yet sent, ringing, or its contact still waiting when another campaign's DND refusal suppressed it.
The simulator's connect log is what Exotel really heard."""

from __future__ import annotations

import time

import pytest

from tests.support.campaigns import DND, us_number
from tests.support.waiting import wait_for
from tests.support.workers import worker_env

pytestmark = [pytest.mark.processes, pytest.mark.parametrize("queue", ["sqlite", "postgresql"], indirect=True)]

# Ends in 2: the simulator rings it for 6 s (the ring timeout at most), then it ends no-answer.
RINGS_UNANSWERED = "+14155550012"
RETRIES = {"count": 3, "on": ["busy", "no-answer", "failed"], "delay_minutes": 1}


def _env(queue, sim, site):
    _kind, database_url, queue_url = queue
    return worker_env(database_url, queue_url, sim.base_url, PUBLIC_BASE_URL=site.url, RECONCILE_EVERY_MINUTES="0")


def _suppress(site, number: str) -> float:
    """POST /api/suppressions for one number; when the answer came (Unix seconds)."""
    response = site.http.post(f"{site.url}/api/suppressions", json={"numbers": [number], "reason": "asked"}, timeout=10)
    answered = time.time()
    assert response.status_code == 200 and response.json()["added"] == [number], response.text
    return answered


def _dialled(sim, number: str) -> list[dict]:
    return [entry for entry in sim.state.connects.entries() if entry["from"] == number]


def _completed(site, campaign_id: int, timeout: float = 30) -> dict:
    wait_for(lambda: site.campaign(campaign_id)["status"] == "completed", timeout=timeout, what="the campaign completed")
    return site.campaign(campaign_id)["counts"]


def test_claimed_and_not_yet_sent_when_suppressed_it_is_never_sent(queue, sim, workers, site):
    # One thread: the dispatcher's run holds it for 4 s after claiming the whole list, so the sends wait queued.
    workers(_env(queue, sim, site), "--threads", "1", "--dispatch-seconds", "4")
    numbers = [us_number(i) for i in range(6)]
    target = numbers[3]
    campaign_id = site.create(numbers, retries=RETRIES)["id"]

    wait_for(lambda: site.contacts(campaign_id)[target].state == "dialing", timeout=90, what="the list claimed")
    assert sim.state.connects.entries() == [], "sending began before the suppression: the test proves nothing"
    _suppress(site, target)

    counts = _completed(site, campaign_id)
    assert _dialled(sim, target) == []
    assert (counts["completed"], counts["suppressed"]) == (5, 1)
    contact = site.contacts(campaign_id)[target]
    assert (contact.state, contact.attempts, contact.next_attempt_at) == ("suppressed", 1, None)
    (call,) = [call for call in site.calls(campaign_id) if call.from_number == target]
    assert (call.status, call.error_code, call.sid) == ("rejected", "not_sent", None)


def test_ringing_when_suppressed_its_call_ends_and_is_never_retried(queue, sim, workers, site):
    workers(_env(queue, sim, site), "--threads", "2", "--dispatch-seconds", "1")
    campaign_id = site.create([RINGS_UNANSWERED, us_number(1)], retries=RETRIES)["id"]

    wait_for(lambda: _dialled(sim, RINGS_UNANSWERED), timeout=90, what="the number ringing")
    _suppress(site, RINGS_UNANSWERED)
    assert site.contacts(campaign_id)[RINGS_UNANSWERED].state == "dialing"  # the call under way runs to its end

    # Without the suppression its retry would wait a minute and the campaign would still be running.
    counts = _completed(site, campaign_id)
    assert (counts["completed"], counts["suppressed"]) == (1, 1)
    contact = site.contacts(campaign_id)[RINGS_UNANSWERED]
    assert (contact.state, contact.attempts, contact.next_attempt_at) == ("suppressed", 1, None)
    assert [call.status for call in site.calls(campaign_id) if call.from_number == RINGS_UNANSWERED] == ["no-answer"]
    assert len(_dialled(sim, RINGS_UNANSWERED)) == 1


def test_waiting_in_one_campaign_when_another_hears_dnd_it_is_never_dialled(queue, sim, workers, site):
    # Created and paused before any worker runs: its contacts wait while another campaign meets the DND refusal.
    waiting = site.create([DND, us_number(1)], retries=RETRIES)["id"]
    site.control(waiting, "pause")
    workers(_env(queue, sim, site), "--threads", "2", "--dispatch-seconds", "1")
    refusing = site.create([DND, us_number(2)], retries=RETRIES)["id"]
    assert _completed(site, refusing, timeout=90)["suppressed"] == 1
    assert [entry["status"] for entry in _dialled(sim, DND)] == [403]
    assert site.contacts(waiting)[DND].state == "suppressed"  # at the refusal, not when its campaign runs again

    site.control(waiting, "resume")
    counts = _completed(site, waiting)
    assert (counts["completed"], counts["suppressed"]) == (1, 1)
    assert [entry["status"] for entry in _dialled(sim, DND)] == [403]
    contact = site.contacts(waiting)[DND]
    assert (contact.state, contact.attempts) == ("suppressed", 0)
