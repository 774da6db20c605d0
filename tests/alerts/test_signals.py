"""What the rules read besides the other tables is recorded where it happens: the Exotel budget's refusals, and a
refusal of a number on the DND list is not a refusal of the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from webapp import signals
from webapp.accounts import create_token
from webapp.alerts.rules import Context
from webapp.alerts.rules.exotel import exotel_refusing
from webapp.db import get_db
from webapp.signals import AlertSignal

NOW = datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC)


def test_a_spent_budget_is_recorded_once_a_minute(database_url, sim):
    from tests.support.apps import make_app

    # The budget counts on the app's clock: years ahead, no other test's requests are in its minute.
    moment = datetime.now(UTC) + timedelta(days=3650)
    app = make_app(database_url, sim.base_url, EXOTEL_REQUESTS_PER_MINUTE=1, EXOTEL_BUDGET_WAIT=0, CLOCK=lambda: moment)
    try:
        with app.app_context():
            token = create_token(get_db(), "budget")
        client = app.test_client()
        answers = [client.post("/api/calls", json={"from": f"+91987654321{i}", "app_id": "7"},
                               headers={"Authorization": f"Bearer {token}"}).status_code for i in range(3)]
        assert answers[0] == 201 and all(answer != 201 for answer in answers[1:]), answers  # the budget of one is spent
        with app.app_context(), get_db().transaction(write=False) as session:
            kinds = session.scalars(select(AlertSignal.kind).order_by(AlertSignal.id)).all()
        assert kinds.count(signals.BUDGET_REFUSED) == 1 and signals.EXOTEL_OK in kinds
    finally:
        app.extensions["database"].engine.dispose()


def test_a_dnd_refusal_is_not_the_account_refused(app):
    with app.app_context():
        db = get_db()
        signals.record(db, signals.EXOTEL_REFUSED, "403:1", NOW, "403 The number is registered on DND (NDNC)")
        settings = app.extensions["settings"]
        with db.transaction(write=False) as session:
            assert exotel_refusing(session, Context(settings, NOW)) is None
        signals.record(db, signals.EXOTEL_REFUSED, "402:1", NOW, "402 Insufficient balance")
        with db.transaction(write=False) as session:
            finding = exotel_refusing(session, Context(settings, NOW))
        assert finding is not None and "402" in finding.summary and "balance" in finding.summary
