"""/metrics carries the database's figures the alerting rules read, counted as of the app's clock, on both databases."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError

from tests.support.apps import make_app
from tests.support.calls import add_call
from webapp.campaigns.models import Campaign
from webapp.campaigns.store import NOT_STARTED
from webapp.config.tuning import with_clock, with_settings
from webapp.db import get_db
from webapp.db.brief import brief_read
from webapp.jobs.tables import WorkerHeartbeat
from webapp.models import CallEvent

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FIGURES = ("worker_heartbeat_age_seconds", "calls_unsettled", "calls_without_callback", "calls_placed_last_hour",
           "calls_answered_last_hour", "campaigns_paused_by_system")


def scrape(client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {sample.name: sample.value for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples if not sample.labels}


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def add_event(app, call, event_type: str) -> None:
    with app.app_context(), get_db().transaction() as session:
        session.add(CallEvent(call_id=call.id, call_sid=call.sid, event_type=event_type, status="completed",
                              received_at=NOW, payload="{}", dedup_key=f"{call.id}:{event_type}"))


def add_campaign(app, status: str, reason: str | None) -> None:
    with app.app_context(), get_db().transaction() as session:
        session.add(Campaign(name=f"{status} {reason}", status=status, status_reason=reason, flow_url="http://x/flow",
                             caller_id="08047112345", created_by="user:ops@example.com"))


def accepted(app, minutes: float, *, sid: str, **values):
    """A call Exotel accepted `minutes` before NOW."""
    values.setdefault("status", "in-progress")
    return add_call(app, sid=sid, created_at=ago(minutes=minutes), placed_at=ago(minutes=minutes),
                    updated_at=ago(minutes=minutes), **values)


def test_no_worker_and_no_calls(app, client):
    with_clock(app, lambda: NOW)
    figures = scrape(client)
    assert figures["worker_heartbeat_age_seconds"] == math.inf
    assert [figures[name] for name in FIGURES[1:]] == [0, 0, 0, 0, 0]
    assert figures["database_figures_up"] == 1
    assert figures["reconcile_interval_seconds"] == 300
    with_settings(app, reconcile_every_minutes=0)
    assert scrape(client)["reconcile_interval_seconds"] == 0


def test_figures_count_as_the_rules_mean_them(app, client):
    with_clock(app, lambda: NOW)
    with app.app_context(), get_db().transaction() as session:
        session.add(WorkerHeartbeat(worker_id="a:1:1", host="a", pid=1, started_at=ago(hours=1), last_seen=ago(seconds=200)))
        session.add(WorkerHeartbeat(worker_id="b:2:1", host="b", pid=2, started_at=ago(hours=1), last_seen=ago(seconds=40)))

    # Without a final status more than an hour after creation: unknown and stuck calls, not young or final ones.
    add_call(app, status="unknown", created_at=ago(minutes=90))
    add_call(app, status="pending", created_at=ago(hours=30))
    add_call(app, status="ringing", created_at=ago(minutes=50))
    add_call(app, status="completed", created_at=ago(minutes=90))
    add_call(app, status="rejected", created_at=ago(minutes=90))

    # Accepted 3 to 60 minutes ago without a callback: reconciliation's findings are not callbacks.
    accepted(app, 5, sid="S1")
    settled = accepted(app, 20, sid="S2", status="completed")
    add_event(app, settled, "reconcile")
    heard = accepted(app, 10, sid="S3", status="completed", answered_at=ago(minutes=9))
    add_event(app, heard, "terminal")
    accepted(app, 2, sid="S4")  # still within its grace
    accepted(app, 70, sid="S5", status="completed")  # before the last hour
    add_call(app, status="rejected", created_at=ago(minutes=30))  # never accepted: no sid

    add_campaign(app, "paused", "Exotel refused: Insufficient balance")
    add_campaign(app, "paused", None)  # a person's pause
    add_campaign(app, "paused", NOT_STARTED)
    add_campaign(app, "running", None)

    figures = scrape(client)
    assert figures["worker_heartbeat_age_seconds"] == 40
    assert figures["calls_unsettled"] == 2
    assert figures["calls_without_callback"] == 2  # S1 and S2
    assert figures["calls_placed_last_hour"] == 4  # S1 to S4
    assert figures["calls_answered_last_hour"] == 1
    assert figures["campaigns_paused_by_system"] == 1

    # An hour on: S1 to S4 are out of the window; the ringing call, S1 and S4 are now past their hour unsettled.
    with_clock(app, lambda: NOW + timedelta(hours=1))
    figures = scrape(client)
    assert figures["calls_without_callback"] == 0 and figures["calls_placed_last_hour"] == 0
    assert figures["calls_unsettled"] == 5
    assert figures["worker_heartbeat_age_seconds"] == 3640


def test_a_database_without_the_tables_leaves_the_figures_out(sim, tmp_path):
    """A database the figures cannot be read from (here: not migrated) costs the figures, never the scrape."""
    app = make_app(f"sqlite:///{tmp_path / 'empty.db'}", sim.base_url)
    try:
        figures = scrape(app.test_client())
    finally:
        app.extensions["database"].engine.dispose()
    assert figures["database_figures_up"] == 0
    assert not set(FIGURES) & set(figures)
    assert "exotel_calls_placed_total" in app.test_client().get("/metrics").get_data(as_text=True)


def test_brief_read_stops_a_slow_statement(app):
    """The figures' transaction gives up on a statement that runs past its time, on either database."""
    with app.app_context():
        db = get_db()
        slow = ("SELECT pg_sleep(30)" if db.dialect == "postgresql" else
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) SELECT count(*) FROM n")
        with pytest.raises(OperationalError), brief_read(db, 0.2) as session:
            session.connection().exec_driver_sql(slow)
        # The connection goes back to the pool fit for use: the next statement has no deadline left over.
        with db.transaction(write=False) as session:
            assert session.connection().exec_driver_sql("SELECT 1").scalar() == 1
