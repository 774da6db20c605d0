"""The calling window: local hours and days, across DST, and TRAI's hours for Indian numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from webapp.campaigns.window import CallingWindow, WindowError, parse_window

TODAY = date(2026, 12, 1)


def window(**fields):
    return parse_window({"start": "09:00", "end": "21:00", "timezone": "Asia/Kolkata", **fields},
                        numbers_in_india=False, today=TODAY)


def test_default_is_nine_to_nine_india_every_day():
    default = parse_window(None, numbers_in_india=True, today=TODAY)
    assert default == CallingWindow(time(9), time(21), frozenset(range(7)), "Asia/Kolkata")


def test_open_only_inside_local_hours():
    w = window()
    # 09:00 IST is 03:30 UTC; 21:00 IST is 15:30 UTC (end excluded).
    assert not w.is_open(datetime(2026, 12, 1, 3, 29, tzinfo=UTC))
    assert w.is_open(datetime(2026, 12, 1, 3, 30, tzinfo=UTC))
    assert w.is_open(datetime(2026, 12, 1, 15, 29, 59, tzinfo=UTC))
    assert not w.is_open(datetime(2026, 12, 1, 15, 30, tzinfo=UTC))


def test_days_of_the_week():
    w = window(days=["mon", "tue"])  # 2026-12-01 is a Tuesday, 12-02 a Wednesday
    assert w.is_open(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    assert not w.is_open(datetime(2026, 12, 2, 6, 0, tzinfo=UTC))
    assert w.next_open(datetime(2026, 12, 2, 6, 0, tzinfo=UTC)) == datetime(2026, 12, 7, 3, 30, tzinfo=UTC)


def test_next_open_later_today_and_tomorrow():
    w = window()
    assert w.next_open(datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) == datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    assert w.next_open(datetime(2026, 12, 1, 16, 0, tzinfo=UTC)) == datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    inside = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert w.next_open(inside) == inside


def test_local_hours_hold_across_daylight_saving():
    """09:00 in London is 09:00 UTC in winter and 08:00 UTC in summer."""
    w = parse_window({"start": "09:00", "end": "17:00", "timezone": "Europe/London"}, numbers_in_india=False, today=TODAY)
    assert w.is_open(datetime(2027, 1, 12, 9, 0, tzinfo=UTC))
    assert not w.is_open(datetime(2027, 1, 12, 8, 30, tzinfo=UTC))
    assert w.is_open(datetime(2027, 7, 13, 8, 0, tzinfo=UTC))
    assert not w.is_open(datetime(2027, 7, 13, 16, 30, tzinfo=UTC))
    # The night the clocks go forward (2027-03-28): the next opening is 08:00 UTC.
    assert w.next_open(datetime(2027, 3, 28, 0, 30, tzinfo=UTC)) == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("fields", [{"start": "08:59"}, {"end": "21:01"}, {"start": "08:00", "end": "12:00"}])
def test_indian_numbers_need_trai_hours(fields):
    data = {"start": "09:00", "end": "21:00", "timezone": "Asia/Kolkata", **fields}
    with pytest.raises(WindowError, match="India time"):
        parse_window(data, numbers_in_india=True, today=TODAY)
    assert parse_window(data, numbers_in_india=False, today=TODAY)


def test_trai_hours_are_read_in_india_time_whatever_the_window_zone():
    exact = {"start": "03:30", "end": "15:30", "timezone": "UTC"}  # 09:00-21:00 IST
    assert parse_window(exact, numbers_in_india=True, today=TODAY).timezone == "UTC"
    with pytest.raises(WindowError):
        parse_window({**exact, "end": "15:31"}, numbers_in_india=True, today=TODAY)


def test_a_zone_whose_summer_time_leaves_india_hours_is_refused():
    """A window inside India's hours in winter may leave them in summer: it is refused."""
    # 04:00-15:00 London: winter 09:30-20:30 IST (allowed), summer 08:30-19:30 IST (not).
    with pytest.raises(WindowError, match="India time"):
        parse_window({"start": "04:00", "end": "15:00", "timezone": "Europe/London"}, numbers_in_india=True, today=TODAY)


@pytest.mark.parametrize("fields, field", [
    ({"start": "25:00"}, "window.start"),
    ({"end": "nine"}, "window.end"),
    ({"start": "18:00", "end": "10:00"}, "window.end"),
    ({"days": []}, "window.days"),
    ({"days": ["funday"]}, "window.days"),
    ({"timezone": "Mars/Olympus"}, "window.timezone"),
    ({"timezone": 5}, "window.timezone"),
    ({"colour": "blue"}, "window"),
])
def test_bad_windows_name_their_field(fields, field):
    with pytest.raises(WindowError) as error:
        window(**fields)
    assert error.value.field == field
