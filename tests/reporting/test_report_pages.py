"""Report page and CSV downloads: signed in, same numbers as the views, safe CSV."""

from __future__ import annotations

from datetime import date

import pytest
from known_data import CALLS, F2, A, call_id
from sqlalchemy import text

from tests.support.csvfiles import csv_lines
from webapp.reporting import ReportFilters, build_report

RANGE = {"start": "2024-05-01", "end": "2024-05-05"}


@pytest.fixture
def signed_in(signed_in, known):
    """The signed-in client (tests/support/fixtures.py), over the known calls."""
    return signed_in


def _csv(response) -> list[list[str]]:
    return csv_lines(response)


@pytest.mark.parametrize("path", ["/reports", "/reports/daily.csv", "/calls.csv"])
def test_pages_need_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_report_figures_equal_daily_call_stats(known):
    """The page's per-day figures are the view's, on every day the view has."""
    with known.engine.connect() as connection:
        view = {str(row.day): row for row in connection.execute(text("SELECT * FROM daily_call_stats"))}
    report = build_report(known.engine, ReportFilters(date(2024, 5, 1), date(2024, 5, 5)))
    rows = {str(row["day"]): row for row in report.daily_rows()}
    assert set(rows) == {"2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04", "2024-05-05"}
    assert rows["2024-05-03"]["calls"] == 0 and rows["2024-05-03"]["answer_rate"] is None
    for day, expected in view.items():
        row = rows[day]
        for name in ("calls", "placed", "answered", "completed", "busy", "no_answer", "failed", "rejected",
                     "answer_rate", "avg_conversation_seconds"):
            assert row[name] == getattr(expected, name), (day, name)
    assert report.total.calls == len(CALLS)
    assert report.total.durations == [0, 0, 1, 1, 0, 1, 1]  # 30 s, 95 s, 400 s, 700 s
    assert report.total.ring_times == [1, 2, 1, 0, 1, 0, 0]  # 3, 5, 8.123, 12.5, 20 s
    assert report.total.avg_ring_seconds == pytest.approx((3 + 5 + 8.123 + 12.5 + 20) / 5)
    hours = {row["hour"]: row["calls"] for row in report.hour_rows()}
    assert (hours[8], hours[9], hours[23], hours[0], hours[1]) == (4, 2, 1, 1, 0)


def test_report_filters_by_exophone_and_flow(known):
    report = build_report(known.engine, ReportFilters(date(2024, 5, 1), date(2024, 5, 5), caller_id=A, flow_url=F2))
    assert report.total.calls == 2  # calls 2 and 8
    assert (report.total.answered, report.total.failed, report.total.completed) == (1, 1, 1)


def test_report_page_shows_charts_and_tables(signed_in):
    response = signed_in.get("/reports", query_string=RANGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for chart in ("chart-answer-rate", "chart-outcomes", "chart-durations", "chart-ring-times", "chart-hours"):
        assert f'id="{chart}"' in html
    assert "<script>" not in html and " style=" not in html  # CSP: no inline script or style
    assert "50.0%" in html and "40.0%" in html  # answer rates of May 1st and 2nd
    assert "62.5 s" in html  # average conversation on May 1st
    assert A in html and F2 in html  # the filter's choices


def test_report_page_refuses_a_reversed_range(signed_in):
    response = signed_in.get("/reports", query_string={"start": "2024-05-05", "end": "2024-05-01"})
    assert response.status_code == 400
    assert "must not be after" in response.get_data(as_text=True)


def test_daily_csv(signed_in):
    rows = _csv(signed_in.get("/reports/daily.csv", query_string={**RANGE, "tz": "UTC"}))
    assert rows[0][:4] == ["day", "calls", "placed", "answered"]
    by_day = {row[0]: row for row in rows[1:]}
    assert list(by_day) == ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04", "2024-05-05"]
    assert by_day["2024-05-01"][1:5] == ["6", "4", "2", "0.5"]
    assert by_day["2024-05-04"][4] == ""  # no answer rate when nothing was placed


@pytest.mark.parametrize("table, first", [("hours", "hour"), ("durations", "conversation"), ("ring-times", "ring_time")])
def test_other_report_tables_as_csv(signed_in, table, first):
    rows = _csv(signed_in.get(f"/reports/{table}.csv", query_string=RANGE))
    assert rows[0][0] == first
    assert sum(int(row[-1] if table != "hours" else row[1]) for row in rows[1:]) == (14 if table == "hours" else 4 if table == "durations" else 5)


def test_unknown_report_table_is_404(signed_in):
    assert signed_in.get("/reports/nope.csv").status_code == 404


def test_calls_csv_streams_every_call_with_zoned_times_plain_numbers_and_neutralised_formulas(signed_in):
    signed_in.set_cookie("tz", "Asia/Kolkata")
    response = signed_in.get("/calls.csv")
    assert response.is_streamed
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = _csv(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "sid", "status"]
    assert len(body) == len(CALLS)
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert [row[0] for row in body] == [call_id(k) for k in (14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)]
    first = by_id[call_id(1)]
    assert first["created_at"] == "2024-05-01T14:30:00.250000+05:30"  # the viewer's zone, with its offset
    assert first["answered_at"] == "2024-05-01T14:30:13.500000+05:30"
    assert first["from_number"] == "+919876543201"  # a number the product validated is no formula: written as it is
    assert by_id[call_id(2)]["custom_field"] == "'=HYPERLINK(\"http://x\")"
    assert by_id[call_id(5)]["custom_field"] == "'-1+2"
    assert by_id[call_id(11)]["custom_field"] == "'@SUM(A1)"
    assert by_id[call_id(6)]["placed_at"] == ""
    signed_in.set_cookie("tz", "America/New_York")
    again = {row[0]: dict(zip(header, row, strict=True)) for row in _csv(signed_in.get("/calls.csv"))[1:]}
    assert again[call_id(1)]["created_at"] == "2024-05-01T05:00:00.250000-04:00"


def test_calls_csv_honours_the_list_filters(signed_in):
    rows = _csv(signed_in.get("/calls.csv", query_string={"status": "completed", "q": "order"}))
    assert [row[0] for row in rows[1:]] == [call_id(1)]
    rows = _csv(signed_in.get("/calls.csv", query_string={"status": "rejected"}))
    assert [row[0] for row in rows[1:]] == [call_id(13), call_id(5)]


def test_calls_csv_refuses_bad_filters(signed_in):
    response = signed_in.get("/calls.csv", query_string={"status": "nonsense"})
    assert response.status_code == 400


def test_report_cache_follows_changed_and_new_calls(known):
    """A call that moves on, and a call added, after a report was built show in the next one."""
    from sqlalchemy import insert, update

    from webapp.db import utcnow
    from webapp.models import Call

    scope = ReportFilters(date(2024, 5, 1), date(2024, 5, 5))
    before = build_report(known.engine, scope)
    assert (before.total.answered, before.total.completed) == (5, 4)
    with known.transaction() as session:
        session.execute(
            update(Call).where(Call.id == call_id(10)).values(status="completed", conversation_duration=61, updated_at=utcnow())
        )
        new = dict(CALLS[2], id="00000000-0000-4000-8000-000000000099", sid="sid99", updated_at=utcnow())
        session.execute(insert(Call), [new])
    after = build_report(known.engine, scope)
    assert (after.total.calls, after.total.answered, after.total.completed, after.total.no_answer) == (15, 5, 5, 2)
    assert after.total.durations == [0, 0, 1, 2, 0, 1, 1]  # 61 s joined 1-2 min
    with known.engine.connect() as connection:
        view = connection.execute(text("SELECT completed FROM daily_call_stats WHERE day = '2024-05-02'")).scalar()
    assert after.by_day[date(2024, 5, 2)].completed == view == 2
