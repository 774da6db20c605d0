"""A periodic task's claim of its interval, on each kind of queue: one claimant per interval across workers
(each with its own connection), free again once the interval (less its margin) has passed."""

from __future__ import annotations

import time

from webapp.config import get_settings
from webapp.jobs import get_jobs
from webapp.jobs.intervals import claim_interval, claim_ttl
from webapp.jobs.queue import make_huey


def test_a_claim_lasts_its_interval_less_a_margin():
    assert [claim_ttl(s) for s in (1, 3, 60, 300, 3600)] == [1, 2, 54, 270, 3570]


def test_one_claim_per_interval_across_workers_then_free_again(queue_app):
    app, _kind, _database_url, _queue_url = queue_app
    one = get_jobs(app).huey
    other = make_huey(get_settings(app).queue_url)  # another worker: its own connection
    try:
        assert claim_interval(one, "reconcile", 3) is True  # held for 2 s
        assert claim_interval(other, "reconcile", 3) is False
        assert claim_interval(one, "reconcile", 3) is False
        assert claim_interval(other, "sweep", 3) is True  # each task its own claim
        time.sleep(2.3)
        assert claim_interval(other, "reconcile", 3) is True  # the next interval's
        assert claim_interval(one, "reconcile", 3) is False
    finally:
        other.storage.close()


def test_the_claim_of_a_run_does_not_block_the_queues_task_locks(queue_app):
    app, *_ = queue_app
    huey = get_jobs(app).huey
    assert claim_interval(huey, "reconcile", 60)
    with huey.lock_task("reconcile", ttl=5):  # the run's own lock (one run at a time) is another key
        assert huey.is_locked("reconcile")
