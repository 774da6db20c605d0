"""The calling window: the hours and days a campaign may dial, in a zone of its own.

Times are compared in the window's zone, so a window keeps its local hours
across daylight-saving changes. Calls to Indian numbers must fall inside
09:00-21:00 India time (TRAI's hours for calls to customers): a window that
could dial outside them is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INDIA = ZoneInfo("Asia/Kolkata")
TRAI_START, TRAI_END = time(9, 0), time(21, 0)
DEFAULT = {"start": "09:00", "end": "21:00", "days": list(DAYS), "timezone": "Asia/Kolkata"}
# How far ahead next_open() looks: a week covers every allowed day at least once.
HORIZON_DAYS = 8


class WindowError(ValueError):
    """A window that cannot be used as given; `field` names the part at fault."""

    def __init__(self, message: str, field: str = "window"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class CallingWindow:
    """From `start` to `end` (local, end excluded) on `days` (0 = Monday), in `timezone`."""

    start: time
    end: time
    days: frozenset[int]
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, at: datetime) -> bool:
        """Whether a call may be placed at the instant `at`."""
        local = at.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time().replace(tzinfo=None) < self.end

    def _opening(self, day: date) -> tuple[datetime, datetime]:
        """The window's instants on the local date `day` (a start in a DST gap moves forward with the clock)."""
        zone = self.zone
        opens = datetime.combine(day, self.start, zone).astimezone(UTC)
        closes = datetime.combine(day, self.end, zone).astimezone(UTC)
        return opens, closes

    def next_open(self, at: datetime) -> datetime | None:
        """The first instant at or after `at` when the window is open; None if it never opens."""
        if self.is_open(at):
            return at
        first = at.astimezone(self.zone).date()
        for offset in range(HORIZON_DAYS):
            day = first + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens, closes = self._opening(day)
            if closes > at:
                return max(opens, at)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "days": [DAYS[day] for day in sorted(self.days)],
            "timezone": self.timezone,
        }

    def outside_india_hours(self, today: date, horizon_days: int = 366) -> date | None:
        """A local date in the next year on which this window dials outside 09:00-21:00 India time, else None."""
        for offset in range(horizon_days):
            day = today + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens, closes = (instant.astimezone(INDIA) for instant in self._opening(day))
            latest_close = datetime.combine(opens.date(), TRAI_END, INDIA)
            if opens.time() < TRAI_START or closes > latest_close:
                return day
        return None


def _clock(value: Any, field: str) -> time:
    if not isinstance(value, str):
        raise WindowError("Give a time of day like 09:00.", field)
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise WindowError(f"{value.strip()[:20]!r} is not a time of day like 09:00.", field) from None
    if parsed.tzinfo is not None:
        raise WindowError("Give the time without a zone; the window's timezone applies.", field)
    return parsed


def _days(value: Any) -> frozenset[int]:
    if not isinstance(value, list | tuple) or not value:
        raise WindowError("Give at least one day, e.g. [\"mon\", \"tue\"].", "window.days")
    days: set[int] = set()
    for name in value:
        if not isinstance(name, str) or name.strip().lower()[:3] not in DAYS:
            raise WindowError(f"{str(name)[:20]!r} is not a day; use mon, tue, wed, thu, fri, sat, sun.", "window.days")
        days.add(DAYS.index(name.strip().lower()[:3]))
    return frozenset(days)


def parse_window(data: Mapping[str, Any] | None, *, numbers_in_india: bool, today: date) -> CallingWindow:
    """A window from its JSON form (the default when None), checked against TRAI's hours when calling India."""
    if data is None:
        data = DEFAULT
    if not isinstance(data, Mapping):
        raise WindowError("The window must be an object with start, end, days and timezone.")
    unknown = set(data) - {"start", "end", "days", "timezone"}
    if unknown:
        raise WindowError(f"Unknown window field {sorted(unknown)[0]!r}.")
    zone_name = data.get("timezone", DEFAULT["timezone"])
    try:
        if not isinstance(zone_name, str):
            raise ValueError(zone_name)
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WindowError(f"{str(zone_name)[:60]!r} is not a time zone like Asia/Kolkata.", "window.timezone") from None
    window = CallingWindow(
        start=_clock(data.get("start", DEFAULT["start"]), "window.start"),
        end=_clock(data.get("end", DEFAULT["end"]), "window.end"),
        days=_days(data.get("days", DEFAULT["days"])),
        timezone=zone_name,
    )
    if window.end <= window.start:
        raise WindowError("The window must end after it starts, on the same day.", "window.end")
    if numbers_in_india:
        day = window.outside_india_hours(today)
        if day is not None:
            raise WindowError(
                f"Calls to Indian numbers must be between 09:00 and 21:00 India time; on {day.isoformat()} this window "
                "is not.",
                "window",
            )
    return window


def window_from_columns(start: str, end: str, days: Iterable[str], timezone: str) -> CallingWindow:
    """The window stored in a campaign's columns (validated when it was created)."""
    return CallingWindow(time.fromisoformat(start), time.fromisoformat(end), frozenset(DAYS.index(d) for d in days), timezone)
