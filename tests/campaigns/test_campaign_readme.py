"""The README's campaign SQL, run on campaigns the dispatcher really ran, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from webapp.campaigns import store, suppressions
from webapp.campaigns.dispatch import dispatch, settle
from webapp.campaigns.spec import parse_campaign
from webapp.models import Call

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"<!-- campaign-example: ([\w-]+) -->\s*```sql\n(.*?)```", re.S)
T0 = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)  # 10:00 in India

EXPECTED = {
    "answer-rate-by-campaign": [("Reminders", 3, 4, 2, 2 / 3), ("Survey", 2, 0, 0, None), ("Follow-up", 1, 0, 0, None)],
    "still-waiting": [
        ("Survey", 1, "+919876500011", 0, "campaign paused"),
        ("Follow-up", 1, "+919876500021", 0, "not called yet"),
    ],
    "attempts-per-completed-contact": [("Reminders", 1, 1), ("Reminders", 2, 1)],
}


def examples():
    return EXAMPLE.findall(README.read_text())


def test_the_readme_has_the_campaign_examples():
    assert {name for name, _sql in examples()} == set(EXPECTED)


def _campaign(db, name, numbers, **fields):
    spec = parse_campaign({"name": name, "app_id": "1", "caller_id": "08047112345", "calls_per_minute": 60, **fields},
                          account_sid="acme", default_caller_id=None, budget=200)
    return store.create_campaign(db, spec, [(i, n, None) for i, n in enumerate(numbers, 1)], created_by="user:a@b.c",
                                 now=T0).campaign


def _end(db, call_id, status, at):
    with db.transaction() as session:
        call = session.get(Call, call_id)
        call.status, call.ended_at = status, at
        if status == "completed":
            call.answered_at = at - timedelta(seconds=20)


@pytest.fixture
def ran(app):
    """Reminders: completed at once, completed on its retry, no-answer (not retried). Survey: paused, one number
    suppressed. Follow-up: created after the dispatcher's last round, not called yet."""
    from webapp.db import get_db

    with app.app_context():
        db = get_db()
        _campaign(db, "Reminders", ["+919876500001", "+919876500002", "+919876500003"],
                  retries={"count": 1, "on": ["busy"], "delay_minutes": 1})
        survey = _campaign(db, "Survey", ["+919876500011", "+919876500012"])
        store.pause(db, survey.id, now=T0)
        suppressions.add(db, ["+919876500012"], reason="asked", created_by="user:a@b.c", now=T0)
        claimed = [c for second in range(3) for c in dispatch(db, T0 + timedelta(seconds=second))]
        assert len(claimed) == 3
        _end(db, claimed[0].call_id, "completed", T0 + timedelta(seconds=40))
        _end(db, claimed[1].call_id, "busy", T0 + timedelta(seconds=40))
        _end(db, claimed[2].call_id, "no-answer", T0 + timedelta(seconds=40))
        settle(db, T0 + timedelta(seconds=41))
        (retry,) = dispatch(db, T0 + timedelta(minutes=2))  # the busy contact, a minute after its end
        _end(db, retry.call_id, "completed", T0 + timedelta(minutes=3))
        settle(db, T0 + timedelta(minutes=3))
        _campaign(db, "Follow-up", ["+919876500021"])
        yield db


def _plain(value):
    return float(value) if isinstance(value, Decimal) else value


@pytest.mark.parametrize("name, sql", examples(), ids=[name for name, _ in examples()])
def test_campaign_example(ran, name, sql):
    with ran.engine.connect() as connection:
        cursor = connection.connection.cursor()  # the bare driver, as sqlite3 or psql would send it
        cursor.execute(sql)
        rows = [tuple(_plain(value) for value in row) for row in cursor.fetchall()]
        cursor.close()
    expected = [tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in EXPECTED[name]]
    assert rows == expected
