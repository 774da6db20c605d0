"""A `completed` call counts as answered, even when no callback said when (Exotel's plain callback):
in call_report, daily_call_stats and the report pages alike; migration 0003 up and down."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from tests.hardening.support import new_call
from tests.support.calls import callback_path
from webapp.reporting.report import ReportFilters, build_report

# Exotel's plain StatusCallback (the call asked for no status_callback_events): no EventType,
# no answer time, no duration.
PLAIN_COMPLETED = {"Status": "completed", "DateUpdated": "2026-11-27 14:01:30", "RecordingUrl": ""}


def _answered(db, call_id: str) -> tuple:
    with db.engine.connect() as connection:
        report = connection.execute(
            text("SELECT answered, answered_at, ring_seconds FROM call_report WHERE id = :id"), {"id": call_id}
        ).one()
        daily = connection.execute(
            text("SELECT SUM(answered), SUM(placed), MAX(answer_rate) FROM daily_call_stats")
        ).one()
    return bool(report[0]), report[1], report[2], tuple(daily)


def _calls_completed_by_plain_callbacks(app, client) -> list[str]:
    answered = new_call(app)
    unanswered = new_call(app)
    for call, status in ((answered, "completed"), (unanswered, "no-answer")):
        response = client.post(callback_path(call.id), data={**PLAIN_COMPLETED, "CallSid": call.sid, "Status": status})
        assert response.get_json() == {"result": "stored"}
    return [answered.id, unanswered.id]


def test_a_completed_call_without_an_answer_time_counts_as_answered(app, client, db):
    answered, unanswered = _calls_completed_by_plain_callbacks(app, client)
    is_answered, answered_at, ring_seconds, daily = _answered(db, answered)
    assert (is_answered, answered_at, ring_seconds) == (True, None, None)  # no answer time is made up
    assert _answered(db, unanswered)[0] is False
    assert daily == (1, 2, 0.5)
    today = datetime.now(UTC).date()
    report = build_report(db.engine, ReportFilters(today, today))
    assert (report.total.answered, report.total.placed, report.total.answer_rate) == (1, 2, 0.5)


def test_migration_0003_changes_the_rule_and_its_downgrade_restores_it(app, client, db, runner):
    answered, _ = _calls_completed_by_plain_callbacks(app, client)
    today = datetime.now(UTC).date()
    build_report(db.engine, ReportFilters(today, today))  # fills the report cache by the current rule
    try:
        result = runner.invoke(args=["db", "downgrade", "0002"])
        assert result.exit_code == 0, result.output
        assert _answered(db, answered)[0] is False and _answered(db, answered)[3][0] == 0
    finally:
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
    assert _answered(db, answered)[0] is True and _answered(db, answered)[3][0] == 1
    assert build_report(db.engine, ReportFilters(today, today)).total.answered == 1


def test_an_old_report_cache_is_rebuilt_by_the_new_rule(app, client, db, runner):
    answered, _ = _calls_completed_by_plain_callbacks(app, client)
    day = datetime.now(UTC).date()
    try:
        assert runner.invoke(args=["db", "downgrade", "0002"]).exit_code == 0
        with db.engine.begin() as connection:  # a cache 0002's rule filled, marked fresh
            connection.execute(text("INSERT INTO report_refresh (id, refreshed_at) VALUES (1, :now)"),
                               {"now": datetime.now(UTC).isoformat(sep=" ")})
    finally:
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert build_report(db.engine, ReportFilters(day, day)).total.answered == 1
