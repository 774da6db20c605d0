"""Reporting: the SQL behind the report pages, its quarter-hour cache, charts and CSV."""

from .cache import refresh, report_quarter_totals, report_quarters, report_refresh
from .report import TABLES, Counts, Report, ReportFilters, build_report, choices
from .sql import DURATION_BUCKETS, MAX_DAYS, RING_BUCKETS

__all__ = [
    "DURATION_BUCKETS", "MAX_DAYS", "RING_BUCKETS", "TABLES", "Counts", "Report", "ReportFilters",
    "build_report", "choices", "refresh", "report_quarter_totals", "report_quarters", "report_refresh",
]
