"""Alerts in headless Chromium: three calls Exotel accepted get no callback, the rules fire callbacks_missing, the
banner shows on every page, the alerts page lists it, an admin acknowledges it; each photographed at 1280 and
375 px beside test_accessibility's photographs (test-artifacts/screenshots/, SCREENSHOT_DIR overrides)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

from browser_helpers import EMAIL
from playwright.sync_api import expect

from tests.support.calls import add_call
from tests.support.signin import sign_in_page
from webapp.alerts.runs import run_rules
from webapp.db import get_db, utcnow

SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots")
WIDTHS = (1280, 375)


def _photograph(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        assert (SCREENSHOTS / f"{name}-{width}.png").stat().st_size > 0
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_the_banner_the_alerts_page_and_an_acknowledgement(served, page):
    app, base_url = served
    for index in range(3):
        add_call(app, id=str(uuid.uuid4()), sid=uuid.uuid4().hex, status="in-progress",
                 from_number=f"+91987654321{index}", created_at=utcnow() - timedelta(minutes=5))
    with app.app_context():
        run_rules(get_db(), app.extensions["settings"], utcnow())

    sign_in_page(page, base_url, EMAIL)
    page.goto(f"{base_url}/calls")
    banner = page.get_by_role("alert").filter(has_text="alert firing")
    expect(banner).to_contain_text("1 alert firing: callbacks_missing")
    _photograph(page, "alerts-banner")

    banner.get_by_role("link", name="See all alerts").click()
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    row = page.locator("tr[data-rule=callbacks_missing]")
    expect(row).to_contain_text("firing")
    expect(row).to_contain_text("no one")
    _photograph(page, "alerts-page")

    row.get_by_role("link", name="callbacks_missing").click()
    expect(page.get_by_role("link", name="+919876543210")).to_be_visible()  # the calls behind it
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("dd").filter(has_text=f"by user:{EMAIL}")).to_be_visible()
    _photograph(page, "alert-acknowledged")
    page.goto(f"{base_url}/alerts")
    expect(page.locator("tr[data-rule=callbacks_missing]")).to_contain_text(f"user:{EMAIL}")
    assert page.console_errors == []
