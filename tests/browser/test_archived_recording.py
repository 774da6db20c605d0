"""In headless Chromium: a call answered in the simulator plays in its page from the archive (RECORDINGS_DIR) once
the simulator, like Exotel after a while, no longer has the recording; a screenshot of the page is kept in
test-artifacts/screenshots/call-recording-archived.png."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from browser_helpers import EMAIL, PASSWORD
from playwright.sync_api import expect

from tests.support.apps import LiveServer, make_app
from tests.support.credentials import ACCOUNT_SID, API_KEY, API_TOKEN
from tests.support.signin import sign_in_page
from webapp.accounts import create_user
from webapp.db import get_db
from webapp.jobs.tasks import archive_recordings
from webapp.models import Call, CallRecording

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-artifacts" / "screenshots")
CALL_PAGE = re.compile(r".*/calls/([0-9a-f-]{36})$")


@pytest.fixture
def archiving_site(database_url, sim, tmp_path):
    live = LiveServer()
    app = make_app(database_url, sim.base_url, PUBLIC_BASE_URL=live.url, RECORDINGS_DIR=str(tmp_path / "recordings"))
    live.serve(app)
    with app.app_context():
        create_user(get_db(), EMAIL, PASSWORD, is_admin=True)
    yield app, live.url
    live.stop()
    app.extensions["database"].engine.dispose()


def test_an_answered_call_plays_from_the_archive_once_exotel_no_longer_has_it(archiving_site, sim, browser):
    app, base_url = archiving_site
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in_page(page, base_url, EMAIL)
        page.goto(f"{base_url}/calls/new")
        page.get_by_label("Customer number (From)").fill("+91 98765 43210")
        page.get_by_label("Flow: app id or flow URL").fill("123456")
        page.get_by_role("button", name="Place call").click()
        page.wait_for_url(CALL_PAGE)
        call_id = CALL_PAGE.match(page.url).group(1)
        expect(page.locator("#call-live .status-line .badge")).to_have_text("Completed", timeout=15_000)

        archive_recordings(app)  # the worker's run: the call ended with a recording
        with app.app_context(), get_db().transaction(write=False) as session:
            sid = session.get(Call, call_id).sid
            archived = session.get(CallRecording, call_id)
            assert archived is not None and archived.state == "archived"
        exotels = f"{sim.base_url}/recordings/{ACCOUNT_SID}/{sid}.wav"
        assert requests.get(exotels, timeout=5).status_code == 401  # the simulator demands Basic auth, as Exotel does
        assert requests.delete(f"{sim.base_url}/_sim/recordings/{sid}", timeout=5).status_code == 200
        assert requests.get(exotels, auth=(API_KEY, API_TOKEN), timeout=5).status_code == 404  # gone at "Exotel"

        answers: list[tuple[str, int]] = []
        page.on("response", lambda r: answers.append((r.url, r.status)) if "/recording" in r.url else None)
        page.reload()
        audio = page.locator("section.recording audio")
        expect(audio).to_have_attribute("src", f"/calls/{call_id}/recording")
        page.wait_for_function(
            "() => { const a = document.querySelector('section.recording audio');"
            " return a.readyState >= HTMLMediaElement.HAVE_METADATA && a.duration > 1; }"
        )
        assert answers and all(url == f"{base_url}/calls/{call_id}/recording" and status in (200, 206)
                               for url, status in answers), answers
        page.get_by_role("heading", name="Recording").scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "call-recording-archived.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
