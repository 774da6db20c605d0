"""The SQL of the report: `call_report` summed per quarter hour, ExoPhone and flow, by daily_call_stats's rules.

One statement (`report_sql`) reads `call_report` (migration 0002) and sums, per
UTC quarter hour, ExoPhone and flow, the figures the pages show (every zone's
offset from UTC is a whole number of quarter hours, so the quarters add up to
any zone's local days and hours exactly); its per-day columns use
the expressions of `daily_call_stats` word for word, so an analyst's query and
the page agree (tests and the benchmark pin it).
"""

from __future__ import annotations

MAX_DAYS = 366

# (label, lower bound inclusive, upper bound exclusive or None), in seconds.
DURATION_BUCKETS = (
    ("< 10 s", 0, 10), ("10-30 s", 10, 30), ("30-60 s", 30, 60), ("1-2 min", 60, 120),
    ("2-5 min", 120, 300), ("5-10 min", 300, 600), ("10+ min", 600, None),
)
RING_BUCKETS = (
    ("< 5 s", 0, 5), ("5-10 s", 5, 10), ("10-15 s", 10, 15), ("15-20 s", 15, 20),
    ("20-30 s", 20, 30), ("30-45 s", 30, 45), ("45+ s", 45, None),
)
OUTCOMES = ("completed", "busy", "no_answer", "failed", "canceled", "rejected", "other")

# The rules of daily_call_stats (migrations 0002, 0003), over call_report's columns; `answered` is
# call_report's own column (answered_at set, or completed), so page and view count alike.
PLACED = "status NOT IN ('pending', 'rejected') AND NOT (status = 'unknown' AND sid IS NULL)"
HOUR_START = {
    "sqlite": "substr(created_at, 1, 13) || ':00:00.000000'",
    "postgresql": "date_trunc('hour', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
}
QUARTER_START = {
    "sqlite": (
        "substr(created_at, 1, 14) || CASE WHEN substr(created_at, 15, 2) < '15' THEN '00:00.000000' "
        "WHEN substr(created_at, 15, 2) < '30' THEN '15:00.000000' WHEN substr(created_at, 15, 2) < '45' "
        "THEN '30:00.000000' ELSE '45:00.000000' END"
    ),
    "postgresql": "to_timestamp(floor(extract(epoch FROM created_at) / 900) * 900)",
}

def _bucket_sums(column: str, prefix: str, buckets) -> list[str]:
    sums = []
    for i, (_label, low, high) in enumerate(buckets):
        condition = f"{column} >= {low}" + (f" AND {column} < {high}" if high is not None else "")
        sums.append(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {prefix}{i}")
    return sums


def report_sql(dialect: str) -> str:
    """call_report's calls created in [since, until), summed per (UTC quarter hour, ExoPhone, flow)."""
    columns = [
        f"{QUARTER_START[dialect]} AS quarter_start",
        "caller_id",
        "flow_url",
        "COUNT(*) AS calls",
        f"SUM(CASE WHEN {PLACED} THEN 1 ELSE 0 END) AS placed",
        "SUM(CASE WHEN answered THEN 1 ELSE 0 END) AS answered",
        "SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed",
        "SUM(CASE WHEN status = 'busy' THEN 1 ELSE 0 END) AS busy",
        "SUM(CASE WHEN status = 'no-answer' THEN 1 ELSE 0 END) AS no_answer",
        "SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed",
        "SUM(CASE WHEN status = 'canceled' THEN 1 ELSE 0 END) AS canceled",
        "SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected",
        "COALESCE(SUM(CASE WHEN answered THEN conversation_duration END), 0) AS conversation_seconds",
        "COUNT(CASE WHEN answered THEN conversation_duration END) AS conversations",
        "COALESCE(SUM(ring_seconds), 0) AS ring_seconds",
        "COUNT(ring_seconds) AS rings",
        *_bucket_sums("CASE WHEN answered THEN conversation_duration END", "d", DURATION_BUCKETS),
        *_bucket_sums("ring_seconds", "r", RING_BUCKETS),
    ]
    return (
        f"SELECT {', '.join(columns)} FROM call_report WHERE created_at >= :since AND created_at < :until "
        f"GROUP BY {QUARTER_START[dialect]}, caller_id, flow_url"
    )


# The additive columns of report_sql, in its order after (quarter, ExoPhone, flow).
SUMMED = (
    "calls", "placed", "answered", "completed", "busy", "no_answer", "failed", "canceled", "rejected",
    "conversation_seconds", "conversations", "ring_seconds", "rings",
)
BUCKET_COLUMNS = tuple(f"d{i}" for i in range(len(DURATION_BUCKETS))) + tuple(f"r{i}" for i in range(len(RING_BUCKETS)))
WIDTH = len(SUMMED) + len(BUCKET_COLUMNS)
