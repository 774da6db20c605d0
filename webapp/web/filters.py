"""The calls list's filters, read from the query string: the list page and its CSV export share them."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as dtime

from ..calls.queries import CallFilters, valid_status
from ..calls.validation import MAX_CUSTOM_FIELD, ValidationError, check_text, in_utc, normalize_number
from .display import viewer_zone

FIELDS = ("status", "number", "since", "until", "q", "created_by")
LABELS = {"created_by": "Placed by", "q": "The search text", "number": "The number", "status": "The status", "since": "The date", "until": "The date"}
# No offset reaches a day, so these days' bounds are inside the calendar in UTC from any zone.
OUT_OF_RANGE = "Use a date between 0001-01-02 and 9999-12-30."


def _date_bound(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A yyyy-mm-dd day in the viewer's zone: its start, or (end) the start of the next day."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError("Use a date like 2024-05-31.", field) from None
    try:
        if end:
            day += timedelta(days=1)
    except OverflowError:
        raise ValidationError(OUT_OF_RANGE, field) from None
    return in_utc(datetime.combine(day, dtime.min, tzinfo=viewer_zone()), field, OUT_OF_RANGE)


def list_filters(args) -> tuple[CallFilters, dict[str, str]]:
    """The list's filters from the query string, and an error message per bad one (the CSV export reads them too)."""
    errors: dict[str, str] = {}
    for name in FIELDS:
        try:
            check_text(args.get(name, "").strip(), name, limit=MAX_CUSTOM_FIELD, label=LABELS[name])
        except ValidationError as exc:
            errors[name] = exc.message
    args = {name: value for name, value in args.items() if name in FIELDS and name not in errors}  # the usable ones
    status = args.get("status") or None
    if status and not valid_status(status):
        errors["status"] = "Unknown status."
        status = None
    number = None
    if args.get("number"):
        try:
            number = normalize_number(args["number"], "number")
        except ValidationError as exc:
            errors["number"] = exc.message
    bounds = {}
    for name, end in (("since", False), ("until", True)):
        try:
            bounds[name] = _date_bound(args.get(name), name, end=end)
        except ValidationError as exc:
            errors[name] = exc.message
            bounds[name] = None
    text = (args.get("q") or "").strip() or None
    created_by = (args.get("created_by") or "").strip() or None
    return CallFilters(
        status=status, from_number=number, since=bounds["since"], until=bounds["until"], custom_field=text, created_by=created_by
    ), errors
