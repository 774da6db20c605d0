"""Each rule fires once, holds while its condition holds, resolves once after the hold time, and is notified twice.

The rules read the product's own tables; each case writes its condition there (or makes it happen, for Exotel's
refusals), evaluates minute by minute on a controlled clock, clears it, and watches the `alerts` rows and what a
local JSON receiver (Apprise's json://) got.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.support.apps import make_app
from tests.support.calls import add_call
from tests.support.credentials import API_TOKEN, SECRET_KEY
from webapp import signals
from webapp.accounts import create_token
from webapp.accounts.audit import Actor
from webapp.alerts import Alert
from webapp.alerts.runs import evaluation_key, record_reconcile, run_rules, watch_workers
from webapp.campaigns.models import Campaign
from webapp.config.tuning import with_clock, with_settings
from webapp.db import get_db
from webapp.jobs.alerting import send_due
from webapp.models import CallEvent
from webapp.webhooks import endpoints
from webapp.webhooks.models import WebhookEndpoint, WebhookEvent

# Now (calls placed through the simulator are dated by the real clock), at :30: each evaluation has a minute of its own.
T0 = datetime.now(UTC).replace(second=30, microsecond=0) + timedelta(minutes=1)
SECRETS = (API_TOKEN, SECRET_KEY, "hook-pass-s3cret")


def _call(app, created_at, *, called_back=True, **values):
    """A call Exotel accepted at `created_at` (with its terminal callback a minute later unless not `called_back`)."""
    values.setdefault("id", str(uuid.uuid4()))
    values.setdefault("sid", uuid.uuid4().hex)
    values.setdefault("status", "completed")
    call = add_call(app, created_at=created_at, **values)
    if called_back and call.sid:
        with app.app_context(), get_db().transaction() as session:
            session.add(CallEvent(call_id=call.id, call_sid=call.sid, event_type="terminal", status=call.status,
                                  received_at=created_at + timedelta(minutes=1), payload="{}", dedup_key=uuid.uuid4().hex))
    return call


# Each case: (make the condition true at `now`, make it false at `now`).

def callbacks_missing(app, now):
    for _ in range(3):
        _call(app, now - timedelta(minutes=5), called_back=False)


def callbacks_back(app, now):
    """A callback arrives for a call placed after the three: Exotel reaches us again."""
    _call(app, now - timedelta(minutes=1))


def exotel_refusing(app, now):
    """A real refusal: this app's client, with a wrong token, asks the simulator (401)."""
    wrong = make_app(app.config["DATABASE_URL"], app.extensions["settings"].exotel_api_base,
                     EXOTEL_API_TOKEN="wrong-token-for-this-account")
    with_clock(wrong, lambda: now)
    with wrong.app_context():
        token = create_token(get_db(), "refused")
    response = wrong.test_client().post("/api/calls", json={"from": "+919876543210", "app_id": "4242"},
                                        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 502, response.get_data(as_text=True)
    wrong.extensions["database"].engine.dispose()


def exotel_accepting(app, now):
    with app.app_context():
        token = create_token(get_db(), f"ok-{uuid.uuid4().hex[:6]}")
    response = app.test_client().post("/api/calls", json={"from": "+919876543210", "app_id": "4242"},
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_data(as_text=True)


def budget_saturated(app, now):
    with app.app_context():
        for minutes in (3, 2, 1):
            moment = now - timedelta(minutes=minutes)
            signals.record(get_db(), signals.BUDGET_WAIT, signals.minute_key(moment), moment)


def budget_free(app, now):
    """Nothing waits any more: the signals age out of the 5 minutes."""


def answer_rate_drop(app, now):
    hour_ago = now - timedelta(minutes=40)
    for days in range(1, 8):
        for index in range(10):
            _call(app, hour_ago - timedelta(days=days), answered_at=hour_ago - timedelta(days=days) if index < 8 else None)
    for index in range(20):
        _call(app, hour_ago, answered_at=hour_ago if index < 2 else None, status="completed" if index < 2 else "no-answer")


def answer_rate_back(app, now):
    for _ in range(40):
        _call(app, now - timedelta(minutes=30), answered_at=now - timedelta(minutes=30))


def reconcile_stale(app, now):
    with app.app_context():
        signals.record(get_db(), signals.EVALUATED, "an hour ago", now - timedelta(minutes=60))


def reconcile_runs(app, now):
    with app.app_context():
        record_reconcile(get_db(), now)


def calls_unsettled(app, now):
    _call(app, now - timedelta(hours=2), status="unknown", sid=None)


def calls_settled(app, now):
    with app.app_context(), get_db().transaction() as session:
        session.execute(update(Alert.metadata.tables["calls"]).values(status="completed"))


def campaign_paused(app, now):
    with app.app_context(), get_db().transaction() as session:
        session.add(Campaign(name="Renewals", status="paused", status_reason="Exotel refused: Insufficient balance",
                             flow_url="http://my.exotel.com/x/exoml/start_voice/1", caller_id="08047112345",
                             created_by="user:ops@example.com"))


def campaign_resumed(app, now):
    with app.app_context(), get_db().transaction() as session:
        session.execute(update(Campaign).values(status="running", status_reason=None))


def webhook_failing(app, now):
    """An endpoint (its URL carrying a token, which no notification may repeat) failing for two hours."""
    given = endpoints.EndpointInput(url="https://crm.example.com/hooks/hook-pass-s3cret?key=hook-pass-s3cret",
                                    events=("call.completed",), description="CRM")
    with app.app_context():
        endpoint, _secret = endpoints.create(get_db(), given, secret_key=SECRET_KEY, actor=Actor("system"), now=now)
        with get_db().transaction() as session:
            session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id)
                            .values(failing_since=now - timedelta(hours=2)))


def webhook_delivering(app, now):
    with app.app_context(), get_db().transaction() as session:
        session.execute(update(WebhookEndpoint).values(failing_since=None, last_success_at=now))


CASES = {
    "callbacks_missing": (callbacks_missing, callbacks_back),
    "exotel_refusing": (exotel_refusing, exotel_accepting),
    "budget_saturated": (budget_saturated, budget_free),
    "answer_rate_drop": (answer_rate_drop, answer_rate_back),
    "reconcile_stale": (reconcile_stale, reconcile_runs),
    "calls_unsettled": (calls_unsettled, calls_settled),
    "campaign_paused_by_system": (campaign_paused, campaign_resumed),
    "webhook_failing": (webhook_failing, webhook_delivering),
}


def _alerts(app) -> list[Alert]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)).all())


def _evaluate(app, now):
    with_clock(app, lambda: now)
    with app.app_context():
        run_rules(get_db(), app.extensions["settings"], now)
    send_due(app)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_fires_once_holds_and_resolves_once_with_two_notifications(alert_app, receiver, rule):
    app = alert_app
    make, fix = CASES[rule]
    with_clock(app, lambda: T0)
    make(app, T0)
    _evaluate(app, T0)
    fired = _alerts(app)
    assert [(a.rule, a.state) for a in fired] == [(rule, "firing")]
    assert fired[0].notified_at is not None
    assert receiver.titles() == [f"[firing] {rule}"]
    body = receiver.bodies[0]["message"]
    assert fired[0].summary in body and f"https://calls.example.com/alerts/{fired[0].id}" in body

    _evaluate(app, T0 + timedelta(minutes=1))  # still holds: the same alert, no new notification
    assert [(a.id, a.state) for a in _alerts(app)] == [(fired[0].id, "firing")]
    assert len(receiver.bodies) == 1

    cleared = T0 + timedelta(minutes=7) if rule == "budget_saturated" else T0 + timedelta(minutes=2)
    with_clock(app, lambda: cleared)
    fix(app, cleared)
    _evaluate(app, cleared)  # clear, but not for the hold time yet: it holds (no flapping)
    assert [a.state for a in _alerts(app)] == ["firing"]
    _evaluate(app, cleared + timedelta(minutes=4))
    assert [a.state for a in _alerts(app)] == ["firing"]
    _evaluate(app, cleared + timedelta(minutes=5))
    resolved = _alerts(app)
    assert [(a.id, a.state) for a in resolved] == [(fired[0].id, "resolved")]
    assert resolved[0].resolved_at == cleared + timedelta(minutes=5) and resolved[0].resolve_notified_at is not None
    _evaluate(app, cleared + timedelta(minutes=6))
    assert len(_alerts(app)) == 1
    assert receiver.titles() == [f"[firing] {rule}", f"[resolved] {rule}"]
    assert all(secret not in json.dumps(receiver.bodies) for secret in SECRETS)
    assert all(body["_path"] == "/hook" for body in receiver.bodies)


def test_worker_down_fires_and_resolves_once_from_the_web_apps_watch(alert_app, receiver):
    app = alert_app
    seen = {"at": T0 - timedelta(minutes=5)}

    def watch(now):
        with_clock(app, lambda: now)
        with app.app_context():
            watch_workers(get_db(), app.extensions["settings"], now, last_seen=lambda: seen["at"],
                          watching_since=T0 - timedelta(minutes=10))
        send_due(app, ["worker_down"])

    watch(T0)
    watch(T0 + timedelta(minutes=1))
    assert [(a.rule, a.state) for a in _alerts(app)] == [("worker_down", "firing")]
    seen["at"] = T0 + timedelta(minutes=2)
    for minutes in (2, 4, 7, 8):
        seen["at"] = T0 + timedelta(minutes=minutes)
        watch(T0 + timedelta(minutes=minutes))
    assert [(a.rule, a.state) for a in _alerts(app)] == [("worker_down", "resolved")]
    assert receiver.titles() == ["[firing] worker_down", "[resolved] worker_down"]


def test_two_evaluations_of_one_minute_run_once(alert_app):
    calls_unsettled(alert_app, T0)
    with alert_app.app_context():
        first = run_rules(get_db(), alert_app.extensions["settings"], T0)
        second = run_rules(get_db(), alert_app.extensions["settings"], T0 + timedelta(seconds=20))
    assert first is not None and [c.rule for c in first] == ["calls_unsettled"]
    assert second is None


def test_a_shorter_evaluation_interval_runs_once_per_interval(alert_app):
    """ALERT_EVALUATE_SECONDS=5: one evaluation per 5 s interval, whatever the number of tries in it; the default
    keeps the minute's own key."""
    assert evaluation_key(T0, 60) == signals.minute_key(T0)
    with_settings(alert_app, alert_evaluate_seconds=5.0)
    calls_unsettled(alert_app, T0)  # T0, at :30, starts an interval of 5 s
    with alert_app.app_context():
        runs = [run_rules(get_db(), alert_app.extensions["settings"], T0 + timedelta(seconds=seconds))
                for seconds in (0, 4.9, 5, 9.9, 10)]
    assert [None if run is None else [c.rule for c in run] for run in runs] == [
        ["calls_unsettled"], None, [], None, []]  # the later runs hold the alert: no change


def test_the_metric_says_which_rules_fire(alert_app):
    calls_unsettled(alert_app, T0)
    _evaluate(alert_app, T0)
    metrics = alert_app.test_client().get("/metrics").get_data(as_text=True)
    assert 'alerts_firing{rule="calls_unsettled"} 1.0' in metrics
    assert 'alerts_firing{rule="callbacks_missing"} 0.0' in metrics
    calls_settled(alert_app, T0)
    _evaluate(alert_app, T0 + timedelta(minutes=1))
    _evaluate(alert_app, T0 + timedelta(minutes=6))
    assert 'alerts_firing{rule="calls_unsettled"} 0.0' in alert_app.test_client().get("/metrics").get_data(as_text=True)


def test_an_alert_writes_one_webhook_event_as_it_fires_and_one_as_it_resolves(alert_app, receiver):
    app = alert_app
    given = endpoints.EndpointInput(url="https://crm.example.com/hooks", events=("alert.firing", "alert.resolved"))
    with app.app_context():
        endpoints.create(get_db(), given, secret_key=SECRET_KEY, actor=Actor("system"), now=T0)

    def outbox():
        with app.app_context(), get_db().transaction(write=False) as session:
            return [(e.type, e.dedupe_key, json.loads(e.payload)["data"])
                    for e in session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]

    with_clock(app, lambda: T0)
    campaign_paused(app, T0)
    _evaluate(app, T0)
    _evaluate(app, T0 + timedelta(minutes=1))  # holds: no second event
    [alert] = _alerts(app)
    [(kind, key, data)] = outbox()
    assert (kind, key) == ("alert.firing", f"alert.firing:{alert.id}")
    assert data["rule"] == "campaign_paused_by_system" and data["state"] == "firing" and data["id"] == alert.id

    campaign_resumed(app, T0 + timedelta(minutes=2))
    for minutes in (2, 7, 8):
        _evaluate(app, T0 + timedelta(minutes=minutes))
    assert [(kind, key, data["state"]) for kind, key, data in outbox()] == [
        ("alert.firing", f"alert.firing:{alert.id}", "firing"),
        ("alert.resolved", f"alert.resolved:{alert.id}", "resolved"),
    ]
