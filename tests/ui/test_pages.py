"""The calls list and the call page: filters, pagination, escaping, live status, headers, time zone."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.calls import add_call
from tests.support.signin import page_token
from webapp.db import get_db
from webapp.models import Call, CallEvent

T0 = datetime(2024, 5, 10, 6, 0, tzinfo=UTC)  # 11:30 in Asia/Kolkata
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def add_event(app, call: Call, payload, **values) -> None:
    values.setdefault("event_type", "terminal")
    values.setdefault("status", "completed")
    values.setdefault("occurred_at", T0 + timedelta(seconds=30))
    with app.app_context(), get_db().transaction() as session:
        session.add(CallEvent(call_id=call.id, call_sid=call.sid, payload=json.dumps(payload),
                              dedup_key=f"{call.id}-{values['event_type']}", **values))


def rows(page: str) -> list[str]:
    return re.findall(r'data-call-id="([^"]+)"', page)


def test_list_is_newest_first(app, signed_in):
    older = add_call(app, created_at=T0)
    newer = add_call(app, created_at=T0 + timedelta(minutes=5))
    page = signed_in.get("/calls").get_data(as_text=True)
    assert rows(page) == [newer.id, older.id]


def test_list_filters(app, signed_in):
    busy = add_call(app, created_at=T0, status="busy", from_number="+919876543211", custom_field="Order-42 reminder")
    done = add_call(app, status="completed", from_number="+919876543210", custom_field="renewal 100%",
                    created_at=T0 + timedelta(days=2))
    get = lambda query: rows(signed_in.get("/calls?" + query).get_data(as_text=True))  # noqa: E731
    assert get("status=busy") == [busy.id]
    assert get("number=098765 43211") == [busy.id]  # national form is read as Indian
    assert get("q=order-42") == [busy.id]  # substring, any case
    assert get("q=100%25") == [done.id]  # % is literal, not a wildcard
    assert get("q=_") == []
    assert get("since=2024-05-11") == [done.id]
    assert get("until=2024-05-10") == [busy.id]
    assert get("since=2024-05-10&until=2024-05-12") == [done.id, busy.id]
    assert get("status=completed&number=%2B919876543211") == []


def test_date_filters_use_the_viewers_zone(app, signed_in):
    # 20:00 UTC on the 10th is already the 11th in Kolkata (UTC+5:30).
    late = add_call(app, created_at=datetime(2024, 5, 10, 20, 0, tzinfo=UTC))
    assert rows(signed_in.get("/calls?since=2024-05-11").get_data(as_text=True)) == [late.id]
    signed_in.set_cookie("tz", "UTC")
    assert rows(signed_in.get("/calls?since=2024-05-11").get_data(as_text=True)) == []


def test_bad_filters_are_explained(signed_in):
    response = signed_in.get("/calls?status=bogus&number=12ab&since=yesterday")
    assert response.status_code == 200  # the page, with each error beside its field
    page = response.get_data(as_text=True)
    assert "Unknown status." in page and "only its last digits" in page and "Use a date like" in page


def test_pagination(app, signed_in):
    ids = [add_call(app, created_at=T0 + timedelta(seconds=i)).id for i in range(30)]
    ids.reverse()
    page = signed_in.get("/calls?status=completed").get_data(as_text=True)
    assert rows(page) == ids[:25]
    older = re.search(r'href="([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    assert "status=completed" in older
    page2 = signed_in.get(older).get_data(as_text=True)
    assert rows(page2) == ids[25:]
    assert 'rel="next"' not in page2
    assert "Newest" in page2
    bad = signed_in.get("/calls?cursor=garbage")
    assert bad.status_code == 200 and rows(bad.get_data(as_text=True)) == ids[:25]


def test_what_people_and_exotel_wrote_is_escaped(app, signed_in):
    call = add_call(app, created_at=T0, custom_field=XSS, sid="sid-1", error_message=XSS, status="rejected")
    add_event(app, call, {"CallSid": "sid-1", "Status": "completed", "CustomField": XSS, "Legs": [{"Status": XSS}]})
    for path in ("/calls", f"/calls/{call.id}", f"/calls/{call.id}/status.json"):
        body = signed_in.get(path).get_data(as_text=True)
        if path.endswith(".json"):
            body = json.loads(body)["html"]
        assert "<script>alert" not in body and "<img src=x" not in body, path
        assert "&lt;script&gt;alert(" in body, path
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert 'Raw payload' in page and "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize(
    "url, linked",
    [
        ("https://recordings.exotel.com/a.mp3", True),
        ("http://recordings.exotel.com/a.mp3", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<b>x</b>", False),
        ("//evil.example/a.mp3", False),
    ],
)
def test_recording_link_only_for_http_urls(app, signed_in, url, linked):
    call = add_call(app, created_at=T0, recording_url=url)
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert ("Listen</a>" in page) is linked
    if not linked:
        assert "javascript:" not in page and 'href="data:' not in page


def test_call_page_shows_timeline_legs_and_times_in_the_viewers_zone(app, signed_in):
    call = add_call(app, created_at=T0, sid="sid-2", status="completed", conversation_duration=42,
                    placed_at=T0, answered_at=T0 + timedelta(seconds=5))
    add_event(app, call, {"CallSid": "sid-2", "EventType": "answered", "Status": "in-progress"},
              event_type="answered", status="in-progress", occurred_at=T0 + timedelta(seconds=5))
    add_event(app, call, {"CallSid": "sid-2", "EventType": "terminal", "Status": "completed",
                          "Legs[0][Status]": "completed", "Legs[0][OnCallDuration]": "47",
                          "Legs[1][Status]": "completed", "Legs[1][OnCallDuration]": "42"})
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Answered" in page and "Ended" in page and "42 s" in page and "47 s" in page
    assert "2024-05-10 11:30:05 IST" in page  # the answered event, in Asia/Kolkata
    assert 'data-final="true"' in page
    signed_in.set_cookie("tz", "Europe/London")
    page = signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "2024-05-10 07:00:05 BST" in page
    signed_in.set_cookie("tz", "Not/AZone")
    assert "2024-05-10 11:30:05 IST" in signed_in.get(f"/calls/{call.id}").get_data(as_text=True)


def test_status_json_sends_the_fragment_only_when_something_changed(app, signed_in):
    call = add_call(app, created_at=T0, status="in-progress")
    first = signed_in.get(f"/calls/{call.id}/status.json").json
    assert first["status"] == "in-progress" and first["final"] is False and "Updating live" in first["html"]
    same = signed_in.get(f"/calls/{call.id}/status.json?version={first['version']}").json
    assert "html" not in same
    with app.app_context(), get_db().transaction() as session:
        session.get(Call, call.id).status = "completed"
    done = signed_in.get(f"/calls/{call.id}/status.json?version={first['version']}").json
    assert done["final"] is True and "Completed" in done["html"]
    assert signed_in.get("/calls/nope/status.json").status_code == 404


def test_list_status_json_returns_rows(app, signed_in):
    live = add_call(app, created_at=T0, status="ringing")
    done = add_call(app, created_at=T0, status="busy")
    data = signed_in.get(f"/calls/status.json?ids={live.id},{done.id},missing").json["calls"]
    assert set(data) == {live.id, done.id}
    assert data[live.id]["final"] is False and data[done.id]["final"] is True
    assert f'id="call-{live.id}"' in data[live.id]["html"]


def test_unknown_call_is_404(signed_in):
    response = signed_in.get("/calls/does-not-exist")
    assert response.status_code == 404 and "No call with that id." in response.get_data(as_text=True)


def test_settings_store_the_time_zone_in_a_cookie(signed_in):
    token = page_token(signed_in, "/settings")
    response = signed_in.post("/settings", data={"csrf_token": token, "timezone": "America/New_York"})
    assert response.status_code == 303
    assert "tz=America/New_York" in response.headers["Set-Cookie"]
    assert "America/New_York" in signed_in.get("/calls").get_data(as_text=True)
    bad = signed_in.post("/settings", data={"csrf_token": token, "timezone": "Mars/Olympus"})
    assert bad.status_code == 422


def test_security_headers_and_no_inline_script(client, signed_in, app):
    call = add_call(app, created_at=T0)
    for path in ("/login", "/calls", "/calls/new", f"/calls/{call.id}", "/settings"):
        response = signed_in.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        body = response.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", body):
            assert 'src="/static/' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", body), path  # no inline event handlers
        assert "style=" not in body, path
    with signed_in.get("/static/app.css") as static:
        assert static.status_code == 200
        assert static.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_load_nothing_from_other_sites(signed_in, app):
    for path in ("/login", "/calls", "/calls/new", "/settings"):
        body = signed_in.get(path).get_data(as_text=True)
        for url in re.findall(r'(?:src|href)="([^"]+)"', body):
            assert url.startswith(("/", "#")), (path, url)


def test_simulator_banner(app_factory, signed_in):
    # The test app talks to Exotel credentials (the simulator behind EXOTEL_API_BASE): no banner.
    assert "Simulator:" not in signed_in.get("/calls").get_data(as_text=True)
    plain = app_factory(EXOTEL_ACCOUNT_SID="", EXOTEL_API_KEY="", EXOTEL_API_TOKEN="")
    assert "Simulator:" in plain.test_client().get("/login").get_data(as_text=True)


def test_api_and_webhooks_are_exempt_from_csrf_and_nothing_else(app, auth_headers, client):
    response = client.post("/api/calls", json={"from": "+919876543210", "app_id": "1"}, headers=auth_headers)
    assert response.status_code == 201
    call_id = response.json["id"]
    hook = client.post(f"/webhooks/exotel/{call_id}/wrong-token", data={"CallSid": "x", "Status": "completed"})
    assert hook.status_code == 403  # the per-call token decides, not CSRF (which would be 400)
    exempt = app.extensions["csrf"]._exempt_blueprints
    assert {getattr(bp, "name", bp) for bp in exempt} == {"api", "webhooks"}
    assert not app.extensions["csrf"]._exempt_views


def field_error(page: str, field: str) -> str:
    """The error shown beside a filter field of the calls list."""
    match = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', page)
    assert match, f"no error beside {field}"
    return match.group(1)


@pytest.mark.parametrize(
    "zone, query, field",
    [
        (None, "since=0001-01-01", "since"),  # midnight in Kolkata is still year 0 in UTC
        (None, "until=9999-12-31", "until"),  # the day after the last day
        ("UTC", "until=9999-12-31", "until"),
        ("America/New_York", "until=9999-12-31", "until"),
        ("Asia/Tokyo", "since=0001-01-01", "since"),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_explained(app, signed_in, zone, query, field):
    """A day whose start, in the viewer's zone, lies outside years 1-9999 in UTC: the error beside the field."""
    call = add_call(app, created_at=T0)
    if zone:
        signed_in.set_cookie("tz", zone)
    response = signed_in.get(f"/calls?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "between" in field_error(page, field)
    assert rows(page) == [call.id]  # the list without the filter it could not apply
    export = signed_in.get(f"/calls.csv?{query}")
    assert export.status_code == 400 and "between" in export.get_data(as_text=True)


def test_the_ends_of_the_calendar_that_fit_still_filter(app, signed_in):
    call = add_call(app, created_at=T0)
    signed_in.set_cookie("tz", "UTC")
    assert rows(signed_in.get("/calls?since=0001-01-01&until=9999-12-30").get_data(as_text=True)) == [call.id]
    export = signed_in.get("/calls.csv?since=0001-01-01&until=9999-12-30")
    assert export.status_code == 200 and call.id in export.get_data(as_text=True)


@pytest.mark.parametrize(
    "query, field",
    [("q=%00", "q"), ("q=order%00-42", "q"), ("q=" + "x" * 129, "q"), ("number=%00", "number"), ("since=%00", "since")],
)
def test_nul_and_overlong_filters_are_explained(app, signed_in, query, field):
    """NUL, which PostgreSQL cannot compare, or a search longer than any custom field: explained beside the field, on both databases."""
    call = add_call(app, created_at=T0, custom_field="order-42")
    response = signed_in.get(f"/calls?{query}")
    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), field)
    assert rows(response.get_data(as_text=True)) == [call.id]
    export = signed_in.get(f"/calls.csv?{query}")
    assert export.status_code == 400 and export.get_data(as_text=True).strip()


@pytest.mark.parametrize("path", ["/calls/%00", "/calls/abc%00def", "/calls/%00/status.json", "/calls/" + "x" * 65])
def test_ids_no_call_can_have_are_404(signed_in, path):
    assert signed_in.get(path).status_code == 404


def test_list_status_json_ignores_ids_no_call_can_have(app, signed_in):
    live = add_call(app, created_at=T0, status="ringing")
    response = signed_in.get(f"/calls/status.json?ids=%00,abc%00,{live.id}")
    assert response.status_code == 200 and set(response.json["calls"]) == {live.id}


@pytest.mark.parametrize(
    "cursor",
    [
        "WzEsIDJd",  # [1, 2]
        "WyIwMDAxLTAxLTAxVDAwOjAwOjAwKzA1OjAwIiwgIngiXQ",  # ["0001-01-01T00:00:00+05:00", "x"]
        "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTA1OjAwIiwgIngiXQ",  # ["9999-12-31T23:59:59-05:00", "x"]
        "WyIyMDI0LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgImFcdTAwMDBiIl0",  # [..., "a\u0000b"]
        "WyIyMDI0LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgIlx1ZDgwMCJd",  # [..., "\ud800"]
        "W1tb" * 30_000,  # [[[...
    ],
)
def test_tampered_cursors_show_the_newest_page(app, signed_in, cursor):
    call = add_call(app, created_at=T0)
    response = signed_in.get(f"/calls?cursor={cursor}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "That page link is no longer valid" in page and rows(page) == [call.id]
