"""Outbound webhooks delivered by real worker processes, on each kind of queue: two workers deliver every event
exactly once; a worker killed (SIGKILL) mid-delivery loses nothing; a name that resolves to loopback is
refused when the worker connects."""

from __future__ import annotations

import signal
import time
from functools import partial

import pytest
from sqlalchemy import select

from tests.support.apps import make_app
from tests.support.calls import callback_path
from tests.support.receiver import Receiver
from tests.support.waiting import wait_until
from tests.support.webhooks import admin_headers, register
from tests.support.workers import worker_env
from webapp.db import get_db, utcnow
from webapp.models import Call
from webapp.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, WebhookMessage

pytestmark = pytest.mark.processes

TUNING = ("--webhook-tuning", "lease_seconds=3,run_seconds=2,poll_seconds=0.1,retry_scale=0.01")


_wait = partial(wait_until, interval=0.2)  # each poll reads the database: five a second is plenty


@pytest.fixture
def hooks(queue, sim):
    """(app, env for workers, receiver): the app on the queue's database and queue, private addresses allowed."""
    _kind, database_url, queue_url = queue
    overrides = {"QUEUE_URL": queue_url} if queue_url else {}
    app = make_app(database_url, sim.base_url, WEBHOOK_ALLOW_PRIVATE="1", **overrides)
    receiver = Receiver()
    yield app, worker_env(database_url, queue_url, sim.base_url, WEBHOOK_ALLOW_PRIVATE="1"), receiver
    receiver.stop()
    app.extensions["database"].engine.dispose()


def _calls_end(app, count: int) -> list[str]:
    """`count` calls, each sent its answered and terminal callbacks (and a duplicate of each) through the app."""
    client = app.test_client()
    ids = []
    for n in range(count):
        sid = f"{n:032x}"
        with app.app_context(), get_db().transaction() as session:
            call = Call(from_number="+919876543210", caller_id="08047112345", flow_url="http://x/y", status="ringing",
                        sid=sid, created_at=utcnow(), placed_at=utcnow())
            session.add(call)
            session.flush()
            ids.append(call.id)
        for body in ({"CallSid": sid, "EventType": "answered", "Status": "in-progress"},
                     {"CallSid": sid, "EventType": "terminal", "Status": "completed", "ConversationDuration": "5"}):
            for _ in range(2):
                assert client.post(callback_path(call.id), data=body).status_code == 200
    return ids


def _msg_ids(app) -> set[str]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return set(session.scalars(select(WebhookEvent.msg_id)))


def _states(app) -> list[str]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return list(session.scalars(select(WebhookMessage.state)))


def test_two_workers_deliver_every_event_exactly_once(hooks, workers):
    app, env, receiver = hooks
    receiver.secrets = [register(app.test_client(), admin_headers(app), receiver.url)["secret"]]
    ids = _calls_end(app, 40)
    for _ in range(2):
        workers(env, "--threads", "2", *TUNING)
    assert _wait(lambda: len(receiver.received) >= 80 and set(_states(app)) == {"delivered"}, 90), len(receiver.received)
    time.sleep(1.5)  # nothing more comes
    got = receiver.delivered()
    assert len(got) == len(receiver.received) == 80
    assert len({r.webhook_id for r in got}) == 80  # no attempt sent twice
    assert {r.webhook_id for r in got} == _msg_ids(app)
    assert sorted((r.event["type"], r.event["data"]["id"]) for r in got) == sorted(
        (kind, call_id) for call_id in ids for kind in ("call.answered", "call.completed"))


def test_a_worker_killed_mid_delivery_loses_nothing(hooks, workers):
    app, env, receiver = hooks
    receiver.secrets = [register(app.test_client(), admin_headers(app), receiver.url)["secret"]]
    receiver.delay = 2.0  # each answer takes 2 s: the kill lands while requests are in flight
    _calls_end(app, 5)
    first = workers(env, "--threads", "2", *TUNING)
    assert _wait(lambda: len(receiver.received) >= 1, 60)
    first.stop(signal.SIGKILL)
    in_flight = {r.webhook_id for r in receiver.received}
    receiver.delay = 0.0
    workers(env, "--threads", "2", *TUNING)
    assert _wait(lambda: set(_states(app)) == {"delivered"}, 90), _states(app)
    ids = _msg_ids(app)
    assert len(ids) == 10
    assert {r.webhook_id for r in receiver.delivered()} == ids  # every event, under the id it always had
    assert in_flight <= ids


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(hooks, workers):
    """The endpoint was registered while its name resolved elsewhere (written here directly); now `localhost`
    resolves to 127.0.0.1, and a worker without WEBHOOK_ALLOW_PRIVATE refuses to connect to it."""
    app, env, receiver = hooks
    endpoint = register(app.test_client(), admin_headers(app), receiver.url)
    with app.app_context(), get_db().transaction() as session:
        session.get(WebhookEndpoint, endpoint["id"]).url = receiver.url.replace("127.0.0.1", "localhost")
    _calls_end(app, 1)
    env = {k: v for k, v in env.items() if k != "WEBHOOK_ALLOW_PRIVATE"}
    workers(env, "--threads", "2", *TUNING)

    def refused() -> list[str]:
        with app.app_context(), get_db().transaction(write=False) as session:
            return [d.error or "" for d in session.scalars(select(WebhookDelivery))]

    assert _wait(lambda: len(refused()) >= 2, 60)
    assert all("refused at connect time" in error and "loopback" in error for error in refused())
    assert receiver.received == []
