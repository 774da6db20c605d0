"""Synthetic calls: a realistic mix, consistent rows, the same data on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from webapp.calls.seeding import generate
from webapp.calls.status import KNOWN

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_generate_is_repeatable_and_consistent():
    first = list(generate(2000, days=90, seed=7, now=NOW))
    assert first == list(generate(2000, days=90, seed=7, now=NOW))
    statuses = [call[9] for call, _events in first]
    assert set(statuses) <= KNOWN
    assert 0.45 < statuses.count("completed") / len(statuses) < 0.65
    for call, events in first:
        sid, status, created, placed, answered = call[1], call[9], call[12], call[13], call[14]
        assert "2024-03-04" <= created[:10] <= "2024-06-01"
        assert (sid is None) == (status in ("pending", "rejected", "unknown"))
        assert (answered is not None) == (status in ("completed", "in-progress"))
        assert placed is None or placed > created
        assert all(event[0] == call[0] and event[1] == sid for event in events)
    events = sum(len(events) for _call, events in first)
    assert 1.8 < events / len(first) < 2.2  # the benchmark's 1 M calls / 2 M events


def test_seed_command_fills_both_databases_alike(app, runner, db):
    result = runner.invoke(args=["calls", "seed", "300", "--days", "30", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "seeded 300 calls" in result.output
    with db.engine.connect() as connection:
        calls = connection.execute(text("SELECT COUNT(*) FROM calls")).scalar()
        daily = connection.execute(text("SELECT SUM(calls), SUM(answered) FROM daily_call_stats")).one()
        report = connection.execute(text("SELECT SUM(event_count), SUM(CASE WHEN answered THEN 1 ELSE 0 END) FROM call_report")).one()
        events = connection.execute(text("SELECT COUNT(*) FROM call_events")).scalar()
    assert calls == daily[0] == 300
    assert daily[1] == report[1]
    assert report[0] == events
