"""Delivery through Apprise: e-mail to a real SMTP server, a failing target retried with backoff (and only it),
two evaluations racing fire once (PostgreSQL), `alerts test`, and no secret in a notification or a log line."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.apps import make_app
from tests.support.calls import add_call
from tests.support.credentials import API_TOKEN, SECRET_KEY
from tests.support.processes import free_port
from tests.support.receivers import JsonReceiver, SmtpReceiver
from webapp.alerts import Alert
from webapp.alerts.rules import BY_NAME, Finding
from webapp.alerts.runs import run_rules
from webapp.alerts.state import fire
from webapp.config.tuning import with_clock
from webapp.db import get_db
from webapp.jobs.alerting import send_due

NOW = datetime.now(UTC).replace(second=30, microsecond=0)
MAIL_PASSWORD = "mail-pass-s3cret"


def _unsettled(app):
    add_call(app, created_at=NOW - timedelta(hours=2), status="unknown")


def _alerts(app):
    with app.app_context(), get_db().transaction(write=False) as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)).all())


def _evaluate(app, now):
    with_clock(app, lambda: now)
    with app.app_context():
        run_rules(get_db(), app.extensions["settings"], now)


def test_an_alert_is_mailed_through_a_real_smtp_server(database_url, sim, caplog):
    smtp = SmtpReceiver("alerts", MAIL_PASSWORD)
    url = (f"mailto://alerts:{MAIL_PASSWORD}@127.0.0.1:{smtp.port}?to=ops@example.com&from=alerts@example.com"
           "&mode=insecure")
    app = make_app(database_url, sim.base_url, ALERT_URLS=url, PUBLIC_BASE_URL="https://calls.example.com")
    try:
        caplog.set_level(logging.DEBUG)
        _unsettled(app)
        _evaluate(app, NOW)
        assert send_due(app) == 0
        assert len(smtp.messages) == 1
        mail = smtp.messages[0]
        assert "[firing] calls_unsettled" in mail["Subject"] and mail["To"] == "ops@example.com"
        text = mail.get_body(("plain", "html")).get_content()
        assert f"https://calls.example.com/alerts/{_alerts(app)[0].id}" in text and "/calls/" in text
        everything = str(mail) + caplog.text
        assert MAIL_PASSWORD not in everything and API_TOKEN not in everything and SECRET_KEY not in everything
    finally:
        smtp.stop()
        app.extensions["database"].engine.dispose()


def test_a_failing_target_is_retried_with_backoff_and_only_it(database_url, sim, receiver, caplog):
    down = free_port()
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL="https://calls.example.com",
                   ALERT_URLS=f"{receiver.url(userinfo='u:hook-pass-s3cret')}, json://u:down-pass-s3cret@127.0.0.1:{down}/x")
    try:
        _unsettled(app)
        _evaluate(app, NOW)  # the evaluation commits the alert whatever the targets do: it sends nothing itself
        [alert] = _alerts(app)
        assert alert.state == "firing" and alert.notified_at is None and receiver.bodies == []

        assert send_due(app) == 1
        [alert] = _alerts(app)
        assert len(receiver.bodies) == 1 and alert.notified_at is None and alert.notify_attempts == 1
        assert alert.next_notify_at == NOW + timedelta(seconds=30)
        assert alert.notify_error == f"not delivered to json://127.0.0.1:{down}"

        with_clock(app, lambda: NOW + timedelta(seconds=20))  # backing off: nothing is sent
        assert send_due(app) == 0 and len(receiver.bodies) == 1
        with_clock(app, lambda: NOW + timedelta(seconds=31))  # retried, and failing again: twice as long
        assert send_due(app) == 1
        [alert] = _alerts(app)
        assert alert.notify_attempts == 2 and alert.next_notify_at == NOW + timedelta(seconds=91)
        assert len(receiver.bodies) == 1  # the target that took it is not sent it again

        late = JsonReceiver(port=down)  # the target comes back
        try:
            with_clock(app, lambda: NOW + timedelta(seconds=92))
            assert send_due(app) == 0
            [alert] = _alerts(app)
            assert alert.notified_at is not None and alert.notify_error is None and len(late.bodies) == 1
            assert late.titles() == ["[firing] calls_unsettled"] and len(receiver.bodies) == 1
        finally:
            late.stop()
        for secret in ("hook-pass-s3cret", "down-pass-s3cret", API_TOKEN, SECRET_KEY):
            assert secret not in caplog.text
    finally:
        app.extensions["database"].engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_evaluations_racing_fire_one_alert(app):
    """Two sessions find no firing alert and insert one each: the partial unique index lets one in. (On SQLite one
    writer at a time: the second evaluation begins after the first committed and sees its alert.)"""
    rule = BY_NAME["calls_unsettled"]
    barrier = threading.Barrier(2)
    fired: list[bool] = []

    def evaluate() -> None:
        with app.app_context(), get_db().transaction() as session:
            session.scalars(select(Alert).where(Alert.rule == rule.name, Alert.state == "firing")).all()
            barrier.wait(10)
            fired.append(fire(session, rule, Finding("stuck calls"), NOW) is not None)

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(fired) == [False, True]
    assert [(a.rule, a.state) for a in _alerts(app)] == [("calls_unsettled", "firing")]


def test_alerts_test_says_per_target_whether_it_was_delivered(database_url, sim, receiver):
    down = free_port()
    app = make_app(database_url, sim.base_url, ALERT_URLS=f"{receiver.url(userinfo='u:hook-pass-s3cret')} "
                   f"json://u:down-pass-s3cret@127.0.0.1:{down}/x")
    try:
        result = app.test_cli_runner().invoke(args=["alerts", "test"])
        assert result.exit_code == 1
        assert result.output.splitlines() == [f"1. json://127.0.0.1:{receiver.port}: delivered",
                                              f"2. json://127.0.0.1:{down}: NOT delivered"]
        assert receiver.titles() == ["[test] exotel-calls alerts"]
        assert "s3cret" not in result.output
    finally:
        app.extensions["database"].engine.dispose()


@pytest.mark.sqlite_only
def test_a_bad_alert_url_stops_start_up_naming_the_variable_not_the_secret(database_url, sim):
    from webapp.config import ConfigError

    with pytest.raises(ConfigError) as refused:
        make_app(database_url, sim.base_url, ALERT_URLS="json://127.0.0.1/ok nosuchthing://user:bad-s3cret@host/x")
    message = str(refused.value)
    assert message.startswith("configuration error: ALERT_URLS: URL 2 (nosuchthing://...)")
    assert "bad-s3cret" not in message
