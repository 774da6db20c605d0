"""The calls list's filters, read from the query string: the list page and its CSV export share them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from datetime import time as dtime

from ...calls.queries import CallFilters, valid_status
from ...calls.validation import MAX_CUSTOM_FIELD, ValidationError, check_text, in_utc, normalize_number
from .display import viewer_zone
from .status_words import FILTERS, filter_status

FIELDS = ("status", "number", "sid", "exophone", "flow", "created_by", "since", "until", "q")
LABELS = {
    "created_by": "Placed by", "q": "The search text", "number": "The number", "status": "The status", "since": "The date",
    "until": "The date", "sid": "The Call Sid", "exophone": "The ExoPhone", "flow": "The flow",
}
# Each field as the list's form names it.
FIELD_NAMES = {
    "status": "Status", "number": "Number", "sid": "Call Sid", "exophone": "ExoPhone", "flow": "Flow",
    "created_by": "Placed by", "since": "From date", "until": "To date", "q": "Custom field contains",
}
# The longest each may be: what its column holds (a longer value can match nothing, and costs a scan to say so).
LIMITS = {"sid": 64, "exophone": 32, "flow": 2000, "created_by": 300}
# No offset reaches a day, so these days' bounds are inside the calendar in UTC from any zone.
OUT_OF_RANGE = "Use a date between 0001-01-02 and 9999-12-30."
# A number as people write it: digits, spaces, dashes, dots, brackets, slashes, a leading +.
NUMBER_TEXT = re.compile(r"\+?[0-9 \t\-.()/]+")
MAX_DIGITS = 15  # E.164
# Fewer last digits match too many calls to be a search (and each match is read: calls/number_search.py).
MIN_ENDING = 4
APP_ID = re.compile(r"[0-9]{1,20}")
NUMBER_HELP = "Type the number, or only its last digits (spaces, dashes and brackets are fine)."


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


def number_filter(text: str) -> tuple[str | None, str | None]:
    """(the E.164 number, None) for a whole number, (None, its digits) for the last digits of one; else ValidationError."""
    if not NUMBER_TEXT.fullmatch(text):
        raise ValidationError(NUMBER_HELP, "number")
    digits = re.sub(r"[^0-9]", "", text)
    if not digits:
        raise ValidationError(NUMBER_HELP, "number")
    if len(digits) > MAX_DIGITS:
        raise ValidationError(f"A phone number has at most {MAX_DIGITS} digits.", "number")
    try:
        return normalize_number(text, "number"), None
    except ValidationError:
        if text.startswith("+"):  # the start of a number, not its end
            raise ValidationError(f"“{text[:40]}” is not a whole number: type it in full, or only its last digits.",
                                  "number") from None
        if len(digits) < MIN_ENDING:
            raise ValidationError(f"Type at least the last {MIN_ENDING} digits of the number.", "number") from None
        return None, digits


def _flow(text: str) -> tuple[str | None, str | None]:
    """(flow URL, None) or, for an app id of App Bazaar, (None, app id)."""
    return (None, text) if APP_ID.fullmatch(text) else (text, None)


def list_filters(args) -> tuple[CallFilters, dict[str, str]]:
    """The list's filters from the query string, and an error message per bad one (the CSV export reads them too).

    A bad filter is left out: the others still apply, and the error is shown beside its field.
    """
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for name in FIELDS:
        try:
            values[name] = check_text(args.get(name, "").strip(), name, limit=LIMITS.get(name, MAX_CUSTOM_FIELD),
                                      label=LABELS[name])
        except ValidationError as exc:
            errors[name] = exc.message
    status, answered = None, None
    if values.get("status"):
        if valid_status(values["status"]) or values["status"] in FILTERS:
            status, answered = filter_status(values["status"])
        else:
            errors["status"] = "Unknown status."
    number = suffix = None
    if values.get("number"):
        try:
            number, suffix = number_filter(values["number"])
        except ValidationError as exc:
            errors["number"] = exc.message
    bounds = {}
    for name, end in (("since", False), ("until", True)):
        try:
            bounds[name] = _date_bound(values.get(name), name, end=end)
        except ValidationError as exc:
            errors[name] = exc.message
            bounds[name] = None
    flow_url, app_id = _flow(values["flow"]) if values.get("flow") else (None, None)
    # An ExoPhone is stored without spaces, dashes or brackets (calls.validation), so it is matched that way.
    exophone = re.sub(r"[\s\-()]", "", values.get("exophone") or "") or None
    return CallFilters(
        status=status, answered=answered, from_number=number, number_suffix=suffix, since=bounds["since"],
        until=bounds["until"], custom_field=values.get("q") or None, created_by=values.get("created_by") or None,
        sid=values.get("sid") or None, caller_id=exophone, flow_url=flow_url, app_id=app_id,
    ), errors


def query_args(args) -> dict[str, str]:
    """The filters given in the query string, as given (for the list's links and its CSV)."""
    return {name: args[name] for name in FIELDS if args.get(name)}
