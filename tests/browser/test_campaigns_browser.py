"""A campaign in headless Chromium: create it from a CSV, read the preview, Start, watch it finish live.

The dispatcher runs in the test process (as the worker would) against the app's
database; its attempts go to the simulator, whose callbacks reach the served app.
"""

from __future__ import annotations

import re
import time

from browser_helpers import EMAIL, RECORD_ANNOUNCEMENTS, announcements, in_live_region
from playwright.sync_api import expect
from sqlalchemy import select

from tests.support.signin import sign_in_page
from webapp.calls.placing import callback_url
from webapp.calls.updates import advance_call
from webapp.campaigns.dispatch import dispatch, send_attempt, settle, window_of
from webapp.campaigns.models import Campaign
from webapp.db import get_db, utcnow
from webapp.exotel import ConnectRequest, ExotelError
from webapp.exotel.callbacks import EXOTEL_STATUSES
from webapp.exotel_access import exotel_client
from webapp.models import Call

# Row 1 completes and row 2 is busy in the simulator (last digit 1); row 3 is no number; row 4 repeats row 1.
CSV = "number,custom_field\n+919876500010,order-1\n+919876500021,order-2\n12,bad\n+919876500010,again\n"


def _sender(app, base_url: str):
    """Asks the simulator to place one claimed attempt, as the worker does."""
    client = exotel_client(app)

    def send(call_id: str) -> ExotelError | None:
        with app.app_context():
            db = get_db()
            with db.transaction(write=False) as session:
                call = session.get(Call, call_id)
                request = ConnectRequest(
                    from_number=call.from_number, caller_id=call.caller_id, flow_url=call.flow_url,
                    custom_field=call.custom_field, status_callback_events=("answered", "terminal"),
                    status_callback=callback_url(base_url, app.config["SECRET_KEY"], call_id),
                )
            try:
                info = client.connect_to_flow(request)
            except ExotelError as exc:
                with db.transaction() as session:
                    advance_call(session, call_id, status="rejected")
                return exc
            with db.transaction() as session:
                advance_call(session, call_id, sid=info.sid,
                             status=info.status if info.status in EXOTEL_STATUSES else "queued")
        return None

    return send


def _run_until_done(app, base_url: str, campaign_id: int, deadline: float) -> str:
    """Dispatcher rounds until the campaign is completed (or the deadline passes); its last status."""
    send = _sender(app, base_url)
    with app.app_context():
        db = get_db()
        with db.transaction(write=False) as session:
            opens = window_of(session.get(Campaign, campaign_id)).next_open(utcnow())
        offset = max(opens - utcnow(), utcnow() - utcnow())  # the test may run while the window is closed
        status = "running"
        while time.monotonic() < deadline and status != "completed":
            now = utcnow() + offset
            for claimed in dispatch(db, now):
                send_attempt(db, claimed, send, now)
            settle(db, now)
            with db.transaction(write=False) as session:
                status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
            time.sleep(0.2)
    return status


def test_create_preview_start_and_watch_a_campaign_finish(served, page, tmp_path):
    app, base_url = served
    page.context.add_init_script(RECORD_ANNOUNCEMENTS)
    sign_in_page(page, base_url, EMAIL)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    expect(page.get_by_label("ExoPhone (CallerId)")).to_have_value("08047112345")
    page.get_by_label("Name").fill("Payment reminders")
    page.get_by_label("Flow: app id or flow URL").fill("123456")
    page.get_by_label("Contact list (CSV)").set_input_files(
        files=[{"name": "list.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.screenshot(path=str(tmp_path / "new-campaign.png"), full_page=True)
    page.get_by_role("button", name="Import and preview").click()

    preview = page.locator("#preview")
    expect(preview).to_contain_text("2 contacts imported")
    expect(preview).to_contain_text("2 rows not imported")
    rows = page.locator("table.not-imported tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("invalid number")
    expect(rows.nth(1)).to_contain_text("duplicate in the list")
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
    with app.app_context():
        campaign_id = get_db().session().scalar(select(Campaign.id))

    start = page.get_by_role("button", name="Start")
    start.dblclick()  # a double click sends one request
    page.wait_for_url(re.compile(rf".*/campaigns/{campaign_id}$"))
    expect(page.locator(".flash")).to_have_count(1)
    expect(page.locator(".flash")).to_contain_text("Started: calls are placed at up to 60 a minute")
    expect(page.locator("#campaign-live .status-line .badge")).to_have_text("Running")
    page.evaluate("window.__notReloaded = true")

    assert _run_until_done(app, base_url, campaign_id, time.monotonic() + 30) == "completed"
    live = page.locator("#campaign-live")
    expect(live.locator(".status-line .badge")).to_have_text("Completed", timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True
    expect(live.locator('#counts li[data-state="completed"] .num')).to_have_text("1")
    expect(live.locator('#counts li[data-state="exhausted"] .num')).to_have_text("1")
    expect(live.locator("#campaign-progress")).to_have_attribute("value", "2")
    expect(live.locator("svg#chart-campaign-outcomes")).to_be_visible()
    attempt = live.locator("tr", has_text="+919876500021").locator("a.attempt")
    expect(attempt).to_have_text("#1 Busy")
    expect(live).to_have_attribute("data-final", "true")
    # A finished campaign shows no pace, and what Start said of the running campaign is gone.
    expect(live.locator("#pace")).to_have_count(0)
    expect(live.locator("#finish")).to_have_count(0)
    expect(page.locator(".flash")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("calls are placed at up to")
    # Its counts were redrawn on every poll without a word; the new status was said once.
    assert announcements(page) == ["Campaign status: Completed"]
    assert not in_live_region(page, "#campaign-live")
    page.screenshot(path=str(tmp_path / "completed.png"), full_page=True)
    attempt.click()
    page.wait_for_url(re.compile(r".*/calls/[0-9a-f-]{36}$"))
    expect(page.locator(".status-line .badge")).to_have_text("Busy")
    assert page.console_errors == []
