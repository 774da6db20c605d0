"""Delivery: signed as Standard Webhooks (verified by its library), retried on a backing-off schedule under one
id, 410 and three days of failure disable, Retry-After honoured, rotation signs with both secrets, private
addresses refused at registration and at connect time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from tests.support.apps import make_app
from tests.support.webhooks import admin_headers, pump, register
from webapp.config.tuning import with_settings
from webapp.db import get_db
from webapp.webhooks import failing_endpoints, record_event
from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookMessage
from webapp.webhooks.outbox import FAN_OUT_TRICKLE
from webapp.webhooks.probing import PROBE_MAX, PROBE_MIN
from webapp.webhooks.schedule import ATTEMPTS, DELAYS, total_span

START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def hook_app(database_url, sim, clock):
    app = make_app(database_url, sim.base_url, WEBHOOK_ALLOW_PRIVATE="1", CLOCK=clock)
    yield app
    app.extensions["database"].engine.dispose()


def _fire(app, key: str = "1", now: datetime = START) -> None:
    with app.app_context(), get_db().transaction() as session:
        record_event(session, "alert.firing", {"rule": "worker_down", "n": key}, dedupe_key=f"alert.firing:{key}", now=now)


def _endpoint(app, endpoint_id: int) -> WebhookEndpoint:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.get(WebhookEndpoint, endpoint_id)


def _message(app) -> WebhookMessage:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.scalars(select(WebhookMessage)).one()


def _setup(app, receiver, events=("alert.firing",)) -> dict:
    endpoint = register(app.test_client(), admin_headers(app), receiver.url, list(events))
    receiver.secrets = [endpoint["secret"]]
    return endpoint


def test_the_schedule_backs_off_over_more_than_three_days():
    assert all(later >= earlier for earlier, later in zip(DELAYS, DELAYS[1:], strict=False))
    assert total_span() >= timedelta(days=3)
    assert len(DELAYS) + 1 == ATTEMPTS


def test_a_delivery_verifies_with_the_standardwebhooks_library(hook_app, receiver):
    _setup(hook_app, receiver)
    _fire(hook_app)
    assert pump(hook_app) == 1
    [got] = receiver.delivered()
    assert got.webhook_id.startswith("msg_")
    assert got.event == {"type": "alert.firing", "timestamp": "2026-12-07T10:00:00Z", "data": {"rule": "worker_down", "n": "1"}}
    assert _message(hook_app).state == "delivered"
    assert pump(hook_app) == 0  # delivered once, never again


def test_retries_keep_the_id_and_back_off_until_delivered(hook_app, receiver, clock):
    _setup(hook_app, receiver)
    receiver.answer = lambda n: 500 if n < 3 else 200
    _fire(hook_app)
    times = []
    for _ in range(4):
        times.append(clock.now)
        assert pump(hook_app, rounds=1) == 1
        assert pump(hook_app, rounds=1) == 0  # not due again before its delay
        clock.now = _message(hook_app).next_attempt_at
    assert [r.status for r in receiver.received] == [500, 500, 500, 200]
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    for gap, delay in zip(gaps, DELAYS, strict=False):
        assert delay <= gap <= delay * 1.2
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        log = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [(d.attempt, d.status_code) for d in log] == [(1, 500), (2, 500), (3, 500), (4, 200)]
    assert _message(hook_app).state == "delivered"


def test_the_last_retry_gives_up(hook_app, receiver, clock):
    _setup(hook_app, receiver)
    receiver.answer = lambda n: 503
    with_settings(hook_app, webhook_retry_scale=0.0001)  # the whole schedule within a minute of the test clock
    _fire(hook_app)
    for _ in range(ATTEMPTS + 2):
        pump(hook_app, rounds=1)
        clock.now += timedelta(minutes=1)
    assert len(receiver.received) == ATTEMPTS
    assert _message(hook_app).state == "failed"


def test_retry_after_is_honoured_on_429(hook_app, receiver, clock):
    _setup(hook_app, receiver)
    receiver.answer = lambda n: (429, {"Retry-After": "120"}, b"slow down") if n == 0 else 200
    _fire(hook_app)
    pump(hook_app, rounds=1)
    assert _message(hook_app).next_attempt_at == START + timedelta(seconds=120)


def test_410_disables_the_endpoint(hook_app, receiver, clock):
    endpoint = _setup(hook_app, receiver)
    receiver.answer = lambda n: 200 if n == 0 else 410
    _fire(hook_app, "0")
    assert pump(hook_app) == 1  # it has answered once: later events go in batches
    _fire(hook_app, "1")
    _fire(hook_app, "2")
    pump(hook_app, rounds=1)
    row = _endpoint(hook_app, endpoint["id"])
    assert not row.enabled and row.disabled_reason == "gone"
    clock.now += timedelta(hours=1)
    _fire(hook_app, "3", clock.now)
    pump(hook_app)
    assert len(receiver.received) == 3  # the batch already claimed, then nothing more: no message for a disabled endpoint


def test_a_new_endpoint_gets_one_message_before_its_backlog(hook_app, receiver, clock):
    """A mistyped URL costs one attempt, not a batch; the first 2xx sends the rest at once."""
    endpoint = _setup(hook_app, receiver)
    receiver.answer = lambda n: 404 if n == 0 else 200
    for n in range(5):
        _fire(hook_app, str(n))
    assert pump(hook_app, rounds=1) == 1
    assert pump(hook_app, rounds=1) == 0  # failing now: the next probe waits its interval
    assert _endpoint(hook_app, endpoint["id"]).failing_since is not None
    clock.now += timedelta(seconds=DELAYS[0] * 1.2 + PROBE_MIN)
    assert pump(hook_app, rounds=1) == 1  # the probe answers
    assert pump(hook_app, rounds=1) == 4  # and the backlog follows in one round
    assert len(receiver.delivered()) == 5


def test_three_days_of_failure_disable_the_endpoint_and_report_it(hook_app, receiver, clock):
    endpoint = _setup(hook_app, receiver)
    receiver.answer = lambda n: 500
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        assert failing_endpoints(session, clock.now) == []
    for day in range(4):
        _fire(hook_app, str(day), clock.now)
        pump(hook_app, rounds=1)
        if day < 3:
            assert _endpoint(hook_app, endpoint["id"]).enabled
            clock.now += timedelta(days=1)
    row = _endpoint(hook_app, endpoint["id"])
    assert not row.enabled and row.disabled_reason == "failing" and row.failing_since == START
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        [failing] = failing_endpoints(session, clock.now)
    assert failing["id"] == endpoint["id"] and failing["disabled"]


def test_a_success_ends_the_failing_streak(hook_app, receiver, clock):
    endpoint = _setup(hook_app, receiver)
    receiver.answer = lambda n: 500 if n == 0 else 200
    _fire(hook_app)
    pump(hook_app, rounds=1)
    assert _endpoint(hook_app, endpoint["id"]).failing_since == START
    clock.now += timedelta(minutes=1)
    pump(hook_app, rounds=1)
    assert _endpoint(hook_app, endpoint["id"]).failing_since is None


def test_rotation_signs_with_both_secrets_for_a_day(hook_app, receiver, clock):
    endpoint = _setup(hook_app, receiver)
    client = hook_app.test_client()
    headers = admin_headers(hook_app)
    rotated = client.post(f"/api/webhooks/{endpoint['id']}/rotate", headers=headers)
    assert rotated.status_code == 200
    new = rotated.get_json()["secret"]
    assert new != endpoint["secret"] and new.startswith("whsec_")
    receiver.secrets = [endpoint["secret"], new]
    _fire(hook_app, "1")
    pump(hook_app)
    [first] = receiver.delivered()
    assert first.verified_by == [endpoint["secret"], new]
    assert len(first.signature.split(" ")) == 2
    clock.now += timedelta(hours=24, seconds=1)
    _fire(hook_app, "2", clock.now)
    pump(hook_app)
    second = receiver.delivered()[1]
    assert second.verified_by == [new]
    assert len(second.signature.split(" ")) == 1


def test_response_bodies_are_capped_in_the_log(hook_app, receiver):
    endpoint = _setup(hook_app, receiver)
    receiver.answer = lambda n: (200, {"Content-Type": "text/html"}, b"<script>alert(1)</script>" + b"x" * 10_000)
    _fire(hook_app)
    pump(hook_app)
    body = hook_app.test_client().get(f"/api/webhooks/{endpoint['id']}", headers=admin_headers(hook_app)).get_json()
    [delivery] = body["deliveries"]
    assert delivery["status_code"] == 200 and delivery["attempt"] == 1 and delivery["type"] == "alert.firing"
    assert delivery["response"].startswith("<script>") and len(delivery["response"]) == 1024


def test_secrets_are_not_stored_in_clear(hook_app, receiver):
    endpoint = _setup(hook_app, receiver)
    with hook_app.app_context(), get_db().engine.connect() as connection:
        dump = " ".join(str(row) for table in ("webhook_endpoints", "audit_log")
                        for row in connection.execute(text(f"SELECT * FROM {table}")))
    assert endpoint["secret"] not in dump
    assert endpoint["secret"].removeprefix("whsec_") not in dump


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data",
    "http://[fd00:ec2::254]/x", "http://100.64.0.1/x", "http://0.0.0.0/x", "http://[::1]/x", "http://224.0.0.1/x",
])
def test_private_addresses_are_refused_at_registration(app, url):
    response = app.test_client().post("/api/webhooks", json={"url": url, "events": ["call.completed"]}, headers=admin_headers(app))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "url"
    with app.app_context(), get_db().transaction(write=False) as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


def test_a_name_resolving_to_loopback_later_is_refused_at_connect_time(hook_app, receiver):
    """Registered while allowed (as if its name resolved elsewhere then); delivered with the check on, the
    connection to 127.0.0.1 is closed before a byte is sent."""
    endpoint = _setup(hook_app, receiver)
    with hook_app.app_context(), get_db().transaction() as session:
        session.get(WebhookEndpoint, endpoint["id"]).url = receiver.url.replace("127.0.0.1", "localhost")
    with_settings(hook_app, webhook_allow_private=False)
    _fire(hook_app)
    pump(hook_app, rounds=1)
    assert receiver.received == []
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        [attempt] = session.scalars(select(WebhookDelivery)).all()
    assert attempt.status_code is None and "refused at connect time" in attempt.error and "loopback" in attempt.error


def test_an_endpoint_that_answers_again_gets_its_backlog_at_once(hook_app, receiver, clock):
    _setup(hook_app, receiver)
    receiver.answer = lambda n: 500 if n == 0 else 200
    _fire(hook_app, "early")
    pump(hook_app, rounds=1)  # fails: backed off by 5 s or more
    clock.now += timedelta(seconds=2)
    _fire(hook_app, "late", clock.now)
    pump(hook_app, rounds=1)  # delivered: the endpoint is back
    pump(hook_app, rounds=1)  # so the early one goes now, not 3 s or more later
    assert sorted(r.event["data"]["n"] for r in receiver.delivered()) == ["early", "late"]
    with hook_app.app_context(), get_db().transaction(write=False) as session:
        assert {m.state for m in session.scalars(select(WebhookMessage))} == {"delivered"}


def test_a_failing_endpoint_is_probed_with_one_message_not_its_backlog(hook_app, receiver, clock):
    _setup(hook_app, receiver)
    receiver.answer = lambda n: 503 if n < 2 else 200
    _fire(hook_app, "first")
    assert pump(hook_app, rounds=1) == 1
    for n in range(20):
        _fire(hook_app, f"more-{n}")
    clock.now += timedelta(seconds=PROBE_MIN)
    assert pump(hook_app, rounds=1) == 1  # down: one probe, not 20 attempts
    clock.now += timedelta(seconds=PROBE_MIN)
    assert pump(hook_app, rounds=1) == 1  # it answers: the probe goes through
    assert pump(hook_app, rounds=2) == 20  # and the backlog follows at once
    assert len(receiver.delivered()) == 21


def test_a_failing_endpoint_is_probed_once_per_interval_growing_with_the_outage(hook_app, receiver, clock):
    """Each worker looks every half second; the probes go every 2 s at first, then every minute at most."""
    _setup(hook_app, receiver)
    receiver.answer = lambda n: 503
    _fire(hook_app, "first")
    assert pump(hook_app, rounds=1) == 1  # the endpoint is failing from now on
    failing_since = clock.now
    for n in range(40):
        _fire(hook_app, str(n))
    probes = []
    while clock.now < failing_since + timedelta(minutes=40):
        clock.now += timedelta(seconds=0.5 if clock.now < failing_since + timedelta(minutes=2) else 5)
        if pump(hook_app, rounds=1):
            probes.append(clock.now)
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(probes, probes[1:], strict=False)]
    assert gaps[:5] == [PROBE_MIN] * 5
    assert max(gaps) <= PROBE_MAX + 5
    assert gaps[-1] >= PROBE_MAX
    assert len(probes) < 100  # not 4 a second


def test_while_every_endpoint_is_down_events_wait_in_the_outbox(hook_app, receiver, clock):
    """While no endpoint answers, the worker's run fans out only a trickle, the messages its probes need;
    then all at once."""
    from webapp.jobs.outbound import run_delivery
    from webapp.webhooks.models import WebhookEvent

    _setup(hook_app, receiver)
    receiver.answer = lambda n: 503
    _fire(hook_app, "first")
    pump(hook_app, rounds=1)  # fails: the endpoint is failing from now on
    for n in range(100):
        _fire(hook_app, str(n))
    with_settings(hook_app, webhook_run_seconds=0.2, webhook_poll_seconds=0.3)

    def unfanned() -> int:
        with hook_app.app_context(), get_db().transaction(write=False) as session:
            return len(session.scalars(select(WebhookEvent.id).where(WebhookEvent.fanned_out_at.is_(None))).all())

    assert run_delivery(hook_app)
    assert unfanned() == 100 - FAN_OUT_TRICKLE  # "first" backs off: newer events for the next probe, not all 100
    assert run_delivery(hook_app)
    assert unfanned() == 100 - FAN_OUT_TRICKLE  # those wait for the probe interval: nothing more
    clock.now += timedelta(seconds=DELAYS[0] * 1.2 + PROBE_MIN)  # the first message's retry is due: the probe
    receiver.answer = lambda n: 200
    with_settings(hook_app, webhook_run_seconds=3.0, webhook_poll_seconds=0.05)
    assert run_delivery(hook_app)
    assert unfanned() == 0
    assert len({r.event["data"]["n"] for r in receiver.delivered()}) == 101


def test_an_outage_is_probed_with_new_events_while_the_tried_ones_back_off(hook_app, receiver, clock):
    """The message already tried waits out its own backoff; the next probe goes on time with a newer event."""
    from webapp.jobs.outbound import run_delivery

    _setup(hook_app, receiver)
    receiver.answer = lambda n: 503
    _fire(hook_app, "first")
    assert pump(hook_app, rounds=1) == 1  # failing from now on; "first" is next due in 5-6 s
    for n in range(30):
        _fire(hook_app, str(n))
    clock.now += timedelta(seconds=PROBE_MIN)  # the probe interval has passed, "first"'s backoff has not
    with_settings(hook_app, webhook_run_seconds=0.3, webhook_poll_seconds=0.05)
    assert run_delivery(hook_app)
    assert len(receiver.received) == 2
    assert receiver.received[1].event["data"]["n"] != "first"


def test_while_every_endpoint_is_down_a_run_reads_once_per_probe_not_each_poll(hook_app, receiver, clock):
    """Nothing can happen before the next probe is due, so the run sleeps until then, not a poll at a time."""
    from sqlalchemy import event

    from webapp.jobs.outbound import run_delivery

    _setup(hook_app, receiver)
    receiver.answer = lambda n: 503
    _fire(hook_app, "first")
    assert pump(hook_app, rounds=1) == 1  # it fails: failing from now on, the next probe in PROBE_MIN
    for n in range(3):
        _fire(hook_app, str(n))
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    engine = hook_app.extensions["database"].engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with_settings(hook_app, webhook_run_seconds=1.0, webhook_poll_seconds=0.05)
        assert run_delivery(hook_app)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(receiver.received) == 1  # no probe before its time
    assert 0 < len(statements) < 30, len(statements)  # one look (a handful of reads), not one each 0.05 s
