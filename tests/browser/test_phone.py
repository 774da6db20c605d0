"""On a phone (375 px): lists start on the first screen, one compact row per item, charts stay legible."""

from __future__ import annotations

import re

import pytest
from browser_site import email
from playwright.sync_api import expect

from tests.support.signin import sign_in_page

PHONE = {"width": 375, "height": 667}  # the smallest phone in common use
TABLET = {"width": 1024, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
ROW_MAX_PX = 72  # two lines of text and a badge
FIRST_SCREEN_ROWS = 4  # under the header, the worker banner, the heading and the folded filters
LEGIBLE_PX = 11
CHART_TEXTS = """() => [...document.querySelectorAll("svg.chart")].map((svg) => ({
  id: svg.id,
  texts: [...svg.querySelectorAll("text")].map((text) => {
    const matrix = text.getScreenCTM(), box = text.getBoundingClientRect();
    return {
      text: text.textContent,
      px: Math.hypot(matrix.a, matrix.b) * parseFloat(getComputedStyle(text).fontSize),
      box: [box.left, box.top, box.right, box.bottom],
    };
  }),
}))"""


@pytest.fixture
def open_as(browser, site):
    """open_as(role, viewport): a new signed-in page; every context is closed at the end of the test."""
    contexts = []

    def open_page(role: str, viewport: dict[str, int]):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in_page(page, site.url, email(role))
        return page

    yield open_page
    for context in contexts:
        context.close()


def _row_boxes(page, selector: str) -> list[dict[str, float]]:
    return page.locator(selector).evaluate_all("rows => rows.map(row => row.getBoundingClientRect().toJSON())")


def _is_open(page, selector: str = "details.filter-panel") -> bool:
    return page.locator(selector).evaluate("panel => panel.open")


def test_the_calls_list_starts_on_the_first_screen_with_its_filters_folded(site, open_as):
    page = open_as("operator", PHONE)
    page.goto(f"{site.url}/calls")
    assert not _is_open(page)
    expect(page.locator("details.filter-panel > summary")).to_have_text("Filters")
    expect(page.get_by_label("Status")).to_be_hidden()
    boxes = _row_boxes(page, "table.calls-table tbody tr")
    assert len([box for box in boxes if box["bottom"] <= PHONE["height"]]) >= FIRST_SCREEN_ROWS
    assert max(box["height"] for box in boxes) <= ROW_MAX_PX
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Two lines: the number and its status beside it, then the time; the low-value columns are not shown.
    row = page.locator("table.calls-table tbody tr").first
    number, status, placed = (row.locator(f'td[data-label="{label}"]').bounding_box()
                              for label in ("Number", "Status", "Placed"))
    assert abs(number["y"] - status["y"]) < 8 and status["x"] > number["x"] + number["width"] - 1
    assert placed["y"] >= number["y"] + number["height"] - 1
    expect(row.locator('td[data-label="Custom field"]')).to_be_hidden()
    expect(row.locator('td[data-label="Placed by"]')).to_be_hidden()

    page.locator("details.filter-panel > summary").click()
    for label in ("Status", "Number", "From date", "To date", "Custom field contains", "Placed by"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*/calls\?status=completed"))
    # An active filter keeps the panel open, and its summary counts it.
    assert _is_open(page)
    expect(page.locator("details.filter-panel > summary")).to_have_text("Filters (1 active)")
    expect(page.get_by_label("Status")).to_have_value("completed")

    # A tap anywhere on a row opens its call.
    row = page.locator("table.calls-table tbody tr").first
    call_id = row.get_attribute("data-call-id")
    number = row.locator('td[data-label="Number"]')
    number.scroll_into_view_if_needed()
    box = number.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"{site.url}/calls/{call_id}")

    # A refused filter keeps the panel open too, its error in sight.
    page.goto(f"{site.url}/calls?number=abc")
    assert _is_open(page)
    expect(page.locator("#f-number-error")).to_be_visible()
    # On a desktop the filters are open without any active.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{site.url}/calls")
    assert _is_open(page)
    expect(page.get_by_label("Status")).to_be_visible()
    assert max(box["height"] for box in _row_boxes(page, "table.calls-table tbody tr")) <= ROW_MAX_PX


def test_campaign_lists_are_compact_and_their_filters_and_the_audit_logs_fold(site, open_as):
    page = open_as("admin", PHONE)
    page.goto(f"{site.url}/campaigns")
    assert max(box["height"] for box in _row_boxes(page, "table.campaigns-table tbody tr")) <= ROW_MAX_PX
    expect(page.locator('table.campaigns-table td[data-label="Pace"]').first).to_be_hidden()
    page.goto(f"{site.url}/campaigns/{site.ids['campaign']}")
    assert not _is_open(page)
    expect(page.get_by_label("Show contacts")).to_be_hidden()
    boxes = _row_boxes(page, "table.contacts-table tbody tr")
    assert len(boxes) == 12 and max(box["height"] for box in boxes) <= ROW_MAX_PX
    expect(page.locator('table.contacts-table td[data-label="Custom field"]').first).to_be_hidden()
    page.goto(f"{site.url}/campaigns/{site.ids['campaign']}?state=completed")
    assert _is_open(page)
    expect(page.locator("details.filter-panel > summary")).to_have_text("Filters (1 active)")
    page.goto(f"{site.url}/admin/audit")
    assert not _is_open(page)
    # Its cells have no label: each takes its line, and long actors wrap instead of running out of the card.
    cut = page.locator("table.audit-table td").evaluate_all(
        "cells => cells.filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.textContent)")
    assert cut == []
    page.goto(f"{site.url}/admin/audit?action=sign_in&actor=user:admin@example.com")
    assert _is_open(page)
    expect(page.locator("details.filter-panel > summary")).to_have_text("Filters (2 active)")


def _overlaps(texts: list[dict]) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes intersect by more than half a pixel both ways."""
    pairs = []
    for i, one in enumerate(texts):
        for other in texts[i + 1:]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = one["box"], other["box"]
            if min(r1, r2) - max(l1, l2) > 0.5 and min(b1, b2) - max(t1, t2) > 0.5:
                pairs.append((one["text"], other["text"]))
    return pairs


def test_chart_labels_stay_legible_and_apart_at_every_width(site, open_as):
    page = open_as("viewer", PHONE)
    for viewport in (DESKTOP, TABLET, PHONE):
        _check_charts(page, site, viewport)
    page.goto(f"{site.url}/reports")  # the campaign's page redraws its chart while it runs
    frame = page.locator(".chart-scroll").first
    frame.focus()
    assert frame.evaluate("frame => frame.scrollLeft") == 0
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.chart-scroll').scrollLeft > 0")  # it may scroll smoothly


def _check_charts(page, site, viewport: dict[str, int]) -> None:
    page.set_viewport_size(viewport)
    for path in ("/reports", f"/campaigns/{site.ids['campaign']}"):
        page.goto(f"{site.url}{path}")
        charts = page.evaluate(CHART_TEXTS)
        assert len(charts) == (5 if path == "/reports" else 1)
        for chart in charts:
            smallest = min(chart["texts"], key=lambda text: text["px"])
            assert smallest["px"] >= LEGIBLE_PX, (viewport, path, chart["id"], smallest)
            assert _overlaps(chart["texts"]) == [], (viewport, path, chart["id"])
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        # Each chart's frame is a named region the keyboard reaches; it says it scrolls only when it does.
        for frame in page.locator(".chart-scroll").all():
            expect(frame).to_have_attribute("tabindex", "0")
            expect(frame).to_have_attribute("role", "region")
            expect(frame).to_have_attribute("aria-label", re.compile(r".+ \(chart\)$"))
            scrolls = frame.evaluate("frame => frame.scrollWidth > frame.clientWidth + 1")
            assert scrolls == (viewport is PHONE)
            hint = frame.locator("xpath=following-sibling::p[contains(@class, 'chart-hint')]")
            (expect(hint).to_be_visible if scrolls else expect(hint).to_be_hidden)()
