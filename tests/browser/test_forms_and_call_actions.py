"""In headless Chromium: forms that show every fault at once, beside their fields."""

from __future__ import annotations

import re

from browser_helpers import axe_violations, sign_in
from playwright.sync_api import expect
from sqlalchemy import select

from webapp.db import get_db
from webapp.models import Call


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
        sign_in(page, base_url)
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
