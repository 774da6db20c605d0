"""A team in headless Chromium: an admin adds an operator and a viewer, each sets a password
through their one-time link, the operator places a call, the viewer sees it and cannot place one."""

from __future__ import annotations

import re

from browser_helpers import EMAIL
from playwright.sync_api import expect

from tests.support.signin import sign_in_page
from webapp.db import get_db


def _add_user(page, base_url: str, email: str, role: str) -> str:
    page.goto(f"{base_url}/admin/users")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("heading", name=f"User {email} added")).to_be_visible()
    return page.locator("#set-password-link").input_value()


def _join(browser, base_url: str, link: str, email: str, password: str):
    """A new browser that sets its password through `link`, then signs in."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    page.goto(link)
    page.get_by_label("New password").fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(f"{base_url}/login")
    sign_in_page(page, base_url, email, password)
    return page


def test_an_admin_adds_an_operator_who_places_a_call_that_a_viewer_only_sees(served, page, browser, tmp_path):
    app, base_url = served
    sign_in_page(page, base_url, EMAIL)
    operator_link = _add_user(page, base_url, "agent@example.com", "operator")
    viewer_link = _add_user(page, base_url, "reader@example.com", "viewer")
    assert operator_link.startswith(f"{base_url}/set-password/")

    operator = _join(browser, base_url, operator_link, "agent@example.com", "agent's own password")
    operator.get_by_role("link", name="Place a call").first.click()
    operator.get_by_label("Customer number (From)").fill("+91 98765 43210")
    operator.get_by_label("Flow: app id or flow URL").fill("123456")
    operator.get_by_role("button", name="Place call").click()
    operator.wait_for_url(re.compile(r".*/calls/[0-9a-f-]{36}$"))
    expect(operator.locator("#call-live .status-line .badge")).to_have_text("Completed", timeout=15_000)
    # Who placed it, by email, linking to the calls they placed.
    expect(operator.locator("#call-live a[href='/calls?created_by=user:agent@example.com']")).to_have_text("agent@example.com")
    call_url = operator.url
    assert operator.goto(f"{base_url}/admin/users").status == 403

    viewer = _join(browser, base_url, viewer_link, "reader@example.com", "reader's own password")
    expect(viewer.locator("table.calls-table td.by")).to_have_text("agent@example.com")
    expect(viewer.get_by_role("link", name="Place a call")).to_have_count(0)
    assert viewer.goto(f"{base_url}/calls/new").status == 403
    viewer.goto(call_url)
    expect(viewer.locator("#call-live .status-line .badge")).to_have_text("Completed")
    viewer.screenshot(path=str(tmp_path / "viewer-call.png"), full_page=True)

    # A used link does not work twice.
    assert viewer.goto(viewer_link).status == 404

    page.goto(f"{base_url}/admin/audit")
    table = page.locator("table.audit-table")
    expect(table).to_contain_text("call.place")
    page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
    with app.app_context():
        from sqlalchemy import text

        rows = get_db().session().execute(text("SELECT actor, action, target FROM audit_log ORDER BY at, id")).all()
    story = [(actor, action) for actor, action, _ in rows]
    admin = f"user:{EMAIL}"
    # Each page refused to a role is audited too: the operator's /admin/users, the viewer's /calls/new.
    assert story[-10:] == [
        (admin, "sign_in"),
        (admin, "user.create"),
        (admin, "user.create"),
        ("user:agent@example.com", "user.password"),
        ("user:agent@example.com", "sign_in"),
        ("user:agent@example.com", "call.place"),
        ("user:agent@example.com", "access.refused"),
        ("user:reader@example.com", "user.password"),
        ("user:reader@example.com", "sign_in"),
        ("user:reader@example.com", "access.refused"),
    ]
