"""A campaign's first attempt within 2 seconds: creating, starting or resuming one wakes the dispatcher at
once, instead of leaving it to the periodic tick (once a minute in production; the tick stays as the net)."""

from __future__ import annotations

import time

import pytest

from tests.support.campaigns import connects_after, us_number
from tests.support.waiting import wait_for
from tests.support.workers import worker_env

pytestmark = pytest.mark.processes


def _idle_worker(queue, sim, site, workers):
    """A worker on the production tick (periodic tasks checked once a minute), past its first tick's run."""
    _kind, database_url, queue_url = queue
    env = worker_env(database_url, queue_url, sim.base_url, PUBLIC_BASE_URL=site.url, RECONCILE_EVERY_MINUTES="0")
    worker = workers(env, "--scheduler-period", "60", "--dispatch-seconds", "2")
    wait_for(lambda: site.app.test_client().get("/healthz").get_json()["worker"]["seen"], timeout=30,
             what="the worker's first heartbeat")
    # The tick at start runs the dispatcher once (2 s here) and, nothing being live, ends the chain; the next
    # tick is a minute away.
    time.sleep(4)
    return worker


@pytest.mark.parametrize("queue", ["sqlite", "postgresql"], indirect=True)
def test_the_first_attempt_is_dialled_within_two_seconds_of_creation(queue, sim, workers, site):
    worker = _idle_worker(queue, sim, site, workers)
    assert not connects_after(sim, 0)

    asked = time.time()
    site.create([us_number(1)])
    first = wait_for(lambda: connects_after(sim, asked), timeout=10, what="the first attempt at Exotel")
    assert first[0]["at"] - asked <= 2.0, (first, worker.lines()[-10:])
