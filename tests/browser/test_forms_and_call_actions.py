"""In headless Chromium: forms that show every fault at once, and the call page's actions (call again, copy, play)."""

from __future__ import annotations

import re

from browser_helpers import EMAIL, axe_violations
from playwright.sync_api import expect
from sqlalchemy import select

from tests.support.signin import sign_in_page
from webapp.db import get_db
from webapp.models import Call

CALL_PAGE = re.compile(r".*/calls/([0-9a-f-]{36})$")


def _call(app, call_id: str) -> Call:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.get(Call, call_id)


def _calls(app) -> list[Call]:
    with app.app_context(), get_db().transaction(write=False) as session:
        return list(session.scalars(select(Call).order_by(Call.created_at)))


def test_the_place_call_form_shows_five_faults_at_once(served, browser, axe_source):
    app, base_url = served
    # axe is injected as a script the page's CSP would refuse; the app's own scripts load as served.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in_page(page, base_url, EMAIL)
        page.goto(f"{base_url}/calls/new")
        counter = page.locator("#custom_field-counter")
        expect(counter).to_have_text("0 / 128")
        page.get_by_label("Customer number (From)").fill("12")
        page.get_by_label("ExoPhone (CallerId)").fill("abc")
        page.get_by_label("Flow: app id or flow URL").fill("not a flow")
        page.get_by_label("Time limit (seconds)").fill("99999")
        page.get_by_label("Custom field").fill("x" * 200)
        # Typed in full, never cut at 128; the counter says by how much it is over.
        expect(page.get_by_label("Custom field")).to_have_value("x" * 200)
        expect(counter).to_have_text("200 / 128: 72 too many")
        expect(counter).to_have_class(re.compile(r"\bover\b"))
        expect(page.locator("#custom_field-counter-status")).to_have_text("72 characters too many")
        page.get_by_role("button", name="Place call").click()

        summary = page.locator("#error-summary")
        expect(summary).to_contain_text("Correct these 5 fields")
        expect(summary).to_be_focused()
        messages = {
            "Customer number (From)": "Customer number is not a valid phone number",
            "ExoPhone (CallerId)": "ExoPhone must be a phone number of 6 to 16 digits",
            "Flow: app id or flow URL": "Flow must be an app id",
            "Time limit (seconds)": "Time limit must be a whole number of seconds from 1 to 14400.",
            "Custom field": "Custom field is limited to 128 characters; this one has 200.",
        }
        for label, message in messages.items():
            field = page.get_by_label(label)
            expect(field).to_have_attribute("aria-invalid", "true")
            expect(field).to_have_accessible_description(re.compile(re.escape(message)))
        expect(page.locator(".field .error")).to_have_count(5)
        expect(page.get_by_label("Custom field")).to_have_value("x" * 200)  # what was typed stays
        expect(page.get_by_label("Time limit (seconds)")).to_have_value("99999")
        assert "EXOTEL_" not in page.content() and "time_limit" not in page.inner_text("main")
        # A summary link moves the focus into its field.
        summary.get_by_role("link", name=re.compile("Time limit")).click()
        expect(page.get_by_label("Time limit (seconds)")).to_be_focused()
        assert axe_violations(page, axe_source) == []
        assert _calls(app) == []
    finally:
        context.close()


def test_the_first_run_page_flags_a_wrong_code_and_a_bad_password_together(live_app, page):
    app, server = live_app
    page.goto(f"{server.url}/setup")
    page.get_by_label("Set-up code").fill("WRNG-CODE-ZZZZ")
    page.get_by_label("Email").fill("first@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Create admin and sign in").click()
    expect(page.locator("#setup_code-error")).to_have_text("That is not the code printed on the server's console.")
    expect(page.locator("#password-error")).to_contain_text("The password needs 10 to 1024 characters")
    expect(page.get_by_label("Set-up code")).to_have_accessible_description(re.compile("not the code printed"))
    expect(page.locator("#error-summary")).to_contain_text("Correct these 2 fields")
    expect(page.get_by_label("Set-up code")).to_have_value("")  # never written back into the page
    expect(page.get_by_label("Email")).to_have_value("first@example.com")


def test_call_again_copy_the_sid_and_play_the_recording(served, browser):
    app, base_url = served
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in_page(page, base_url, EMAIL)
        page.goto(f"{base_url}/calls/new")
        page.get_by_label("Customer number (From)").fill("+91 98765 43210")
        page.get_by_label("Flow: app id or flow URL").fill("123456")
        page.get_by_label("Time limit (seconds)").fill("120")
        page.get_by_label("Custom field").fill("order-7")
        page.get_by_role("button", name="Place call").click()
        page.wait_for_url(CALL_PAGE)
        first_id = CALL_PAGE.match(page.url).group(1)
        expect(page.locator("#call-live .status-line .badge")).to_have_text("Completed", timeout=15_000)
        first = _call(app, first_id)

        # Copy the Call Sid with the keyboard: it lands on the clipboard, and the page says so politely.
        copy = page.get_by_role("button", name="Copy Call Sid")
        copy.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#copy-status")).to_have_text("Copied the Call Sid")
        assert page.evaluate("navigator.clipboard.readText()") == first.sid

        # The recording plays through the app (the simulator, as Exotel, wants the account's Basic auth):
        # loaded, of a real length, and its time moves once playing.
        audio = page.locator("section.recording audio")
        expect(audio).to_have_attribute("src", f"/calls/{first_id}/recording")
        page.get_by_role("heading", name="Recording").click()  # a real gesture, so the page may start playback
        audio.evaluate("element => element.play()")
        page.wait_for_function(
            "() => { const a = document.querySelector('section.recording audio');"
            " return a.readyState === HTMLMediaElement.HAVE_ENOUGH_DATA && a.duration > 1 && a.currentTime > 0; }"
        )
        expect(page.get_by_role("link", name="Download the recording")).to_have_attribute("href", f"/calls/{first_id}/recording")

        # Call again: a second call to the same number and flow, on a page of its own.
        page.get_by_role("button", name="Call again").click()
        page.wait_for_url(lambda url: CALL_PAGE.match(url) is not None and not url.endswith(first_id))
        again = _call(app, CALL_PAGE.match(page.url).group(1))
        assert (again.from_number, again.flow_url, again.custom_field, again.time_limit) == (
            first.from_number, first.flow_url, "order-7", 120)
        assert again.sid != first.sid and again.created_by == f"user:{EMAIL}"
        expect(page.locator("h1")).to_contain_text("+919876543210")
        assert len(_calls(app)) == 2 and errors == []
    finally:
        context.close()

