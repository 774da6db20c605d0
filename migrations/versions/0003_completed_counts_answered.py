"""Reporting: a `completed` call counts as answered, even when no answer time is known.

Exotel's plain StatusCallback (no EventType) reports `completed` without an
answer time; `completed` means the customer answered, so `call_report.answered`
and `daily_call_stats.answered` (and `answer_rate`, `avg_conversation_seconds`)
now read `answered_at IS NOT NULL OR status = 'completed'`. `answered_at` is
left null when unknown (never invented), so `ring_seconds` stays null for such
calls. The report cache is emptied, so the pages rebuild it by the same rule.

The views' SQL is spelled out here, as in 0002, so this revision never changes
under later code; the downgrade restores 0002's views exactly.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FINAL = "('completed', 'busy', 'no-answer', 'failed', 'canceled', 'rejected')"


def answered_rule(table: str, completed_counts: bool) -> str:
    """This revision's rule (`completed_counts`) or 0002's, over the columns of `table` (an alias or "")."""
    prefix = f"{table}." if table else ""
    if completed_counts:
        return f"({prefix}answered_at IS NOT NULL OR {prefix}status = 'completed')"
    return f"({prefix}answered_at IS NOT NULL)"

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

PLACED = "status NOT IN ('pending', 'rejected')\n              AND NOT (status = 'unknown' AND sid IS NULL)"


def call_report_sql(dialect: str, completed_counts: bool) -> str:
    return f"""
CREATE VIEW call_report AS
SELECT {CALL_COLUMNS},
    {answered_rule('c', completed_counts)} AS answered,
    (c.status IN {FINAL}) AS final,
    {RING_SECONDS[dialect]} AS ring_seconds,
    (SELECT COUNT(*) FROM call_events AS e WHERE e.call_id = c.id) AS event_count
FROM calls AS c"""


def daily_call_stats_sql(dialect: str, completed_counts: bool) -> str:
    real = REAL[dialect]
    answered = answered_rule("", completed_counts)
    return f"""
CREATE VIEW daily_call_stats AS
SELECT
    {DAY[dialect]} AS day,
    COUNT(*) AS calls,
    SUM(CASE WHEN {PLACED} THEN 1 ELSE 0 END) AS placed,
    SUM(CASE WHEN {answered} THEN 1 ELSE 0 END) AS answered,
    SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
    SUM(CASE WHEN status = 'busy' THEN 1 ELSE 0 END) AS busy,
    SUM(CASE WHEN status = 'no-answer' THEN 1 ELSE 0 END) AS no_answer,
    SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
    CAST(SUM(CASE WHEN {answered} THEN 1 ELSE 0 END) AS {real})
        / NULLIF(SUM(CASE WHEN {PLACED} THEN 1 ELSE 0 END), 0)
        AS answer_rate,
    CAST(SUM(CASE WHEN {answered} THEN conversation_duration END) AS {real})
        / NULLIF(COUNT(CASE WHEN {answered} THEN conversation_duration END), 0)
        AS avg_conversation_seconds
FROM calls
GROUP BY {DAY[dialect]}"""


def _replace_views(completed_counts: bool) -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP VIEW IF EXISTS daily_call_stats")
    op.execute("DROP VIEW IF EXISTS call_report")
    op.execute(call_report_sql(dialect, completed_counts))
    op.execute(daily_call_stats_sql(dialect, completed_counts))
    # The report pages' cache holds sums by the old rule: emptied, it is rebuilt on the next look.
    op.execute("DELETE FROM report_hours")
    op.execute("DELETE FROM report_refresh")


def upgrade() -> None:
    _replace_views(True)


def downgrade() -> None:
    _replace_views(False)
