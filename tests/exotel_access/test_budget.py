"""One Exotel budget for the deployment: a sliding 60-second log shared by every process."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from sqlalchemy import func, select

from tests.support.apps import make_app
from tests.support.workers import REDIS_URL, number, redis_or_fail
from webapp.db import get_db
from webapp.exotel import BULK, INTERACTIVE, BudgetSpent
from webapp.exotel_access.budget import Budget
from webapp.models import Call


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _budget(queue, limit: int, clock: Clock) -> Budget:
    kind, database_url, queue_url = queue
    if kind == "sqlite":
        queue_url = database_url.replace("calls.db", "queue.db")
    return Budget(queue_url or database_url, limit, clock=clock)


def test_at_most_the_limit_in_any_sixty_seconds(queue):
    clock = Clock()
    budget = _budget(queue, 30, clock)
    try:
        for _ in range(30):  # one a second: the 31st comes 30 s after the first
            clock.now += 1
            assert budget.try_take(INTERACTIVE).granted
        clock.now += 1
        refused = budget.try_take(INTERACTIVE)
        assert not refused.granted
        assert refused.retry_after == pytest.approx(30.0)  # the first slot frees 60 s after it was taken
        clock.now += 29.9
        assert not budget.try_take(INTERACTIVE).granted  # a fixed window would have reset by now
        clock.now += 0.2
        assert budget.try_take(INTERACTIVE).granted
        assert not budget.try_take(INTERACTIVE).granted
    finally:
        budget.close()


def test_bulk_work_never_takes_the_last_tenth(queue):
    clock = Clock()
    budget = _budget(queue, 30, clock)
    try:
        for _ in range(27):
            assert budget.try_take(BULK).granted
        assert not budget.try_take(BULK).granted
        for _ in range(3):  # a person placing a call still gets through
            assert budget.try_take(INTERACTIVE).granted
        assert not budget.try_take(INTERACTIVE).granted
    finally:
        budget.close()


@pytest.mark.postgresql  # Redis's budget: with the services, not the fast group
def test_a_spent_budget_waits_a_little_then_says_when():
    clock = Clock()
    slept = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    redis_or_fail(REDIS_URL).close()
    budget = Budget(REDIS_URL, 2, clock=clock, sleep=sleep, monotonic=clock)
    try:
        budget._log._redis.flushdb()
        budget.take(INTERACTIVE, wait=3)
        clock.now += 58.5
        budget.take(INTERACTIVE, wait=3)
        budget.take(INTERACTIVE, wait=3)  # waits 1.5 s for the first slot to leave the window
        assert slept == [pytest.approx(1.5)]
        with pytest.raises(BudgetSpent) as refused:
            budget.take(INTERACTIVE, wait=3)
        assert refused.value.retry_after == pytest.approx(58.5)  # the slot taken at 58.5 frees at 118.5
    finally:
        budget._log._redis.flushdb()
        budget.close()


def _place_many(database_url: str, queue_url: str | None, sim_url: str, token: str, first: int, count: int):
    """In a process of its own: `count` POST /api/calls through a fresh app."""
    overrides = {"QUEUE_URL": queue_url} if queue_url else {}
    app = make_app(database_url, sim_url, EXOTEL_REQUESTS_PER_MINUTE=30, EXOTEL_BUDGET_WAIT=0.5, **overrides)
    client = app.test_client()
    answers = []
    for index in range(first, first + count):
        response = client.post("/api/calls", json={"from": number(index), "app_id": "7"},
                               headers={"Authorization": f"Bearer {token}"})
        body = response.get_json()
        answers.append((response.status_code, response.headers.get("Retry-After"), body.get("id")))
    app.extensions["database"].engine.dispose()
    return answers


@pytest.mark.processes
def test_300_placements_from_4_processes_send_at_most_30_a_minute(queue, sim):
    kind, database_url, queue_url = queue
    app = make_app(database_url, sim.base_url, **({"QUEUE_URL": queue_url} if queue_url else {}))
    try:
        with app.app_context():
            from webapp.accounts import create_token

            token = create_token(get_db(), "budget")
    finally:
        app.extensions["database"].engine.dispose()
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        jobs = [pool.apply_async(_place_many, (database_url, queue_url, sim.base_url, token, p * 75, 75)) for p in range(4)]
        answers = [answer for job in jobs for answer in job.get(120)]
    elapsed = time.monotonic() - started

    placed = [a for a in answers if a[0] == 201]
    refused = [a for a in answers if a[0] == 429]
    assert len(answers) == 300 and len(placed) + len(refused) == 300
    assert len(placed) == 30, [a[0] for a in answers]
    assert all(retry_after and int(retry_after) >= 1 for _, retry_after, _ in refused)
    # Nothing refused reached Exotel, and nothing was sent twice.
    assert sim.state.connect_requests == 30
    assert len({c["from"] for c in sim.state.calls.values()}) == 30
    assert elapsed < 60, "the whole run must fit in one minute for the count above to be per window"
    with app.app_context(), get_db().transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 30  # a refusal writes no row
    app.extensions["database"].engine.dispose()


def test_the_form_says_so_in_plain_words(sqlite_template, tmp_path, sim):
    """The form's wording does not depend on the queue (the limiter is tested on each kind above)."""
    import shutil

    from tests.support.signin import page_token, sign_in
    from webapp.accounts import create_user

    shutil.copy(sqlite_template, tmp_path / "calls.db")
    database_url = f"sqlite:///{tmp_path / 'calls.db'}"
    app = make_app(database_url, sim.base_url, EXOTEL_REQUESTS_PER_MINUTE=1, EXOTEL_BUDGET_WAIT=0.2)
    with app.app_context():
        create_user(get_db(), "ops@example.com", "correct horse battery", is_admin=True)
    client = app.test_client()
    sign_in(client)
    statuses = []
    for index in range(2):
        token = page_token(client, "/calls/new")
        response = client.post("/calls/new", data={"csrf_token": token, "from_number": number(index), "caller_id": "08047112345",
                                                   "flow": "7", "nonce": f"n{index}"})
        statuses.append(response.status_code)
    page = response.get_data(as_text=True)
    assert statuses == [303, 429]
    assert "Too many calls this minute" in page and "Nothing was placed" in page
    assert sim.state.connect_requests == 1
    app.extensions["database"].engine.dispose()
