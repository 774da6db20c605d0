"""The report page in headless Chromium: charts drawn, CSP respected, a screenshot kept as an artifact."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from webapp.accounts import create_user
from webapp.calls.seeding import seed
from webapp.db import get_db

EMAIL, PASSWORD = "reports@example.com", "correct horse battery"

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(tmp_path, sqlite_template):
    """SQLite only: the page is the same on both; the figures are tested on both elsewhere."""
    path = tmp_path / "calls.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true: chromium is not installed")
        pytest.skip("chromium not installed")
    return path


def test_report_page_screenshot(live_app, chromium, tmp_path):
    app, server = live_app
    with app.app_context():
        db = get_db()
        create_user(db, EMAIL, PASSWORD, is_admin=True)
        seed(db.engine, 4000, days=30, seed=11, now=datetime.now(UTC))
    end = datetime.now(UTC).date()
    path = f"/reports?start={(end - timedelta(days=29)).isoformat()}&end={end.isoformat()}"
    shot = tmp_path / "report-page.png"
    script = Path(__file__).with_name("screenshot_report.py")
    done = subprocess.run(
        [sys.executable, str(script), chromium, server.url, EMAIL, PASSWORD, path, str(shot)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    for chart, box in seen["boxes"].items():
        assert box and box["width"] > 400 and box["height"] > 150, chart
    assert seen["bars"] > 30  # the outcome bars, each with its number
    assert seen["csv_links"] == 4
    assert seen["problems"] == []  # no CSP violation, no script error
    assert shot.stat().st_size > 50_000
    artifacts = os.environ.get("TEST_ARTIFACTS_DIR")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(shot, os.path.join(artifacts, "report-page.png"))
