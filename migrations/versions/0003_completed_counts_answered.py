"""Reporting: a `completed` call counts as answered, even when no answer time is known; payloads made strict JSON.

Exotel's plain StatusCallback (no EventType) reports `completed` without an
answer time; `completed` means the customer answered, so `call_report.answered`
and `daily_call_stats.answered` (and `answer_rate`, `avg_conversation_seconds`)
now read `answered_at IS NOT NULL OR status = 'completed'`. `answered_at` is
left null when unknown (never invented), so `ring_seconds` stays null for such
calls. The report cache is emptied, so the pages rebuild it by the same rule.

Payloads stored by earlier versions may hold what strict JSON parsers,
SQLite's json_valid and PostgreSQL's jsonb refuse (NaN, Infinity, a lone
surrogate escape, \u0000): they are rewritten as the app now writes them,
each such value replaced (NaN as the string "NaN", the others by U+FFFD),
everything else kept. The downgrade leaves them strict.

The views' SQL (and the payload rules) are spelled out here, as in 0002, so this revision never changes
under later code; the downgrade restores 0002's views exactly.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""
import json
import math
import re

import sqlalchemy as sa
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


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Text a payload that strict JSON refuses must contain (a pair of surrogate escapes, an emoji, is
# fine, but is looked at too): cheap to find in SQL, checked again in Python.
_CANDIDATES = ("NaN", "Infinity", "\\u0000", "\\ud")


def _storable(value):
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _strict_payloads() -> None:
    bind = op.get_bind()
    find = "instr(payload, :{0}) > 0" if bind.dialect.name == "sqlite" else "strpos(payload, :{0}) > 0"
    where = " OR ".join(find.format(f"c{i}") for i in range(len(_CANDIDATES)))
    params = {f"c{i}": text for i, text in enumerate(_CANDIDATES)}
    rows = bind.execute(sa.text(f"SELECT id, payload FROM call_events WHERE {where}"), params).all()
    update = sa.text("UPDATE call_events SET payload = :payload WHERE id = :id")
    for event_id, payload in rows:
        try:
            fixed = json.dumps(_storable(json.loads(payload)), ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        except (ValueError, RecursionError):
            fixed = json.dumps(_UNSTORABLE.sub("\ufffd", payload))  # not JSON at all: kept as one JSON string
        if fixed != payload:
            bind.execute(update, {"payload": fixed, "id": event_id})


def upgrade() -> None:
    _replace_views(True)
    _strict_payloads()


def downgrade() -> None:
    _replace_views(False)
