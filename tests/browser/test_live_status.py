"""A status that changes live is said once through the page's polite live region, not on every poll."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from browser_helpers import RECORD_ANNOUNCEMENTS, announcements, in_live_region
from browser_site import email
from playwright.sync_api import expect
from sqlalchemy import insert

from tests.support.signin import sign_in_page
from webapp.calls.updates import advance_call
from webapp.db import get_db
from webapp.models import Call
from webapp.web.browser.status_words import LABELS as STATUS_LABELS

LIVE_CALL_SPEED = 0.75  # the simulated call rings 1.5 s and talks 6 s: several polls of one status


@pytest.fixture
def listening(browser, site):
    """A page signed in as `role` that records what its live region says (browser_helpers.announcements)."""
    contexts = []

    def open_page(role: str):
        context = browser.new_context(viewport={"width": 375, "height": 667})
        contexts.append(context)
        context.add_init_script(RECORD_ANNOUNCEMENTS)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in_page(page, site.url, email(role))
        return page

    yield open_page
    for context in contexts:
        context.close()


def _touch(app, call_id: str, status: str | None = None) -> None:
    """What a callback does to the call: a new status (or, with None, the same one) and a new updated_at."""
    with app.app_context(), get_db().transaction() as session:
        advance_call(session, call_id, status=status)


def test_the_call_page_says_each_new_status_once(site, sim, listening):
    sim.state.configure(speed=LIVE_CALL_SPEED)
    page = listening("operator")
    page.goto(f"{site.url}/calls/new")
    page.get_by_label("Customer number (From)").fill("+91 98765 43250")  # talks 8 s, simulated
    page.get_by_label("Flow: app id or flow URL").fill("123456")
    page.get_by_role("button", name="Place call").click()
    page.wait_for_url(re.compile(r".*/calls/[0-9a-f-]{36}$"))
    call_id = page.url.rsplit("/", 1)[1]
    region = page.locator("#live-announcer")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_attribute("aria-live", "polite")
    assert not in_live_region(page, "#call-live")  # the redrawn part is not read out whole
    first = page.locator("#call-live .status-line .badge").get_attribute("data-status")
    badge = page.locator("#call-live .status-line .badge")
    expect(badge).to_have_attribute("data-status", "in-progress")
    said = announcements(page)
    assert said[-1:] == ([] if first == "in-progress" else ["Call status: In progress"])

    # The page redraws for a change that leaves the status as it is, and says nothing.
    version = page.locator("#call-live").get_attribute("data-version")
    _touch(site.app, call_id)
    page.wait_for_function("(v) => document.getElementById('call-live').dataset.version !== v", arg=version)
    expect(badge).to_have_attribute("data-status", "in-progress")
    assert announcements(page) == said

    expect(badge).to_have_text("Completed", timeout=20_000)
    said = announcements(page)
    assert said[-1] == "Call status: Completed"
    assert len(said) == len(set(said))  # each status once
    assert set(said) <= {f"Call status: {label}" for label in STATUS_LABELS.values()}


def _add_ringing(app, key: int) -> str:
    call_id = f"00000000-0000-4000-8000-0000000007{key:02d}"
    now = datetime.now(UTC)
    with app.app_context(), get_db().transaction() as session:
        session.execute(insert(Call), [{
            "id": call_id, "sid": f"live{key}", "from_number": f"+9198000000{key:02d}", "caller_id": "08047112345",
            "flow_url": "http://my.exotel.com/acme1/exoml/start_voice/1", "status": "ringing",
            "created_at": now, "updated_at": now,
        }])
    return call_id


def _mark(page, *call_ids: str) -> None:
    """Mark rows, so that a redraw (which replaces the row) shows."""
    page.evaluate("(ids) => ids.forEach((id) => { document.getElementById('call-' + id).dataset.old = 'yes'; })",
                  list(call_ids))


def _redrawn(page, *call_ids: str) -> None:
    page.wait_for_function("(ids) => ids.every((id) => !document.getElementById('call-' + id).dataset.old)",
                           arg=list(call_ids))


def test_the_calls_list_says_a_rows_new_status_once(site, listening):
    one, two = _add_ringing(site.app, 1), _add_ringing(site.app, 2)
    page = listening("viewer")
    page.goto(f"{site.url}/calls")
    assert not in_live_region(page, "table.calls-table")
    _mark(page, one, two)
    with site.app.app_context(), get_db().transaction() as session:
        advance_call(session, one, status="in-progress", fill={"answered_at": datetime.now(UTC)})
        advance_call(session, two)  # redrawn, still ringing
    _redrawn(page, one, two)
    assert announcements(page) == ["+919800000001: In progress"]

    _mark(page, one, two)
    with site.app.app_context(), get_db().transaction() as session:
        advance_call(session, one, status="completed")
        advance_call(session, two, status="busy")
    _redrawn(page, one, two)
    expect(page.locator(f"#call-{one}")).to_have_attribute("data-final", "true")
    said = announcements(page)
    assert len(said) == 2
    assert sorted(said[1].split(". ")) == ["+919800000001: Completed", "+919800000002: Busy"]
