"""The views of migration 0002 on known data, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import command
from known_data import CALLS, DAILY, EVENT_COUNTS, RING_SECONDS, UNSETTLED, call_id
from sqlalchemy import inspect, text

from webapp.cli import alembic_config


def _rows(db, sql: str):
    with db.engine.connect() as connection:
        return connection.execute(text(sql)).mappings().all()


def test_call_report_has_one_row_per_call_with_the_contract_columns(known):
    rows = {row["id"]: row for row in _rows(known, "SELECT * FROM call_report")}
    assert len(rows) == len(CALLS)
    contract = {
        "id", "sid", "from_number", "caller_id", "flow_url", "call_type", "time_limit", "time_out", "custom_field",
        "status", "error_code", "error_message", "created_at", "placed_at", "answered_at", "ended_at",
        "conversation_duration", "recording_url", "answered_by", "updated_at",
        "answered", "final", "ring_seconds", "event_count",
    }
    assert set(next(iter(rows.values())).keys()) == contract
    for key in range(1, len(CALLS) + 1):
        row = rows[call_id(key)]
        assert row["event_count"] == EVENT_COUNTS[key], key
        assert row["ring_seconds"] == RING_SECONDS.get(key), key
        assert bool(row["final"]) is (key not in UNSETTLED), key
        assert bool(row["answered"]) is (key in RING_SECONDS), key
        assert row["conversation_duration"] == CALLS[key - 1]["conversation_duration"]


def test_call_report_booleans_are_native_on_postgresql_and_0_1_on_sqlite(known):
    row = _rows(known, f"SELECT answered, final FROM call_report WHERE id = '{call_id(1)}'")[0]
    if known.dialect == "postgresql":
        assert (row["answered"], row["final"]) == (True, True)
    else:
        assert (row["answered"], row["final"]) == (1, 1)
    # The portable spelling works on both.
    assert _rows(known, "SELECT COUNT(*) AS n FROM call_report WHERE answered AND NOT final")[0]["n"] == 1


def test_ring_seconds_keep_milliseconds_identically(known):
    row = _rows(known, f"SELECT ring_seconds FROM call_report WHERE id = '{call_id(2)}'")[0]
    assert row["ring_seconds"] == 8.123  # 09:30:09.123456 - 09:30:01: microseconds dropped on both


def test_daily_call_stats_exact(known):
    rows = _rows(known, "SELECT * FROM daily_call_stats ORDER BY day")
    assert [str(row["day"]) for row in rows] == list(DAILY)
    columns = ("calls", "placed", "answered", "completed", "busy", "no_answer", "failed", "rejected",
               "answer_rate", "avg_conversation_seconds")
    for row in rows:
        assert tuple(row[name] for name in columns) == DAILY[str(row["day"])], row["day"]
    assert list(rows[0].keys()) == ["day", *columns]


def test_daily_call_stats_filters_by_day_on_both(known):
    rows = _rows(known, "SELECT day, calls FROM daily_call_stats WHERE day >= '2024-05-02' AND day < '2024-05-05' ORDER BY day")
    assert [(str(row["day"]), row["calls"]) for row in rows] == [("2024-05-02", 6), ("2024-05-04", 1)]


def test_downgrade_drops_the_views_and_upgrade_restores_them(app, db):
    with app.app_context():
        config = alembic_config()
        command.downgrade(config, "0001")
        names = inspect(db.engine).get_view_names()
        indexes = {index["name"] for index in inspect(db.engine).get_indexes("calls")}
        tables = set(inspect(db.engine).get_table_names())
        command.upgrade(config, "head")
        assert not {"call_report", "daily_call_stats"} & set(names)
        assert "ix_calls_updated_at" not in indexes
        assert not {"report_hours", "report_refresh"} & tables
        assert {"call_report", "daily_call_stats"} <= set(inspect(db.engine).get_view_names())


def test_daily_call_stats_by_day_is_answered_from_its_index_on_postgresql(known):
    """The view's day filter reaches ix_calls_utc_day, which holds every column the view reads (index only)."""
    if known.dialect != "postgresql":
        with known.engine.connect() as connection:
            names = {row[0] for row in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
        assert "ix_calls_utc_day" not in names  # SQLite's reflection cannot read expression indexes
        return
    with known.engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))  # a handful of rows: make the planner show its options
        plan = "\n".join(row[0] for row in connection.execute(text(
            "EXPLAIN SELECT * FROM daily_call_stats WHERE day >= '2024-05-01' AND day <= '2024-05-30'"
        )))
    assert "Index Only Scan using ix_calls_utc_day" in plan, plan
