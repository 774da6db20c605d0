"""Report pages and CSV downloads, for signed-in users."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from flask_login import login_required

from ...calls.queries import call_rows
from ...calls.validation import ValidationError, check_text
from ...db import get_db
from ...reporting import DURATION_BUCKETS, MAX_DAYS, RING_BUCKETS, TABLES, Report, ReportFilters, build_report, charts, choices
from ...reporting.csv_export import csv_lines, csv_response
from ..browser.display import viewer_zone, viewer_zone_name, zone_names
from ..browser.filters import FIELD_NAMES, list_filters, query_args

bp = Blueprint("reports", __name__)

DEFAULT_DAYS = 30
HALF_WIDTH = 500  # the charts shown side by side
CALL_CSV_COLUMNS = (
    "id", "sid", "status", "from_number", "caller_id", "flow_url", "call_type", "time_limit", "time_out",
    "custom_field", "error_code", "error_message", "created_at", "placed_at", "answered_at", "ended_at",
    "conversation_duration", "recording_url", "answered_by", "updated_at", "created_by",
)
OUTCOME_SERIES = (
    ("completed", "Completed", "green"), ("no_answer", "No answer", "orange"), ("busy", "Busy", "vermillion"),
    ("failed", "Failed", "purple"), ("canceled", "Canceled", "sky"), ("rejected", "Refused", "black"),
    ("other", "Not settled", "grey"),
)


@bp.before_request
@login_required
def require_login():
    """Every page of this blueprint needs a signed-in user."""


# A report's days, the one after its last and the span before it must all be dates.
FIRST_DAY = date.min + timedelta(days=MAX_DAYS)
LAST_DAY = date.max - timedelta(days=1)
TEXT_FILTERS = (("exophone", 32, "The ExoPhone"), ("flow", 2000, "The flow"))


def _day(value: str | None, field: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[field] = "Use a date like 2024-05-31."
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors[field] = f"Use a date between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}."
        return None
    return day


def _text(args, name: str, limit: int, label: str, errors: dict[str, str]) -> str | None:
    value = (args.get(name) or "").strip()
    try:
        return check_text(value, name, limit=limit, label=label) or None
    except ValidationError as exc:
        errors[name] = exc.message
        return None


def report_zone(args, errors: dict[str, str]) -> str:
    """The zone days and hours are counted in: `?tz=` (UTC for analysts, or any zone listed), else the viewer's."""
    name = (args.get("tz") or "").strip()
    if name and name not in zone_names():
        errors["tz"] = "Choose a time zone from the list in Settings, or UTC."
        name = ""
    return name or viewer_zone_name()


def report_filters(args) -> tuple[ReportFilters, dict[str, str]]:
    """The report's scope from the query string (the last 30 days of the zone by default), and errors per field."""
    errors: dict[str, str] = {}
    zone = report_zone(args, errors)
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    end = _day(args.get("end"), "end", errors) or today
    start = _day(args.get("start"), "start", errors) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        errors["start"] = "The first day must not be after the last."
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if (end - start).days >= MAX_DAYS:
        errors["start"] = f"A report spans at most {MAX_DAYS} days."
        start = end - timedelta(days=MAX_DAYS - 1)
    caller_id, flow_url = (_text(args, name, limit, label, errors) for name, limit, label in TEXT_FILTERS)
    return ReportFilters(start, end, caller_id, flow_url, zone), errors


def _query_args(filters: ReportFilters) -> dict[str, str]:
    args = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if filters.zone != viewer_zone_name():
        args["tz"] = filters.zone
    if filters.caller_id:
        args["exophone"] = filters.caller_id
    if filters.flow_url:
        args["flow"] = filters.flow_url
    return args


def _zone_args(filters: ReportFilters) -> dict[str, str]:
    """The same report in the other clock: UTC from the viewer's zone, the viewer's zone from UTC."""
    args = {key: value for key, value in _query_args(filters).items() if key != "tz"}
    if filters.zone == viewer_zone_name() != "UTC":
        args["tz"] = "UTC"
    return args


def _charts(report: Report) -> dict[str, object]:
    zone = report.filters.zone
    days = list(report.daily_rows())
    day_labels = [row["day"].strftime("%b %d") for row in days]
    hours = list(report.hour_rows())
    palette = charts.PALETTE
    return {
        "answer_rate": charts.line_chart(
            "chart-answer-rate", "Answer rate per day", day_labels,
            [charts.Series("Answered / placed", [row["answer_rate"] for row in days], palette["blue"])],
            y_label="answered / placed", x_label=f"day ({zone})", percent=True,
            description="Share of placed calls that were answered, each day; gaps are days with no placed call.",
        ),
        "outcomes": charts.bar_chart(
            "chart-outcomes", "Outcomes per day", day_labels,
            [charts.Series(label, [row[key] for row in days], palette[color]) for key, label, color in OUTCOME_SERIES],
            y_label="calls", x_label=f"day ({zone})",
            description="Calls created each day, stacked by how they ended.",
        ),
        "durations": charts.bar_chart(
            "chart-durations", "Conversation duration of answered calls", [b[0] for b in DURATION_BUCKETS],
            [charts.Series("Answered calls", report.total.durations, palette["green"])],
            y_label="answered calls", x_label="conversation duration", width=HALF_WIDTH,
            description="How long answered calls talked, in bands.",
        ),
        "ring_times": charts.bar_chart(
            "chart-ring-times", "Ring time before answer", [b[0] for b in RING_BUCKETS],
            [charts.Series("Answered calls", report.total.ring_times, palette["sky"])],
            y_label="answered calls", x_label="seconds from placing to answer", width=HALF_WIDTH,
            description="How long answered calls rang before the customer picked up, in bands.",
        ),
        "hours": charts.bar_chart(
            "chart-hours", f"Calls by hour of day ({zone})", [f"{row['hour']:02d}" for row in hours],
            [
                charts.Series("Answered", [row["answered"] for row in hours], palette["blue"]),
                charts.Series("Not answered", [row["calls"] - row["answered"] for row in hours], palette["grey"]),
            ],
            y_label="calls", x_label=f"hour of day ({zone})",
            description="Calls created in each hour of the day over the whole range, answered and not.",
        ),
    }


@bp.get("/reports")
def index():
    """The report page: charts, and the numbers behind them as tables."""
    filters, errors = report_filters(request.args)
    engine = get_db().engine
    report = build_report(engine, filters)
    caller_ids, flows = choices(engine)
    return render_template(
        "reports/index.html",
        report=report,
        filters=filters,
        errors=errors,
        caller_ids=caller_ids,
        flows=flows,
        charts=_charts(report),
        query_args=_query_args(filters),
        zone_args=_zone_args(filters),
        tables=TABLES,
    ), (400 if errors else 200)


@bp.get("/reports/<table>.csv")
def table_csv(table: str):
    """One of the report's tables as CSV."""
    rows_of = TABLES.get(table)
    if rows_of is None:
        return "No such report table.\n", 404, {"Content-Type": "text/plain; charset=utf-8"}
    filters, errors = report_filters(request.args)
    if errors:
        return "\n".join(errors.values()) + "\n", 400, {"Content-Type": "text/plain; charset=utf-8"}
    rows = list(rows_of(build_report(get_db().engine, filters)))
    header = list(rows[0]) if rows else []
    zone = filters.zone.replace("/", "-")
    name = f"calls-{table}-{filters.start.isoformat()}-to-{filters.end.isoformat()}-{zone}.csv"
    return csv_response(name, csv_lines(header, ([row[key] for key in header] for row in rows)))


@bp.get("/calls.csv")
def calls_csv():
    """The calls list as CSV, every matching call, with the list's filters; a filter it cannot read gets a page saying so."""
    filters, errors = list_filters(request.args)
    if errors:
        # A spreadsheet of other calls than the filters say would mislead: nothing is sent but the reasons.
        return render_template(
            "calls/csv_refused.html", errors=errors, labels=FIELD_NAMES, args=query_args(request.args)
        ), 400
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    rows = call_rows(get_db().engine, filters, CALL_CSV_COLUMNS)
    return csv_response(f"calls-{stamp}.csv", csv_lines(CALL_CSV_COLUMNS, rows, viewer_zone()))

