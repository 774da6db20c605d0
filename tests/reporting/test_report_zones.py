"""Reports counted in the viewer's zone: India's half hour, daylight saving time, UTC one link away."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from known_data import CALLS, at, call_id
from sqlalchemy import insert, text

from webapp.models import Call
from webapp.reporting import Counts, ReportFilters, build_report
from webapp.reporting.sql import PLACED
from webapp.web.browser.display import zone_names

# The zone's local day and hour of call_report.created_at, spelled by each database itself.
# India has kept UTC+05:30 all year since 1945, so SQLite's fixed modifier is exact there.
LOCAL = {
    "postgresql": (
        "CAST(created_at AT TIME ZONE 'Asia/Kolkata' AS date)",
        "CAST(EXTRACT(HOUR FROM created_at AT TIME ZONE 'Asia/Kolkata') AS integer)",
    ),
    "sqlite": ("date(created_at, '+330 minutes')", "CAST(strftime('%H', created_at, '+330 minutes') AS INTEGER)"),
}


def _extra(key: int, created: str, status: str = "completed", **values) -> dict:
    """A call beside known_data's, created at `created` UTC."""
    row = dict(CALLS[0], id=call_id(key), sid=f"sid{key:02d}", created_at=at(created), updated_at=at(created),
               placed_at=at(created), answered_at=None, ended_at=None, conversation_duration=None, status=status)
    row.update(values)
    return row


@pytest.fixture
def edges(known):
    """Known calls, plus calls a moment either side of India's midnight and of 09:00 there."""
    with known.transaction() as session:
        session.execute(insert(Call), [
            _extra(40, "2024-05-01 18:29:59.999", "busy"),  # 23:59:59.999 IST, May 1 (SQLite reads milliseconds)
            _extra(41, "2024-05-01 18:30:00", "completed", answered_at=at("2024-05-01 18:30:10"),
                   conversation_duration=42),  # 00:00 IST, May 2
            _extra(42, "2024-05-02 03:29:59", "no-answer"),  # 08:59 IST
            _extra(43, "2024-05-02 03:30:00", "failed"),  # 09:00 IST
        ])
    return known


def _zone_query(db) -> tuple[dict, dict]:
    """Calls, placed and answered per Asia/Kolkata day and per hour, straight from call_report."""
    day, hour = LOCAL[db.dialect]
    sums = f"COUNT(*) AS calls, SUM(CASE WHEN {PLACED} THEN 1 ELSE 0 END) AS placed, " \
           "SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered"
    with db.engine.connect() as connection:
        days = {str(row.day): (row.calls, row.placed, row.answered) for row in connection.execute(
            text(f"SELECT {day} AS day, {sums} FROM call_report GROUP BY {day}"))}
        hours = {row.hour: (row.calls, row.placed, row.answered) for row in connection.execute(
            text(f"SELECT {hour} AS hour, {sums} FROM call_report GROUP BY {hour}"))}
    return days, hours


def test_report_in_india_matches_a_query_in_that_zone(edges):
    days, hours = _zone_query(edges)
    report = build_report(edges.engine, ReportFilters(date(2024, 4, 30), date(2024, 5, 6), zone="Asia/Kolkata"))
    mine_days = {str(day): (c.calls, c.placed, c.answered) for day, c in report.by_day.items()}
    mine_hours = {hour: (c.calls, c.placed, c.answered) for hour, c in report.by_hour.items()}
    assert mine_days == days
    assert mine_hours == hours
    # By hand: May 1 in India holds calls 1-5 and the busy call at 23:59:59; call 6 (23:59:59 UTC) is May 2, 05:29.
    assert mine_days["2024-05-01"] == (6, 5, 2)
    assert report.by_day[date(2024, 5, 2)].calls == 7 + 3
    assert (mine_hours[8], mine_hours[9]) == ((1, 1, 0), (1, 1, 0))  # 08:59 and 09:00 IST; UTC's 08 holds four
    assert report.by_hour[0].answered == 1  # call 41, answered at 00:00 IST
    assert report.total.calls == len(CALLS) + 4


def test_india_days_start_at_1830_utc(edges):
    """A one-day report of May 2 in India: from 18:30 UTC on May 1 to 18:30 UTC on May 2."""
    filters = ReportFilters(date(2024, 5, 2), date(2024, 5, 2), zone="Asia/Kolkata")
    assert (filters.since, filters.until) == (at("2024-05-01 18:30:00"), at("2024-05-02 18:30:00"))
    report = build_report(edges.engine, filters)
    known_calls = [c["id"] for c in CALLS if filters.since <= c["created_at"] < filters.until]
    assert known_calls == [call_id(key) for key in range(6, 13)]
    assert report.total.calls == len(known_calls) + 3  # calls 41, 42, 43
    assert report.total.busy == 0 and report.total.failed == 2  # call 40 stayed on May 1; 8 and 43


def test_daylight_saving_days_have_23_and_25_hours(known):
    """New York: 2024-03-10 skips 02:00-03:00, 2024-11-03 repeats 01:00-02:00; zoneinfo places each quarter."""
    with known.transaction() as session:
        session.execute(insert(Call), [
            _extra(50, "2024-03-10 06:30:00"),  # 01:30 EST
            _extra(51, "2024-03-10 07:30:00"),  # 03:30 EDT (02:30 does not exist)
            _extra(52, "2024-11-03 05:30:00"),  # 01:30 EDT
            _extra(53, "2024-11-03 06:30:00"),  # 01:30 EST, the hour again
            _extra(54, "2024-11-04 04:59:00"),  # 23:59 EST, Nov 3
        ])
    spring = build_report(known.engine, ReportFilters(date(2024, 3, 10), date(2024, 3, 10), zone="America/New_York"))
    assert {hour: c.calls for hour, c in spring.by_hour.items()} == {1: 1, 3: 1}
    assert spring.filters.until - spring.filters.since == timedelta(hours=23)
    autumn = build_report(known.engine, ReportFilters(date(2024, 11, 3), date(2024, 11, 3), zone="America/New_York"))
    assert {hour: c.calls for hour, c in autumn.by_hour.items()} == {1: 2, 23: 1}
    assert autumn.filters.until - autumn.filters.since == timedelta(hours=25)
    if known.dialect == "postgresql":
        with known.engine.connect() as connection:
            local_hours = connection.execute(text(
                "SELECT EXTRACT(HOUR FROM created_at AT TIME ZONE 'America/New_York') AS hour, COUNT(*) AS n "
                "FROM calls WHERE CAST(created_at AT TIME ZONE 'America/New_York' AS date) = '2024-11-03' GROUP BY 1"
            )).all()
        assert {int(hour): n for hour, n in local_hours} == {1: 2, 23: 1}


def test_nepal_quarter_hour_offset(known):
    """Kathmandu is UTC+05:45: 18:14 UTC is 23:59 there, 18:15 UTC the next day's first minute."""
    with known.transaction() as session:
        session.execute(insert(Call), [_extra(60, "2024-06-01 18:14:00"), _extra(61, "2024-06-01 18:15:00")])
    report = build_report(known.engine, ReportFilters(date(2024, 6, 1), date(2024, 6, 2), zone="Asia/Kathmandu"))
    assert {day.isoformat(): c.calls for day, c in report.by_day.items()} == {"2024-06-01": 1, "2024-06-02": 1}
    assert {hour: c.calls for hour, c in report.by_hour.items()} == {23: 1, 0: 1}


def test_lord_howe_moves_its_clock_by_half_an_hour(known):
    """Lord Howe Island goes from UTC+10:30 to +11:00 on 2024-10-06 at 02:00: its hours are counted quarter by quarter."""
    with known.transaction() as session:
        session.execute(insert(Call), [
            _extra(70, "2024-10-05 15:15:00"),  # 01:45 at +10:30
            _extra(71, "2024-10-05 15:45:00"),  # 02:45 at +11:00 (02:00-02:30 does not exist)
            _extra(72, "2024-10-06 12:59:00"),  # 23:59 at +11:00
        ])
    report = build_report(known.engine, ReportFilters(date(2024, 10, 6), date(2024, 10, 6), zone="Australia/Lord_Howe"))
    assert {hour: c.calls for hour, c in report.by_hour.items()} == {1: 1, 2: 1, 23: 1}
    assert report.filters.until - report.filters.since == timedelta(hours=23, minutes=30)


def test_every_listed_zone_is_a_whole_number_of_quarter_hours_from_utc():
    """The cache's quarters serve every zone the picker offers, summer and winter, since 1980 and for years ahead."""
    start = datetime(1980, 1, 1, tzinfo=UTC)
    instants = [start + timedelta(days=15 * i) for i in range(60 * 24)]
    for name in zone_names():
        zone = ZoneInfo(name)
        for instant in instants:
            offset = instant.astimezone(zone).utcoffset()
            assert offset is not None and offset.total_seconds() % 900 == 0, (name, instant)


@pytest.fixture
def signed_in(signed_in, known):
    """The signed-in client (tests/support/fixtures.py), over the known calls."""
    return signed_in


def test_report_page_is_in_the_viewers_zone_with_utc_one_link_away(signed_in):
    signed_in.set_cookie("tz", "Asia/Kolkata")
    html = signed_in.get("/reports", query_string={"start": "2024-05-01", "end": "2024-05-05"}).get_data(as_text=True)
    assert "Days and hours are in <strong>Asia/Kolkata</strong>" in html
    assert "Calls by hour of day (Asia/Kolkata)" in html
    assert 'href="/reports?start=2024-05-01&amp;end=2024-05-05&amp;tz=UTC"' in html
    utc = signed_in.get("/reports", query_string={"start": "2024-05-01", "end": "2024-05-05", "tz": "UTC"})
    page = utc.get_data(as_text=True)
    assert utc.status_code == 200 and "Days and hours are in <strong>UTC</strong>" in page
    assert "Show in Asia/Kolkata" in page
    assert "tz=UTC" in page  # the CSV links keep the analyst's clock


def test_daily_csv_follows_the_zone(signed_in):
    signed_in.set_cookie("tz", "Asia/Kolkata")
    india = signed_in.get("/reports/daily.csv", query_string={"start": "2024-05-01", "end": "2024-05-02"})
    utc = signed_in.get("/reports/daily.csv", query_string={"start": "2024-05-01", "end": "2024-05-02", "tz": "UTC"})
    assert "Asia-Kolkata.csv" in india.headers["Content-Disposition"]
    india_rows = {line.split(",")[0]: line.split(",")[1] for line in india.get_data(as_text=True).splitlines()[1:]}
    utc_rows = {line.split(",")[0]: line.split(",")[1] for line in utc.get_data(as_text=True).splitlines()[1:]}
    assert india_rows == {"2024-05-01": "5", "2024-05-02": "7"}  # call 6 (23:59:59 UTC) is May 2 in India
    assert utc_rows == {"2024-05-01": "6", "2024-05-02": "6"}  # as daily_call_stats


def test_an_unknown_zone_is_a_clear_400(signed_in):
    response = signed_in.get("/reports", query_string={"tz": "Mars/Olympus_Mons"})
    assert response.status_code == 400
    assert "Choose a time zone" in response.get_data(as_text=True)


def test_the_unfiltered_report_equals_its_exophones_added_up(edges):
    """The per-quarter totals (what an unfiltered report reads) agree with the per-ExoPhone rows, day by day."""
    from known_data import A, B

    scope = {"start": date(2024, 4, 30), "end": date(2024, 5, 6), "zone": "Asia/Kolkata"}
    whole = build_report(edges.engine, ReportFilters(**scope))
    parts = [build_report(edges.engine, ReportFilters(**scope, caller_id=caller)) for caller in (A, B)]
    for day in whole.filters.days:
        assert (whole.by_day.get(day) or Counts()) == sum((p.by_day.get(day) or Counts() for p in parts), Counts()), day
    assert whole.total == parts[0].total + parts[1].total
