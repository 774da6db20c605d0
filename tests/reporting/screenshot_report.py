"""Sign in, open the report page, check its charts and save a full-page screenshot (run as a script).

A process of its own: Playwright's sync API allows one instance per process,
and the browser tests' session-wide instance may already be running.
Usage: python screenshot_report.py CHROMIUM BASE_URL EMAIL PASSWORD REPORT_PATH PNG; prints JSON.
"""

from __future__ import annotations

import json
import sys

from playwright.sync_api import sync_playwright

CHARTS = ("chart-answer-rate", "chart-outcomes", "chart-durations", "chart-ring-times", "chart-hours")


def main(chromium: str, base_url: str, email: str, password: str, path: str, png: str) -> dict:
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{base_url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base_url}/")  # signing in lands on Home
        page.goto(f"{base_url}{path}")
        page.get_by_role("heading", name="Reports").wait_for()
        boxes = {chart: page.locator(f"#{chart}").bounding_box() for chart in CHARTS}
        bars = page.locator("#chart-outcomes rect title").count()
        csv_links = page.get_by_role("link", name="Download CSV").count()
        page.screenshot(path=png, full_page=True)
        browser.close()
    return {"boxes": boxes, "bars": bars, "csv_links": csv_links, "problems": problems}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:7])))
