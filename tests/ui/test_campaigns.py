"""The campaign pages: create from a CSV with a preview, start once, control, results CSV, the suppression list."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from tests.support.csvfiles import csv_download
from tests.support.signin import csrf_token
from tests.support.teams import audit_rows
from webapp.campaigns.dispatch import dispatch, window_of
from webapp.campaigns.models import Campaign, CampaignContact, Suppression
from webapp.db import get_db, utcnow
from webapp.jobs import get_jobs
from webapp.models import Call

CSV = (b"number,custom_field\r\n+919876500001,inv-1\r\n12,bad\r\n09876500002,inv-2\r\n"
       b"+919876500001,again\r\n+919876500003,inv-3\r\n")


def _nonce(page: str) -> str:
    match = re.search(r'name="nonce"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="nonce"', page)
    return match.group(1) or match.group(2)


def _fields(**values):
    data = {
        "name": "Payment reminders", "flow": "123456", "caller_id": "08047112345", "calls_per_minute": "30",
        "max_in_flight": "", "window_start": "09:00", "window_end": "21:00",
        "window_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "window_timezone": "Asia/Kolkata",
        "retry_count": "1", "retry_on": ["busy", "no-answer"], "retry_delay": "1", "retry_backoff": "linear",
        "start_at": "", "end_at": "", "call_type": "", "time_limit": "", "time_out": "",
    }
    data.update(values)
    return data


def _create(client, body: bytes = CSV, **values):
    page = client.get("/campaigns/new").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "nonce": _nonce(page), **_fields(**values),
            "file": (io.BytesIO(body), "list.csv")}
    return client.post("/campaigns/new", data=data, content_type="multipart/form-data")


def _campaign(app) -> Campaign:
    with app.app_context():
        return get_db().session().scalars(select(Campaign)).one()


def _open(app):
    """The first instant, from now, when the campaign's calling window is open (the test may run at any hour)."""
    return window_of(_campaign(app)).next_open(utcnow())


def _post(client, path: str, page_path: str):
    token = csrf_token(client.get(page_path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


@pytest.mark.sqlite_only
def test_the_form_defaults_to_the_configured_exophone_and_the_default_window(signed_in):
    page = signed_in.get("/campaigns/new").get_data(as_text=True)
    assert 'value="08047112345"' in page
    assert 'value="09:00"' in page and 'value="21:00"' in page
    assert '<option selected value="Asia/Kolkata">' in page
    assert page.count('name="window_days"') == 7 and page.count("checked") >= 7
    assert 'max="200"' in page  # calls per minute up to EXOTEL_REQUESTS_PER_MINUTE


def test_create_shows_the_rows_not_imported_and_starts_nothing(app, signed_in):
    response = _create(signed_in)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert "3 contacts imported" in page and "2 rows not imported" in page
    rows = re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td></tr>", page)
    assert rows == [("2", "12", "invalid number"), ("4", "+919876500001", "duplicate in the list")]
    campaign = _campaign(app)
    assert (campaign.status, campaign.status_reason) == ("paused", "not started")
    assert campaign.created_by == "user:ops@example.com"
    assert campaign.flow_url.endswith("/start_voice/123456") and campaign.calls_per_minute == 30
    assert (campaign.retry_count, campaign.retry_on, campaign.retry_delay_minutes) == (1, "busy,no-answer", 1)
    with app.app_context():
        assert dispatch(get_db(), _open(app)) == []  # not started: nothing is claimed
    assert f'action="/campaigns/{campaign.id}/start"' in page


def test_a_long_list_of_bad_rows_shows_the_first_thousand_and_links_to_them_all(app, signed_in):
    body = b"number\r\n+919876500001\r\n" + b"".join(b"bad-%d\r\n" % i for i in range(2, 1502))
    page = _create(signed_in, body).get_data(as_text=True)
    assert "1 contact imported" in page and "1500 rows not imported" in page
    assert len(re.findall(r"<tr><td[^>]*>\d+</td>", page)) == 1000 and "The first 1000 of 1500 are listed" in page
    link = re.search(r'id="not-imported-csv" href="([^"]+)"', page).group(1)
    rows = csv_download(signed_in.get(link))
    assert [(row["row_number"], row["number"], row["reason"]) for row in rows] == [
        (str(i), f"bad-{i}", "invalid number") for i in range(2, 1502)]


def test_a_stray_quote_is_shown_beside_the_file_and_nothing_is_created(app, signed_in):
    body = b"number,custom_field\r\n+919876500001,a\r\n+919876500002,\"b\r\n" + b"+919876500003,c\r\n" * 50
    response = _create(signed_in, body)
    assert response.status_code == 422
    assert "Row 2 (line 3 of the file) opens a quote" in response.get_data(as_text=True)
    with app.app_context():
        assert get_db().session().scalars(select(Campaign)).all() == []


def test_a_resubmitted_form_creates_one_campaign(app, signed_in):
    page = signed_in.get("/campaigns/new").get_data(as_text=True)
    hidden = {"csrf_token": csrf_token(page), "nonce": _nonce(page)}
    for _ in range(2):
        response = signed_in.post("/campaigns/new", data={**hidden, **_fields(), "file": (io.BytesIO(CSV), "list.csv")},
                                  content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context():
        assert get_db().session().scalar(select(func.count()).select_from(Campaign)) == 1


@pytest.mark.sqlite_only
def test_a_bad_form_shows_every_error_at_once_and_creates_nothing(app, signed_in):
    response = _create(
        signed_in, body=b"phone\r\n123\r\n", name="", flow="not a flow", caller_id="abc", calls_per_minute="900",
        window_end="08:00", window_days=[], retry_count="9", retry_delay="x",
        start_at="2030-01-02T10:00", end_at="2030-01-01T10:00",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>', page))
    assert errors["name"] == "Give the campaign a name."
    assert errors["flow"].startswith("Give the flow as its app id")
    assert errors["caller_id"].startswith("The ExoPhone is a phone number")
    assert "From 1 to 200 calls a minute" in errors["calls_per_minute"]
    assert errors["window_days"] == "Choose at least one day."
    assert errors["retry_count"] == "From 0 to 5 retries."
    assert errors["retry_delay"] == "Give a whole number, e.g. 30."
    assert errors["end_at"] == "The stop time must be after the start time."
    assert errors["file"] == "The header row has no number column."
    # The window's own rule, once the days are right: it must end after it starts.
    page = _create(signed_in, window_end="08:00").get_data(as_text=True)
    assert "The window must end after it starts" in page
    with app.app_context():
        assert get_db().session().scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_list_with_no_callable_row_is_refused_beside_the_file(app, signed_in):
    response = _create(signed_in, body=b"number\r\n12\r\nabc\r\n")
    assert response.status_code == 422
    assert "No row of the list can be called" in response.get_data(as_text=True)
    with app.app_context():
        assert get_db().session().scalar(select(func.count()).select_from(Campaign)) == 0


def test_the_form_refuses_a_post_without_its_csrf_token(app, signed_in):
    response = signed_in.post("/campaigns/new", data={**_fields(), "file": (io.BytesIO(CSV), "list.csv")},
                              content_type="multipart/form-data")
    assert response.status_code == 400
    _create(signed_in)
    campaign = _campaign(app)
    assert signed_in.post(f"/campaigns/{campaign.id}/start").status_code == 400
    assert signed_in.post("/suppressions", data={"numbers": "+919876500009"}).status_code == 400
    assert _campaign(app).status == "paused"


def test_start_twice_starts_once_then_pause_resume_cancel_say_what_happens(app, signed_in):
    _create(signed_in)
    campaign_id = _campaign(app).id
    page_path = f"/campaigns/{campaign_id}"
    token = csrf_token(signed_in.get(page_path).get_data(as_text=True))
    first = signed_in.post(f"{page_path}/start", data={"csrf_token": token})
    second = signed_in.post(f"{page_path}/start", data={"csrf_token": token})
    assert first.status_code == second.status_code == 303
    assert _campaign(app).status == "running"
    page = signed_in.get(page_path).get_data(as_text=True)
    assert "Started: calls are placed at up to 30 a minute" in page
    assert "already started; nothing changed" in page
    with app.app_context():  # one attempt in flight, so pausing says a call will finish
        assert len(dispatch(get_db(), _open(app))) == 1

    response = _post(signed_in, f"{page_path}/pause", page_path)
    assert response.status_code == 303
    assert "Paused: no new call will be placed; 1 call in progress will finish." in signed_in.get(page_path).get_data(as_text=True)
    assert _campaign(app).status == "paused"
    _post(signed_in, f"{page_path}/resume", page_path)
    assert "Resumed: calls are placed" in signed_in.get(page_path).get_data(as_text=True)
    assert _campaign(app).status == "running"
    _post(signed_in, f"{page_path}/cancel", page_path)
    page = signed_in.get(page_path).get_data(as_text=True)
    assert "Canceled: 2 contacts still waiting will not be called; 1 call in progress will finish." in page
    assert _campaign(app).status == "canceled"
    refused = _post(signed_in, f"{page_path}/resume", page_path)
    assert refused.status_code == 409
    assert "it cannot be resumed" in refused.get_data(as_text=True)


def test_progress_page_and_its_polled_part_show_counts_contacts_and_attempt_links(app, signed_in):
    _create(signed_in)
    campaign_id = _campaign(app).id
    _post(signed_in, f"/campaigns/{campaign_id}/start", f"/campaigns/{campaign_id}")
    with app.app_context():
        assert len(dispatch(get_db(), _open(app))) == 1
        call_id = get_db().session().scalar(select(Call.id).where(Call.campaign_id == campaign_id))
    body = signed_in.get(f"/campaigns/{campaign_id}/live.json").get_json()
    assert body["final"] is False and body["status"] == "running"
    html = body["html"]
    assert f'href="/calls/{call_id}"' in html and "#1 Pending" in html
    assert '<progress max="3" value="0" id="campaign-progress"' in html  # none done until the call ends
    assert re.search(r'data-state="dialing">.*?<span class="num">1</span>', html, re.S)
    assert "chart-campaign-outcomes" in html
    # The same version again: nothing to send.
    again = signed_in.get(f"/campaigns/{campaign_id}/live.json?version={body['version']}").get_json()
    assert "html" not in again or again["version"] != body["version"]
    waiting = signed_in.get(f"/campaigns/{campaign_id}?state=waiting").get_data(as_text=True)
    assert waiting.count('data-contact-id="') == 2
    assert signed_in.get(f"/campaigns/{campaign_id}?state=nope").status_code == 400
    assert signed_in.get(f"/campaigns/{campaign_id}?cursor=%%%").status_code == 400
    assert signed_in.get("/campaigns/999").status_code == 404
    listing = signed_in.get("/campaigns").get_data(as_text=True)
    assert "Payment reminders" in listing and "0 / 3 done" in listing


def test_results_csv_has_one_row_per_contact_with_its_last_call(app, signed_in):
    _create(signed_in)
    campaign_id = _campaign(app).id
    _post(signed_in, f"/campaigns/{campaign_id}/start", f"/campaigns/{campaign_id}")
    with app.app_context():
        assert len(dispatch(get_db(), _open(app))) == 1
        with get_db().transaction() as session:
            call = session.scalars(select(Call).where(Call.campaign_id == campaign_id)).one()
            call.status, call.ended_at, call.conversation_duration = "completed", utcnow(), 42
            contact = session.get(CampaignContact, call.campaign_contact_id)
            contact.state = "completed"
            call_id = call.id
    signed_in.set_cookie("tz", "Asia/Kolkata")
    rows = csv_download(signed_in.get(f"/campaigns/{campaign_id}/results.csv"))
    assert [(row["row_number"], row["state"], row["not_imported_reason"]) for row in rows] == [
        ("1", "completed", ""), ("2", "not imported", "invalid number"), ("3", "waiting", ""),
        ("4", "not imported", "duplicate in the list"), ("5", "waiting", ""),
    ]  # every row of the list, the ones not imported with their reason
    first = rows[0]
    assert first["number"] == "+919876500001"  # a number the product validated, as it is
    assert (first["state"], first["attempts"], first["last_call_id"], first["last_status"]) == ("completed", "1", call_id, "completed")
    assert first["last_conversation_duration"] == "42" and first["last_ended_at"].endswith("+05:30")
    assert (rows[2]["state"], rows[2]["attempts"], rows[2]["last_status"]) == ("waiting", "0", "")
    assert (rows[1]["number"], rows[1]["custom_field"], rows[1]["attempts"]) == ("12", "bad", "")


def test_a_results_csv_imports_again_as_the_same_numbers_and_custom_fields(app, signed_in):
    listed = ("number,custom_field\r\n+919876500001,=1+1\r\n+919876500002,-20% नमस्ते\r\n+14155550123,@Rao, A.\r\n"
              "=HYPERLINK(\"x\"),junk\r\n").encode()
    _create(signed_in, listed)
    first = _campaign(app).id
    exported = signed_in.get(f"/campaigns/{first}/results.csv")
    text = exported.get_data().decode("utf-8-sig")
    assert "+919876500001," in text and "'=1+1" in text and "'=HYPERLINK" in text  # numbers plain, formulas guarded
    _create(signed_in, exported.get_data(), name="Again")
    with app.app_context():
        session = get_db().session()
        second = session.scalars(select(Campaign.id).where(Campaign.name == "Again")).one()

        def contacts(campaign_id):
            return session.execute(select(CampaignContact.row_number, CampaignContact.number, CampaignContact.custom_field)
                                   .where(CampaignContact.campaign_id == campaign_id).order_by(CampaignContact.row_number)).all()
        assert contacts(second) == contacts(first) == [
            (1, "+919876500001", "=1+1"), (2, "+919876500002", "-20% नमस्ते"), (3, "+14155550123", "@Rao")]
    again = csv_download(signed_in.get(f"/campaigns/{second}/not-imported.csv"))
    assert again == [{"row_number": "4", "number": "'=HYPERLINK(\"x\")", "custom_field": "junk", "reason": "invalid number"}]


def test_suppressions_added_by_paste_and_csv_then_removed(app, signed_in):
    token = csrf_token(signed_in.get("/suppressions").get_data(as_text=True))
    response = signed_in.post("/suppressions", data={
        "csrf_token": token, "numbers": "+919876500001, 09876500002\n+919876500001", "reason": "asked not to be called",
        "file": (io.BytesIO(b"number\r\n+919876500003\r\n"), "dnc.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 303
    page = signed_in.get("/suppressions").get_data(as_text=True)
    assert "Suppressed 3 numbers" in page and "asked not to be called" in page
    with app.app_context():
        assert sorted(get_db().session().scalars(select(Suppression.number))) == [
            "+919876500001", "+919876500002", "+919876500003"]
    # A bad number anywhere: nothing is added, and the line is named.
    bad = signed_in.post("/suppressions", data={"csrf_token": token, "numbers": "+919876500004\n12"})
    assert bad.status_code == 422
    assert "pasted number 2: “12” is not a valid phone number" in bad.get_data(as_text=True)
    # Suppressed numbers are not imported by a new campaign: here every number of the list is.
    assert "No row of the list can be called" in _create(signed_in).get_data(as_text=True)
    removed = signed_in.post("/suppressions/remove", data={"csrf_token": token, "number": "+919876500001"})
    assert removed.status_code == 303
    assert "+919876500001 is no longer suppressed" in signed_in.get("/suppressions").get_data(as_text=True)
    preview = _create(signed_in).get_data(as_text=True)
    assert "1 contact imported" in preview and "2 suppressed" in preview
    assert signed_in.post("/suppressions/remove", data={"csrf_token": token, "number": "+919876500001"}).status_code == 404
    with app.app_context():
        assert get_db().session().scalar(select(func.count()).select_from(Suppression)) == 2


@pytest.mark.sqlite_only
def test_pages_need_a_signed_in_user(client):
    for path in ("/campaigns", "/campaigns/new", "/suppressions", "/campaigns/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_outcomes_over_time_counts_attempts_per_stretch_by_outcome(app, signed_in):
    from datetime import UTC, datetime, timedelta

    from webapp.campaigns.queries import outcomes_over_time

    _create(signed_in)
    campaign_id = _campaign(app).id
    t0 = datetime(2026, 12, 1, 4, 30, 10, tzinfo=UTC)
    placed = [(0, "completed"), (20, "busy"), (70, "completed"), (75, "rejected"), (200, "ringing")]
    with app.app_context(), get_db().transaction(write=False) as session:
        assert outcomes_over_time(session, campaign_id).starts == []
    with app.app_context():
        with get_db().transaction() as session:
            for seconds, status in placed:
                session.add(Call(from_number="+919876500001", caller_id="08047112345", flow_url="http://x/y",
                                 status=status, created_at=t0 + timedelta(seconds=seconds), campaign_id=campaign_id))
        with get_db().transaction(write=False) as session:
            data = outcomes_over_time(session, campaign_id)
    assert data.bucket == timedelta(minutes=1)
    assert data.starts == [datetime(2026, 12, 1, 4, m, tzinfo=UTC) for m in (30, 31, 32, 33)]
    assert data.counts["completed"] == [1, 1, 0, 0]
    assert data.counts["busy"] == [1, 0, 0, 0]
    assert data.counts["refused"] == [0, 1, 0, 0]
    assert data.counts["in progress"] == [0, 0, 0, 1]


def test_start_is_audited_as_a_start_and_a_finished_campaign_shows_no_pace(app, signed_in):
    _create(signed_in)
    campaign_id = _campaign(app).id
    page_path = f"/campaigns/{campaign_id}"
    for action in ("start", "start", "pause", "resume"):
        assert _post(signed_in, f"{page_path}/{action}", page_path).status_code == 303
    target = f"campaign:{campaign_id}"
    assert [(row.action, row.target) for row in audit_rows(app) if row.action.startswith("campaign.")] == [
        ("campaign.create", target), ("campaign.start", target), ("campaign.pause", target), ("campaign.resume", target),
    ]
    running = signed_in.get(page_path).get_data(as_text=True)
    assert "Pace now" in running and 'id="finish"' in running
    assert _post(signed_in, f"{page_path}/cancel", page_path).status_code == 303
    finished = signed_in.get(page_path).get_data(as_text=True)
    assert "Canceled" in finished
    assert "Pace now" not in finished and 'id="pace"' not in finished and 'id="finish"' not in finished
    assert "Resumed" not in finished
    live = signed_in.get(f"{page_path}/live.json").get_json()
    assert live["final"] is True and "Pace now" not in live["html"]


def test_the_first_resume_of_a_campaign_created_in_the_browser_is_its_start(app, signed_in, auth_headers):
    _create(signed_in)
    campaign_id = _campaign(app).id
    assert signed_in.post(f"/api/campaigns/{campaign_id}/resume", headers=auth_headers).status_code == 200
    assert signed_in.post(f"/api/campaigns/{campaign_id}/pause", headers=auth_headers).status_code == 200
    assert signed_in.post(f"/api/campaigns/{campaign_id}/resume", headers=auth_headers).status_code == 200
    assert [row.action for row in audit_rows(app) if row.action.startswith("campaign.")] == [
        "campaign.create", "campaign.start", "campaign.pause", "campaign.resume",
    ]


def test_start_and_resume_wake_the_dispatcher_pause_and_cancel_do_not(app, signed_in):
    """Start and Resume queue a dispatcher run at once (the first call within seconds, not at the minute's tick)."""
    def woken() -> int:
        return sum(task.name == "dispatch_campaigns" for task in get_jobs(app).huey.pending())

    _create(signed_in)
    page_path = f"/campaigns/{_campaign(app).id}"
    before = woken()
    _post(signed_in, f"{page_path}/start", page_path)
    assert woken() == before + 1
    _post(signed_in, f"{page_path}/pause", page_path)
    assert woken() == before + 1
    _post(signed_in, f"{page_path}/resume", page_path)
    assert woken() == before + 2
    _post(signed_in, f"{page_path}/cancel", page_path)
    assert woken() == before + 2
