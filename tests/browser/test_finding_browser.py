"""In Chromium: the status word while a call rings and after, its timeline, and finding a call in the list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from browser_helpers import EMAIL
from playwright.sync_api import expect

from tests.support.calls import add_call, callback_path
from tests.support.signin import sign_in_page


def _ids(page) -> list[str]:
    return page.locator("tbody tr[data-call-id]").evaluate_all("rows => rows.map(row => row.dataset.callId)")


def test_a_ringing_call_says_calling_then_in_progress_then_completed(served, sim, page):
    app, base_url = served
    sim.state.configure(speed=1.0)  # real time: 2 s of ringing, 3 s of talk for a number ending in 00
    sign_in_page(page, base_url, EMAIL)
    page.goto(f"{base_url}/calls/new")
    page.get_by_label("Customer number (From)").fill("+91 98765 43200")
    page.get_by_label("Flow: app id or flow URL").fill("123456")
    page.get_by_role("button", name="Place call").click()
    page.wait_for_url(re.compile(r".*/calls/[0-9a-f-]{36}$"))
    badge = page.locator("#call-live .status-line .badge")
    expect(badge).to_have_text("Calling", timeout=1_500)
    expect(badge).to_have_text("In progress", timeout=5_000)
    expect(badge).to_have_text("Completed", timeout=8_000)
    steps = page.locator(".timeline li[data-step]")
    assert steps.evaluate_all("items => items.map(item => item.dataset.step)") == ["requested", "accepted", "answered", "terminal"]
    expect(page.locator('.timeline [data-step="answered"] .tl-gap')).to_have_text("Ring time 2 s")
    expect(page.locator('.timeline [data-step="terminal"] .tl-gap')).to_have_text("Talk time 3 s")
    expect(page.locator('.timeline [data-step="terminal"] .badge')).to_have_text("Completed")
    assert page.locator('.timeline [data-step="answered"] time[title^="Received "]').count() == 1
    assert page.console_errors == []


def test_the_list_row_of_a_ringing_call_turns_from_calling_to_in_progress(served, page):
    app, base_url = served
    sid = "f00dfeed" * 4
    now = datetime.now(UTC)
    call = add_call(app, sid=sid, status="in-progress", created_at=now, placed_at=now)
    sign_in_page(page, base_url, EMAIL)
    badge = page.locator(f"#call-{call.id} .badge")
    expect(badge).to_have_text("Calling")

    def callback(**fields: str) -> None:
        response = requests.post(base_url + callback_path(call.id), data={"CallSid": sid, **fields}, timeout=5)
        assert response.status_code == 200

    stamp = now.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M:%S")  # as Exotel writes its times
    callback(EventType="answered", Status="in-progress", DateUpdated=stamp)
    expect(badge).to_have_text("In progress", timeout=6_000)  # the list polls every 2 s
    callback(EventType="terminal", Status="completed", DateUpdated=stamp, ConversationDuration="5")
    expect(badge).to_have_text("Completed", timeout=6_000)
    assert page.console_errors == []


def test_finding_a_call_by_its_last_digits_sid_exophone_and_flow(served, page):
    app, base_url = served
    now = datetime.now(UTC)
    wanted = add_call(app, from_number="+919876543212", sid="SIDWANTED01", caller_id="02248906789",
                      flow_url="http://my.exotel.com/testaccount/exoml/start_voice/77", created_at=now)
    other = add_call(app, from_number="+919876543210", sid="SIDOTHER002", status="busy", created_at=now - timedelta(minutes=1))
    sign_in_page(page, base_url, EMAIL)
    expect(page.locator("#calls-total")).to_contain_text("2 calls")

    number = page.get_by_label("Number")
    number.fill("43212")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#calls-total")).to_contain_text("1 call matches")
    assert _ids(page) == [wanted.id]

    page.get_by_label("Number").fill("")
    page.get_by_label("Call Sid").fill("  SIDOTHER002 ")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#calls-total")).to_contain_text("1 call")
    assert _ids(page) == [other.id]

    page.goto(f"{base_url}/calls")
    page.get_by_label("ExoPhone").fill("022 4890 6789")
    page.get_by_label("Flow").fill("77")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#calls-total")).to_contain_text("1 call")
    assert _ids(page) == [wanted.id]
    expect(page.locator(f"#call-{wanted.id}")).to_contain_text("App 77")

    # A number that is not one: the error sits beside the field, and the other filters' table stays.
    page.goto(f"{base_url}/calls")
    page.get_by_label("Status").select_option(label="Busy")
    page.get_by_label("Number").fill("12ab")
    page.get_by_role("button", name="Filter").click()
    field = page.get_by_label("Number")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(r"only its last digits"))
    expect(page.locator("#f-number-error")).to_be_visible()
    assert _ids(page) == [other.id]
    expect(page.locator(".pager")).to_contain_text("Correct the filters above")
    assert page.locator('a[href^="/calls.csv"]').count() == 0
    assert page.console_errors == []
