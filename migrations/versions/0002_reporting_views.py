"""Reporting: the views `call_report` and `daily_call_stats`, and the report pages' cache.

The SQL is spelled out here, per dialect, rather than imported from the app, so
this revision never changes under later code. The two dialects give the same
values:

- booleans (`answered`, `final`): `boolean` on PostgreSQL, integer 0/1 on
  SQLite (SQLite has no boolean type); `WHERE answered` works on both.
- `ring_seconds`: seconds from `placed_at` to `answered_at`, a float with
  millisecond precision (SQLite's date functions read milliseconds only, so
  PostgreSQL truncates both times to milliseconds too).
- `day`: the UTC date of `created_at`; a `date` on PostgreSQL, 'YYYY-MM-DD'
  text on SQLite (where `created_at` is stored as naive UTC text).
- `answer_rate`, `avg_conversation_seconds`: double precision, computed as an
  exact integer sum divided once, so both databases round alike.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""
from alembic import op
import sqlalchemy as sa

from webapp.db import migrating

UTC = sa.DateTime(timezone=True)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FINAL = "('completed', 'busy', 'no-answer', 'failed', 'canceled', 'rejected')"

CALL_COLUMNS = """
    c.id, c.sid, c.from_number, c.caller_id, c.flow_url, c.call_type,
    c.time_limit, c.time_out, c.custom_field, c.status, c.error_code,
    c.error_message, c.created_at, c.placed_at, c.answered_at, c.ended_at,
    c.conversation_duration, c.recording_url, c.answered_by, c.updated_at"""

RING_SECONDS = {
    "sqlite": "ROUND((julianday(c.answered_at) - julianday(c.placed_at)) * 86400.0, 3)",
    "postgresql": (
        "CAST(ROUND(EXTRACT(EPOCH FROM date_trunc('milliseconds', c.answered_at)"
        " - date_trunc('milliseconds', c.placed_at)), 3) AS double precision)"
    ),
}

DAY = {
    "sqlite": "substr(created_at, 1, 10)",
    "postgresql": "CAST(created_at AT TIME ZONE 'UTC' AS date)",
}

REAL = {"sqlite": "REAL", "postgresql": "double precision"}


def call_report_sql(dialect: str) -> str:
    return f"""
CREATE VIEW call_report AS
SELECT {CALL_COLUMNS},
    (c.answered_at IS NOT NULL) AS answered,
    (c.status IN {FINAL}) AS final,
    {RING_SECONDS[dialect]} AS ring_seconds,
    (SELECT COUNT(*) FROM call_events AS e WHERE e.call_id = c.id) AS event_count
FROM calls AS c"""


def daily_call_stats_sql(dialect: str) -> str:
    real = REAL[dialect]
    return f"""
CREATE VIEW daily_call_stats AS
SELECT
    {DAY[dialect]} AS day,
    COUNT(*) AS calls,
    SUM(CASE WHEN status NOT IN ('pending', 'rejected')
              AND NOT (status = 'unknown' AND sid IS NULL) THEN 1 ELSE 0 END) AS placed,
    SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered,
    SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
    SUM(CASE WHEN status = 'busy' THEN 1 ELSE 0 END) AS busy,
    SUM(CASE WHEN status = 'no-answer' THEN 1 ELSE 0 END) AS no_answer,
    SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
    CAST(SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS {real})
        / NULLIF(SUM(CASE WHEN status NOT IN ('pending', 'rejected')
                          AND NOT (status = 'unknown' AND sid IS NULL) THEN 1 ELSE 0 END), 0)
        AS answer_rate,
    CAST(SUM(CASE WHEN answered_at IS NOT NULL THEN conversation_duration END) AS {real})
        / NULLIF(COUNT(CASE WHEN answered_at IS NOT NULL THEN conversation_duration END), 0)
        AS avg_conversation_seconds
FROM calls
GROUP BY {DAY[dialect]}"""


# The report pages' cache (webapp/reporting.py): per UTC hour, ExoPhone and flow, the
# sums of call_report's figures, refreshed from the calls changed since last time.
COUNT_COLUMNS = [
    "calls", "placed", "answered", "completed", "busy", "no_answer", "failed", "canceled", "rejected",
    "conversation_seconds", "conversations",
]
BUCKETS = [f"d{i}" for i in range(7)] + [f"r{i}" for i in range(7)]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    migrating.create_index("ix_calls_updated_at", "calls", ["updated_at"], unique=False)  # CONCURRENTLY on PostgreSQL
    op.create_table(
        "report_hours",
        sa.Column("hour_start", UTC, nullable=False),
        sa.Column("caller_id", sa.String(length=32), nullable=False),
        sa.Column("flow_url", sa.Text(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNT_COLUMNS],
        sa.Column("ring_seconds", sa.Float(), nullable=False),
        sa.Column("rings", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in BUCKETS],
        sa.PrimaryKeyConstraint("hour_start", "caller_id", "flow_url", name=op.f("pk_report_hours")),
    )
    op.create_table(
        "report_refresh",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_refresh")),
    )
    op.execute(call_report_sql(dialect))
    op.execute(daily_call_stats_sql(dialect))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS daily_call_stats")
    op.execute("DROP VIEW IF EXISTS call_report")
    op.drop_table("report_refresh")
    op.drop_table("report_hours")
    migrating.drop_index("ix_calls_updated_at", "calls")
