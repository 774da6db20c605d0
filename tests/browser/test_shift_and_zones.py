"""In Chromium: the zone picker's search, reports in the chosen zone and in UTC, the home page keeping itself current."""

from __future__ import annotations

from datetime import UTC, datetime

from browser_helpers import EMAIL
from playwright.sync_api import expect
from sqlalchemy import insert

from tests.support.signin import sign_in_page
from webapp.config.tuning import with_settings
from webapp.db import get_db
from webapp.models import Call


def _add_call(app, key: int, status: str = "failed") -> str:
    """A call created now."""
    call_id = f"00000000-0000-4000-8000-0000000009{key:02d}"
    now = datetime.now(UTC)
    with app.app_context(), get_db().transaction() as session:
        session.execute(insert(Call), [{
            "id": call_id, "sid": f"browser{key}", "from_number": f"+9198765{key:05d}", "caller_id": "08047112345",
            "flow_url": "http://my.exotel.com/acme1/exoml/start_voice/1", "status": status,
            "created_at": now, "updated_at": now,
        }])
    return call_id


def test_zone_picker_searches_and_reports_follow_the_zone(served, page):
    _app, base_url = served
    sign_in_page(page, base_url, EMAIL)
    page.get_by_role("link", name="Time zone: Asia/Kolkata (change)").click()
    page.wait_for_url(f"{base_url}/settings")
    search = page.get_by_label("Find a zone")
    search.fill("new york")
    expect(page.locator("#zone-count")).to_have_text("1 zone matches.")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("America/New_York")
    search.fill("india")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Asia/Kolkata")
    search.fill("germ")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Europe/Berlin")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".site-footer")).to_contain_text("Times in Europe/Berlin")
    page.goto(f"{base_url}/reports")
    expect(page.locator("#report-clock")).to_contain_text("Days and hours are in Europe/Berlin")
    expect(page.locator("#chart-hours title").first).to_have_text("Calls by hour of day (Europe/Berlin)")
    page.get_by_role("link", name="Show in UTC").click()
    expect(page.locator("#report-clock")).to_contain_text("Days and hours are in UTC")
    expect(page.locator("#report-clock")).to_contain_text("daily_call_stats")
    page.get_by_role("link", name="Show in Europe/Berlin").click()
    expect(page.locator("#report-clock")).to_contain_text("Days and hours are in Europe/Berlin")


def test_home_page_updates_itself_and_asks_with_its_etag(served, page):
    app, base_url = served
    with_settings(app, home_poll_seconds=1)
    sign_in_page(page, base_url, EMAIL)
    answers: list[int] = []
    page.on("response", lambda response: answers.append(response.status) if "/home.json" in response.url else None)
    page.goto(f"{base_url}/")
    figure = page.locator("#h-today + .tile-figure")
    expect(figure).to_have_text("0")
    page.wait_for_timeout(2500)
    assert answers and set(answers) == {304}  # nothing changed: nothing sent again
    call_id = _add_call(app, 1)
    expect(figure).to_have_text("1", timeout=10_000)
    expect(page.locator(f'.failure-list a[href="/calls/{call_id}"]')).to_be_visible()
    assert 200 in answers
    # Each figure links to the filtered calls list.
    page.locator(".failures").get_by_role("link", name="All failed").click()
    page.wait_for_url(f"{base_url}/calls?status=failed")
    expect(page.locator(f"#call-{call_id}")).to_be_visible()


def test_a_hidden_tab_polls_less_often(served, page):
    app, base_url = served
    with_settings(app, home_poll_seconds=1)
    sign_in_page(page, base_url, EMAIL)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/home.json" in request.url else None)
    page.goto(f"{base_url}/")
    page.wait_for_timeout(2500)
    visible = len(asked)
    assert visible >= 1
    # The Page Visibility API as a tab in the background reports it.
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(1200)  # a request already under way may finish
    hidden_from = len(asked)
    page.wait_for_timeout(4000)
    assert len(asked) == hidden_from  # once a second when shown; not once in four seconds hidden
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(700)
    assert len(asked) > hidden_from  # shown again: asks at once
