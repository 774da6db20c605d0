"""The calls list as people use it to find a call: its count, columns, filter choices, errors, CSV and status words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, update

from tests.support.calls import add_call
from tests.support.csvfiles import csv_download
from webapp.db import get_db
from webapp.models import Call
from webapp.web.browser.status_words import call_label


def _rows(page: str) -> list[str]:
    return re.findall(r'data-call-id="([^"]+)"', page)


def _input(page: str, field_id: str) -> str:
    match = re.search(rf'<(?:input|select) id="{field_id}"[^>]*>', page)
    assert match, field_id
    return match.group(0)


def test_the_list_counts_what_matches_and_shows_exophone_flow_and_who_placed_it(app, signed_in, api_token):
    now = datetime.now(UTC)
    mine = add_call(app, from_number="+919876543212", created_by="user:ops@example.com", created_at=now)
    add_call(app, caller_id="02248906789", flow_url="https://flows.example.com/ivr", created_by="token:crm",
             created_at=now - timedelta(minutes=1))
    old = add_call(app, created_by="campaign:7", created_at=datetime(now.year - 1, 6, 1, 6, 0, tzinfo=UTC))
    page = signed_in.get("/calls").get_data(as_text=True)
    assert re.search(r'<strong class="num">3</strong> calls', page)
    assert '<th scope="col">ExoPhone</th><th scope="col">Flow</th>' in page
    assert "App 4242" in page and "https://flows.example.com/ivr" in page and "02248906789" in page
    assert ">ops@example.com</td>" in page and ">API token crm</td>" in page and ">Campaign 7</td>" in page
    # A date of another year says its year; this year's do not.
    assert f"01 Jun {now.year - 1} 11:30:00" in page
    shown = re.search(rf'id="call-{mine.id}".*?<time [^>]*>([^<]*)</time>', page, re.S).group(1)
    assert re.fullmatch(r"\d\d [A-Z][a-z]{2} \d\d:\d\d:\d\d", shown), shown
    # Who placed calls: the users and API tokens, to choose from.
    assert '<option value="user:ops@example.com">ops@example.com</option>' in page
    assert '<option value="token:tests">API token tests</option>' in page
    one = signed_in.get("/calls?number=43212").get_data(as_text=True)
    assert _rows(one) == [mine.id] and re.search(r'<strong class="num">1</strong> call matches these filters', one)
    # A value no user or token has (a campaign's) stays chosen.
    by_campaign = signed_in.get("/calls?created_by=campaign:7").get_data(as_text=True)
    assert _rows(by_campaign) == [old.id]
    assert '<option value="campaign:7" selected>Campaign 7</option>' in by_campaign


def test_an_invalid_filter_keeps_the_table_and_is_explained_beside_its_field(app, signed_in):
    done = add_call(app, status="completed")
    add_call(app, status="busy")
    response = signed_in.get("/calls?number=12ab&status=completed&sid=" + "x" * 70)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for field, error_id in (("f-number", "f-number-error"), ("f-sid", "f-sid-error")):
        tag = _input(page, field)
        assert 'aria-invalid="true"' in tag and error_id in re.search(r'aria-describedby="([^"]+)"', tag).group(1)
        assert f'<p class="error" id="{error_id}">' in page
    assert "only its last digits" in page and "The Call Sid is limited to 64 characters." in page
    assert _rows(page) == [done.id]  # the valid filter still applies
    assert "/calls.csv" not in page and "Correct the filters above to download" in page
    # Asked for anyway, the CSV says what is wrong, on a page that leads back.
    export = signed_in.get("/calls.csv?number=12ab&status=completed")
    assert export.status_code == 400 and export.mimetype == "text/html"
    body = export.get_data(as_text=True)
    assert "Number:</strong> Type the number, or only its last digits" in body
    assert 'href="/calls?status=completed&amp;number=12ab"' in body
    valid = signed_in.get("/calls?number=43210&status=completed").get_data(as_text=True)
    assert 'href="/calls.csv?status=completed&amp;number=43210"' in valid


def test_the_csv_honours_every_new_filter(app, signed_in):
    wanted = add_call(app, from_number="+919876543212", sid="abc123", caller_id="02248906789", created_by="token:crm")
    add_call(app, from_number="+919876543212", sid="abc124", caller_id="08047112345", created_by="token:crm")
    add_call(app, from_number="+919876543299", sid="abc125", caller_id="02248906789", created_by="token:crm")
    for query in ({"number": "3212", "exophone": "022 4890 6789"}, {"sid": " abc123 "},
                  {"flow": "4242", "created_by": "token:crm", "number": "+91 98765-43212", "exophone": "02248906789"}):
        rows = csv_download(signed_in.get("/calls.csv", query_string=query))
        assert [row["id"] for row in rows] == [wanted.id], query


def test_the_status_word_says_calling_until_the_call_is_answered(app, signed_in):
    ringing = add_call(app, status="in-progress", sid="ring1")
    page = signed_in.get("/calls").get_data(as_text=True)
    assert 'data-status="in-progress" data-shown="calling">Calling</span>' in page
    assert ">Calling</span>" in signed_in.get(f"/calls/{ringing.id}").get_data(as_text=True)
    polled = signed_in.get(f"/calls/{ringing.id}/status.json").json
    assert polled["status"] == "in-progress" and polled["label"] == "Calling" and ">Calling<" in polled["html"]
    listed = signed_in.get(f"/calls/status.json?ids={ringing.id}").json["calls"][ringing.id]
    assert listed["status"] == "in-progress" and listed["label"] == "Calling" and ">Calling<" in listed["html"]
    with app.app_context(), get_db().transaction() as session:
        session.execute(update(Call).where(Call.id == ringing.id).values(answered_at=datetime.now(UTC),
                                                                          updated_at=datetime.now(UTC)))
    assert signed_in.get(f"/calls/{ringing.id}/status.json").json["label"] == "In progress"
    listed = signed_in.get(f"/calls/status.json?ids={ringing.id}").json["calls"][ringing.id]
    assert listed["label"] == "In progress" and ">In progress<" in listed["html"]
    # A campaign's attempt, as its page lists them.
    assert call_label({"status": "in-progress", "answered_at": None}) == "Calling"
    assert call_label({"status": "in-progress", "answered_at": datetime.now(UTC).isoformat()}) == "In progress"
    # Answered hours ago, past Exotel's longest TimeLimit, and still no final status: it says so.
    assert call_label({"status": "in-progress", "answered_at": "2024-05-10T06:00:05Z"}) == "Waiting for final status"


def test_the_list_reads_its_rows_in_one_query_however_many_there_are(app, signed_in):
    def statements(path: str) -> int:
        seen: list[str] = []
        engine = app.extensions["database"].engine

        def count(_conn, _cursor, statement, *_args):
            if "calls" in statement:
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert signed_in.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    add_call(app, created_by="user:ops@example.com")
    # The page and the ExoPhone and flow suggestions; a first page holding every match needs no count.
    assert statements("/calls") == 2
    for n in range(24):
        add_call(app, created_by=f"token:t{n}", created_at=datetime.now(UTC) - timedelta(seconds=n))
    assert statements("/calls") == 2
    for n in range(6):
        add_call(app, created_at=datetime.now(UTC) - timedelta(minutes=5, seconds=n))
    page = signed_in.get("/calls").get_data(as_text=True)
    assert len(_rows(page)) == 25 and re.search(r'<strong class="num">31</strong> calls', page)
    assert statements("/calls") == 3  # ...and one more page: the count


def test_a_count_past_the_cap_says_more_than(app, signed_in, monkeypatch):
    monkeypatch.setattr("webapp.web.pages.calls.COUNT_CAP", 2)
    monkeypatch.setattr("webapp.web.pages.calls.PAGE_SIZE", 1)
    for n in range(4):
        add_call(app, created_at=datetime.now(UTC) - timedelta(seconds=n))
    assert 'More than <strong class="num">2</strong> calls' in signed_in.get("/calls").get_data(as_text=True)


def test_a_campaign_call_names_its_campaign_by_name(app, signed_in, auth_headers):
    campaign = signed_in.post("/api/campaigns", headers=auth_headers, json={
        "name": "Payment reminders", "app_id": "1", "contacts": [{"number": "+919876500001"}]}).get_json()
    by = f"campaign:{campaign['id']}"
    call = add_call(app, status="ringing", created_by=by, campaign_id=campaign["id"])
    said = "Payment reminders (campaign)"
    page = signed_in.get("/calls").get_data(as_text=True)
    assert f">{said}</td>" in page and f">Campaign {campaign['id']}<" not in page
    polled = signed_in.get(f"/calls/status.json?ids={call.id}").get_json()["calls"][call.id]["html"]
    assert f">{said}</td>" in polled
    assert f">{said}</a>" in signed_in.get(f"/calls/{call.id}").get_data(as_text=True)
    filtered = signed_in.get(f"/calls?created_by={by}").get_data(as_text=True)
    assert f'<option value="{by}" selected>{said}</option>' in filtered
