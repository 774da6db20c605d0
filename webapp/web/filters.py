"""The calls list's filters, read from the query string: the list page and its CSV export share them."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as dtime

from ..calls.queries import CallFilters, valid_status
from ..calls.validation import ValidationError, normalize_number
from .display import viewer_zone


def _date_bound(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A yyyy-mm-dd day in the viewer's zone: its start, or (end) the start of the next day."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError("Use a date like 2024-05-31.", field) from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, dtime.min, tzinfo=viewer_zone())


def list_filters(args) -> tuple[CallFilters, dict[str, str]]:
    """The list's filters from the query string, and an error message per bad one (the CSV export reads them too)."""
    errors: dict[str, str] = {}
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
    text = (args.get("q") or "").strip()[:128] or None
    created_by = (args.get("created_by") or "").strip()[:300] or None
    return CallFilters(
        status=status, from_number=number, since=bounds["since"], until=bounds["until"], custom_field=text, created_by=created_by
    ), errors
