"""Report cache per UTC quarter hour; an index for `daily_call_stats`'s day.

The report pages show days and hours in the viewer's zone. Every zone's
offset from UTC is a whole number of quarter hours (India +05:30, Nepal
+05:45), so the cache `report_hours` becomes `report_quarters`, keyed by the
UTC quarter hour a call was created in, with `report_quarter_totals` beside it
(the same sums over every ExoPhone and flow, what an unfiltered report reads);
the app rebuilds both on the next report (`report_refresh` is emptied).

`daily_call_stats` groups by the UTC day of `created_at`; a filter on `day`
reaches the table through that expression, so an index on the same expression
lets a 30-day query read 30 days of calls instead of all of them. On
PostgreSQL the index also carries every column the view reads (created_at,
status, sid, answered_at, conversation_duration), so the query is answered by
an index-only scan (30 days of 1 M calls: 368 ms -> 103 ms, EXPLAIN ANALYZE).
SQLite is left as it is: its reflection cannot read an expression index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:30:00
"""
from alembic import op
import sqlalchemy as sa

from webapp.db import migrating

UTC = sa.DateTime(timezone=True)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COUNT_COLUMNS = [
    "calls", "placed", "answered", "completed", "busy", "no_answer", "failed", "canceled", "rejected",
    "conversation_seconds", "conversations",
]
BUCKETS = [f"d{i}" for i in range(7)] + [f"r{i}" for i in range(7)]

# The expression daily_call_stats groups by (migration 0002), word for word.
DAY_INDEX = (
    "ON calls ((CAST(created_at AT TIME ZONE 'UTC' AS date))) "
    "INCLUDE (created_at, status, sid, answered_at, conversation_duration)"
)


def _cache_table(name: str, key: str, *, per_flow: bool = True) -> None:
    flow_columns = [
        sa.Column("caller_id", sa.String(length=32), nullable=False),
        sa.Column("flow_url", sa.Text(), nullable=False),
    ] if per_flow else []
    op.create_table(
        name,
        sa.Column(key, UTC, nullable=False),
        *flow_columns,
        *[sa.Column(column, sa.Integer(), nullable=False) for column in COUNT_COLUMNS],
        sa.Column("ring_seconds", sa.Float(), nullable=False),
        sa.Column("rings", sa.Integer(), nullable=False),
        *[sa.Column(column, sa.Integer(), nullable=False) for column in BUCKETS],
        sa.PrimaryKeyConstraint(key, *(["caller_id", "flow_url"] if per_flow else []), name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_table("report_hours")
    _cache_table("report_quarters", "quarter_start")
    _cache_table("report_quarter_totals", "quarter_start", per_flow=False)
    op.execute("DELETE FROM report_refresh")
    if dialect == "postgresql":
        migrating.build_index("ix_calls_utc_day", DAY_INDEX)  # CONCURRENTLY: writes to calls go on


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        migrating.drop_index("ix_calls_utc_day", "calls")
    op.drop_table("report_quarter_totals")
    op.drop_table("report_quarters")
    _cache_table("report_hours", "hour_start")
    op.execute("DELETE FROM report_refresh")
