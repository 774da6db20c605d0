"""The report page in headless Chromium: charts drawn, CSP respected, a screenshot kept as an artifact."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from webapp.accounts import create_user
from webapp.db import get_db
from webapp.seeding import seed

EMAIL, PASSWORD = "reports@example.com", "correct horse battery"
CHARTS = ("chart-answer-rate", "chart-outcomes", "chart-durations", "chart-ring-times", "chart-hours")

pytestmark = pytest.mark.browser


def _chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def database_url(tmp_path, sqlite_template):
    """SQLite only: the page is the same on both; the figures are tested on both elsewhere."""
    path = tmp_path / "calls.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def browser():
    path = _chromium()
    in_ci = os.environ.get("CI", "").lower() == "true"
    if path is None:
        if in_ci:
            pytest.fail("CI=true: chromium is not installed")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()


def test_report_page_screenshot(live_app, browser, tmp_path):
    app, server = live_app
    with app.app_context():
        db = get_db()
        create_user(db, EMAIL, PASSWORD, is_admin=True)
        seed(db.engine, 4000, days=30, seed=11, now=datetime.now(timezone.utc))
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/calls")
    end = datetime.now(timezone.utc).date()
    page.goto(f"{server.url}/reports?start={(end - timedelta(days=29)).isoformat()}&end={end.isoformat()}")
    page.get_by_role("heading", name="Reports").wait_for()
    for chart in CHARTS:
        box = page.locator(f"#{chart}").bounding_box()
        assert box and box["width"] > 400 and box["height"] > 150, chart
    assert page.locator("#chart-outcomes rect title").count() > 30  # bars with their numbers
    assert page.get_by_role("link", name="Download CSV").count() == 4
    shot = tmp_path / "report-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    artifacts = os.environ.get("TEST_ARTIFACTS_DIR")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(shot, os.path.join(artifacts, "report-page.png"))
    assert problems == []  # no CSP violation, no script error
