"""End to end in headless Chromium: sign in, place calls through the form, watch them live."""

from __future__ import annotations

import re

from browser_helpers import EMAIL, PASSWORD
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.support.signin import sign_in_page
from webapp.db import get_db
from webapp.models import Call


def _shot(page, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def _place(page, base_url: str, number: str, custom: str = "") -> None:
    page.goto(f"{base_url}/calls/new")
    page.get_by_label("Customer number (From)").fill(number)
    page.get_by_label("Flow: app id or flow URL").fill("123456")
    if custom:
        page.get_by_label("Custom field").fill(custom)


def _count(app) -> int:
    with app.app_context():
        return get_db().session().scalar(select(func.count()).select_from(Call))


def test_place_a_call_and_watch_it_complete(served, page, tmp_path):
    app, base_url = served
    sign_in_page(page, base_url, EMAIL)
    _shot(page, tmp_path, "calls-empty")
    _place(page, base_url, "+91 98765 43210", custom='<b>order</b> "42"')
    _shot(page, tmp_path, "place-call")
    page.get_by_role("button", name="Place call").click()
    page.wait_for_url(re.compile(r".*/calls/[0-9a-f-]{36}$"))
    # A marker that a reload would wipe out: the page must update in place.
    page.evaluate("window.__notReloaded = true")
    badge = page.locator("#call-live .status-line .badge")
    expect(badge).to_have_text("Completed", timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True
    expect(page.locator(".timeline")).to_contain_text("Answered")
    expect(page.locator(".timeline")).to_contain_text("Ended")
    expect(page.locator("#call-live")).to_have_attribute("data-final", "true")
    expect(page.locator(".facts")).to_contain_text('<b>order</b> "42"')  # shown as typed, not as markup
    page.locator("summary", has_text="Raw payload").last.click()
    expect(page.locator("pre.payload").last).to_contain_text("CallSid")
    _shot(page, tmp_path, "call-completed")

    # Polling has stopped: no more status requests once final.
    requests = []
    page.on("request", lambda request: requests.append(request.url) if "status.json" in request.url else None)
    page.wait_for_timeout(1500)
    assert requests == []

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calls").click()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("+919876543210")
    expect(row).to_contain_text("Completed")
    _shot(page, tmp_path, "calls-list")
    assert page.console_errors == []


def test_a_refused_call_shows_its_reason(served, page, tmp_path):
    app, base_url = served
    sign_in_page(page, base_url, EMAIL)
    _place(page, base_url, "+91 98765 43219")  # the simulator refuses numbers ending in 9 (403)
    page.get_by_role("button", name="Place call").click()
    alert = page.locator("#refusal")
    expect(alert).to_contain_text("No call was placed")
    expect(alert).to_contain_text("Trial accounts can only call numbers verified")
    expect(alert).to_contain_text("unverified number")
    expect(page.get_by_label("Customer number (From)")).to_have_value("+91 98765 43219")
    _shot(page, tmp_path, "refused")
    alert.get_by_role("link").click()
    expect(page.locator("#call-live .status-line .badge")).to_have_text("Refused by Exotel")
    _shot(page, tmp_path, "refused-call")
    assert page.console_errors == []


def test_a_double_submit_places_one_call(served, page, tmp_path):
    app, base_url = served
    sign_in_page(page, base_url, EMAIL)
    _place(page, base_url, "+91 98765 43214")
    page.get_by_role("button", name="Place call").dblclick()
    page.wait_for_url(re.compile(r".*/calls/[0-9a-f-]{36}$"))
    expect(page.locator("#call-live .status-line .badge")).to_have_text("Completed", timeout=15_000)
    assert _count(app) == 1

    # The same form sent twice by the browser itself (bypassing the button guard): still one call.
    _place(page, base_url, "+91 98765 43215")
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector("form.place-call");
            const send = () => fetch(form.action, {method: "POST", body: new FormData(form), redirect: "manual"});
            const answers = await Promise.all([send(), send()]);
            return answers.map(a => a.type === "opaqueredirect" ? 303 : a.status);
        }"""
    )
    assert statuses == [303, 303]
    assert _count(app) == 2
    _shot(page, tmp_path, "double-submit")


def test_first_visit_creates_the_admin(live_app, page, tmp_path):
    app, server = live_app
    code = app.extensions["setup_code"]
    page.goto(f"{server.url}/")
    page.wait_for_url(re.compile(r".*/setup.*"))
    page.get_by_label("Set-up code").fill(code)
    page.get_by_label("Email").fill("first@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    _shot(page, tmp_path, "setup")
    page.get_by_role("button", name="Create admin and sign in").click()
    page.wait_for_url(f"{server.url}/")  # back where the visit started: the home page
    expect(page.locator(".account")).to_contain_text("first@example.com")


def test_phone_layout(served, browser, tmp_path):
    app, base_url = served
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sign_in_page(page, base_url, EMAIL)
        page.goto(f"{base_url}/calls/new")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the form must not scroll sideways on a phone"
        _shot(page, tmp_path, "phone-place-call")
    finally:
        context.close()
