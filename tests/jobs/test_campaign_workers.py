"""Campaigns dialled by real worker processes against the simulator: never one attempt twice, even with a
worker killed (SIGKILL) mid-run; the attempts a killed worker held are settled by reconciliation, so every
contact ends final and the campaign completes."""

from __future__ import annotations

import signal
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.support.campaigns import us_number
from tests.support.waiting import wait_for
from tests.support.workers import worker_env
from webapp.campaigns.models import Campaign, CampaignContact
from webapp.db import get_db
from webapp.models import CallEvent

pytestmark = pytest.mark.processes

CONTACTS = 300
# A killed worker's reconciliation lock lives 5 s, not 5 minutes; the workers reconcile every second between
# them (the interval each run claims), not once a minute.
LOCK = ("--lock-seconds", "5", "--reconcile-seconds", "1")
# A killed worker's dispatcher lock outlives its run by 3 s, not 15.
DISPATCH = ("--tune", "DISPATCH_LOCK_MARGIN=3")


def _env(queue, sim, site, *, older_than: float, lost_after: float, never_placed_after: float, reconcile: bool = True):
    """Workers that reconcile each second (the tests' scheduler period), with these thresholds in seconds."""
    _kind, database_url, queue_url = queue
    minutes = {"RECONCILE_OLDER_THAN_MINUTES": older_than / 60, "CAMPAIGN_LOST_AFTER_MINUTES": lost_after / 60,
               "RECONCILE_NEVER_PLACED_AFTER_MINUTES": never_placed_after / 60}
    return worker_env(database_url, queue_url, sim.base_url, PUBLIC_BASE_URL=site.url,
                      RECONCILE_EVERY_MINUTES="1" if reconcile else "0",
                      **{name: f"{value:.4f}" for name, value in minutes.items()})


@pytest.mark.parametrize("queue", ["sqlite", "postgresql"], indirect=True)
def test_three_workers_one_killed_never_place_an_attempt_twice(queue, sim, workers, site):
    numbers = [f"+1415555{i:04d}" for i in range(1, CONTACTS + 1)]
    campaign_id = site.create(numbers, calls_per_minute=1200)["id"]
    # The simulator ends a call within a second and answers at once; an attempt may wait in the queue a few
    # seconds while the killed worker's dispatcher lock expires (an attempt marked lost is not sent but tried
    # again: never twice).
    env = _env(queue, sim, site, older_than=3, lost_after=6, never_placed_after=12)
    running = [workers(env, "--threads", "2", "--dispatch-seconds", "5", *DISPATCH, *LOCK) for _ in range(3)]

    wait_for(lambda: len(site.calls(campaign_id)) >= CONTACTS // 4, timeout=60, what="a quarter of the list dialled")
    running[0].stop(signal.SIGKILL)
    wait_for(lambda: site.campaign(campaign_id)["status"] == "completed", timeout=180, what="the campaign completed")
    sim.state.wait_idle()

    calls = site.calls(campaign_id)
    states = Counter(contact.state for contact in site.contacts(campaign_id).values())
    # Exactly one call row per (contact, attempt), and Exotel saw exactly one connect for each sent attempt.
    assert len({(c.campaign_contact_id, c.attempt) for c in calls}) == len(calls)
    at_exotel = Counter(call["from"] for call in sim.state.calls.values())
    assert max(at_exotel.values()) == 1
    assert sorted(c.from_number for c in calls if c.sid is not None) == sorted(at_exotel)
    # Every contact is final: what the killed worker held was settled by reconciliation (adopted, or never
    # placed and tried again), never left dialling.
    assert all(c.status not in ("pending", "unknown") for c in calls)
    assert sum(states.values()) == CONTACTS
    assert states["completed"] + states["exhausted"] == CONTACTS


@pytest.mark.parametrize("queue", ["sqlite", "postgresql"], indirect=True)
def test_attempts_a_killed_worker_held_are_settled_by_reconciliation(queue, sim, workers, site):
    """Both of a worker's threads hang in a connect request and the worker is killed: one attempt Exotel placed
    (its answer, and its callbacks, never came back), one it did not. Another worker's reconciliation adopts the
    first and, once Exotel still does not list the second, settles it as never placed; only then is that contact
    tried again. At most two in flight: the worker holds those two attempts and nothing else when it dies."""
    sim.state.configure(drop_callbacks=1.0)
    # Each connect hangs a minute: the kill must find both threads still waiting, even when the second thread
    # picks its attempt up late (a loaded machine). With 20 s, the first answer could come back before the kill.
    sim.state.add_fault("timeout", delay=60, place=True)
    sim.state.add_fault("timeout", delay=60, place=False)
    thresholds = dict(older_than=0, lost_after=1, never_placed_after=6)
    victim = workers(_env(queue, sim, site, **thresholds, reconcile=False), "--threads", "2", "--dispatch-seconds", "1",
                     *DISPATCH)
    campaign_id = site.create([us_number(i) for i in range(5)], max_in_flight=2)["id"]
    wait_for(lambda: not sim.state.faults and len(sim.state.connects.entries()) == 2, timeout=30,
             what="both threads waiting on Exotel")
    sim.state.configure(drop_callbacks=0.0)  # the calls placed from now on call back as usual
    victim.stop(signal.SIGKILL)
    placed, not_placed = (entry["from"] for entry in sim.state.connects.entries())
    workers(_env(queue, sim, site, **thresholds), "--threads", "2", "--dispatch-seconds", "1", *DISPATCH, *LOCK)
    wait_for(lambda: site.campaign(campaign_id)["status"] == "completed", timeout=60, what="the campaign completed")

    def attempts(number):
        return [c for c in site.calls(campaign_id) if c.from_number == number]

    contacts = site.contacts(campaign_id)
    assert {contact.state for contact in contacts.values()} == {"completed"}
    (adopted,) = attempts(placed)
    assert adopted.sid == next(e["sid"] for e in sim.state.connects.entries() if e["from"] == placed)
    assert adopted.status == "completed" and contacts[placed].attempts == 1
    first, second = attempts(not_placed)
    assert (first.attempt, first.status, first.error_code, first.sid) == (1, "rejected", "not_placed", None)
    assert second.attempt == 2 and second.status == "completed" and contacts[not_placed].attempts == 2
    assert second.created_at >= first.updated_at  # tried again only once reconciliation had settled the first
    with site.app.app_context(), get_db().transaction(write=False) as session:
        # Learnt by reconciliation alone: its callbacks were lost with the answer.
        assert set(session.scalars(select(CallEvent.event_type).where(CallEvent.call_id == adopted.id))) == {"reconcile"}
        assert session.get(Campaign, campaign_id).status == "completed"
        assert session.scalar(select(func.count()).select_from(CampaignContact)) == 5
    # Exotel placed each number once: the never-placed attempt was not a second call.
    assert Counter(call["from"] for call in sim.state.calls.values()) == dict.fromkeys(contacts, 1)
    assert all(c.status == "completed" for c in site.calls(campaign_id) if c.id != first.id)
