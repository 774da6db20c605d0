"""Headless Chromium (Debian's, driven by Playwright for Python) against the app served for real."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser_helpers import EMAIL, PASSWORD
from browser_site import served_site

from webapp.accounts import create_user
from webapp.db import get_db

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
ROOT = Path(__file__).resolve().parents[2]
AXE_VERSION = "4.14.1"
AXE = Path(__file__).parent / "vendor" / f"axe-{AXE_VERSION}" / "axe.min.js"


def _chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path():
    """Chromium's executable; without it skip, except under CI=true where that is a failure."""
    path = _chromium()
    if path is None:
        message = "chromium not installed (make test installs it with apt-get when run as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true: playwright is not installed (pip install -e '.[test]')")
        pytest.skip("playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def database_url(tmp_path, sqlite_template):
    """SQLite only: these tests exercise the browser and the UI; the test-client UI tests and the
    rest of the suite cover both databases, and running Chromium twice would double the time."""
    path = tmp_path / "calls.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def site(sqlite_template, simulator, tmp_path_factory):
    """One served app for the browser tests that only add to it: a user of each role, a week of calls,
    a campaign (browser_site)."""
    simulator.state.reset()
    with served_site(sqlite_template, tmp_path_factory.mktemp("site"), simulator.base_url) as site:
        site.populate()
        yield site


@pytest.fixture
def served(live_app):
    """The live app with one user; yields (app, base_url)."""
    app, server = live_app
    with app.app_context():
        create_user(get_db(), EMAIL, PASSWORD, is_admin=True)
    return app, server.url


@pytest.fixture
def page(browser, tmp_path, request):
    """A fresh browser page; on teardown, a screenshot is kept under the test's tmp_path."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    # Script errors only: Chromium also logs every 4xx page load, which some answers are on purpose.
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    try:
        page.screenshot(path=str(tmp_path / "final.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        message = f"{AXE.relative_to(ROOT)} missing: run scripts/fetch-axe (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")
