"""In headless Chromium: a call page left open turns from "Calling" to waiting for Exotel's final status by itself
once the call is past its ring timeout, says so once, and "Ask Exotel now" settles it; then Call again is offered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from browser_helpers import EMAIL, RECORD_ANNOUNCEMENTS, announcements, axe_violations
from playwright.sync_api import expect

from tests.support.calls import add_call
from tests.support.signin import sign_in_page
from webapp.config.tuning import with_clock

FLOW = "http://my.exotel.com/testaccount/exoml/start_voice/4242"


def test_the_open_call_page_says_when_a_call_waits_for_exotel_and_asks_it(served, page, sim, axe_source):
    app, base_url = served
    sid = sim.state.place_call(from_number="09876543210", caller_id="08047112345", flow_url=FLOW).sid
    assert sim.state.wait_idle(10)  # ended at Exotel; its callbacks went nowhere
    t0 = datetime.now(UTC).replace(microsecond=0)
    call = add_call(app, id=str(uuid.uuid4()), sid=sid, status="in-progress", placed_at=t0, created_at=t0, time_out=30)
    page.context.add_init_script(RECORD_ANNOUNCEMENTS)
    sign_in_page(page, base_url, EMAIL)
    page.goto(f"{base_url}/calls/{call.id}")
    badge = page.locator("#call-live .status-line .badge")
    expect(badge).to_have_text("Calling")
    expect(page.get_by_role("button", name="Call again")).to_have_count(0)

    with_clock(app, lambda: t0 + timedelta(minutes=2))  # past the ring timeout and the grace: the page follows
    expect(badge).to_have_text("Waiting for final status")
    expect(page.locator("#call-waiting")).to_contain_text("Waiting for Exotel's final status since")
    assert announcements(page) == ["Call status: Waiting for final status"]
    assert axe_violations(page, axe_source) == []

    page.get_by_role("button", name="Ask Exotel now").click()
    expect(page.get_by_text("Exotel says this call has ended: Completed.")).to_be_visible()
    expect(badge).to_have_text("Completed")
    expect(page.get_by_role("button", name="Call again")).to_be_visible()
    expect(page.get_by_role("button", name="Ask Exotel now")).to_have_count(0)
    assert sim.state.detail_requests == [(sid,)]
    assert page.console_errors == []
