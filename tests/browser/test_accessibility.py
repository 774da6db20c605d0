"""axe-core on every page at a desktop (1280 px) and a phone (375 px) width: no serious or critical violation.

axe-core is fetched from the npm registry by scripts/fetch-axe (`make test` runs
it) into tests/browser/vendor/, for the tests only. Each page's screenshot at
both widths is kept in test-artifacts/screenshots/ (SCREENSHOT_DIR overrides),
so a reviewer can look at every page without running a browser.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_helpers import EMAIL, PASSWORD
from sqlalchemy import select

from webapp.calls.seeding import seed_many
from webapp.db import get_db
from webapp.models import Call

ROOT = Path(__file__).resolve().parents[2]
AXE_VERSION = "4.14.1"
AXE = Path(__file__).parent / "vendor" / f"axe-{AXE_VERSION}" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-artifacts" / "screenshots")
WIDTHS = {"desktop": 1280, "phone": 375}
BLOCKING = ("serious", "critical")
# WCAG 2.1 A and AA, plus axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        message = f"{AXE.relative_to(ROOT)} missing: run scripts/fetch-axe (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def seeded(served):
    """The served app with a week of synthetic calls (today's among them); yields (base_url, a call's id)."""
    app, base_url = served
    with app.app_context():
        engine = get_db().engine
        seed_many([engine], 300, days=7, seed=7)
        call_id = get_db().session().scalar(select(Call.id).where(Call.status == "completed").limit(1))
        failed_id = get_db().session().scalar(select(Call.id).where(Call.status == "failed").limit(1))
    return base_url, call_id, failed_id


def _pages(call_id: str, failed_id: str) -> list[tuple[str, str, bool]]:
    """(name, path, signed in) for every page a person sees."""
    return [
        ("sign-in", "/login", False),
        ("home", "/", True),
        ("calls", "/calls", True),
        ("calls-filtered", "/calls?status=failed", True),
        ("calls-bad-filter", "/calls?number=abc", True),
        ("calls-found", "/calls?number=43210&exophone=08047112345&flow=230001&status=calling", True),
        ("calls-csv-refused", "/calls.csv?number=abc&sid=" + "x" * 70, True),
        ("place-call", "/calls/new", True),
        ("call", f"/calls/{call_id}", True),
        ("call-failed", f"/calls/{failed_id}", True),
        ("reports", "/reports", True),
        ("reports-utc", "/reports?tz=UTC", True),
        ("settings", "/settings", True),
        ("not-found", "/calls/no-such-call", True),
    ]


def _violations(page, source: str) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    page.evaluate(source)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    lines = []
    for violation in result["violations"]:
        if violation["impact"] in BLOCKING:
            targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return lines


def _sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/calls")


@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_page_passes_axe_and_is_photographed(browser, seeded, axe_source, device):
    base_url, call_id, failed_id = seeded
    # axe is injected as a script the page's CSP would refuse; the app's own scripts still load as served.
    context = browser.new_context(viewport={"width": WIDTHS[device], "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    signed = False
    try:
        for name, path, signed_in in _pages(call_id, failed_id):
            if signed_in and not signed:
                _sign_in(page, base_url)
                signed = True
            page.goto(f"{base_url}{path}")
            page.wait_for_load_state("networkidle")
            assert page.url == f"{base_url}{path}", (name, page.url)  # the page itself, not a redirect
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{WIDTHS[device]}.png"), full_page=True)
            problems = _violations(page, axe_source)
            if problems:
                found[name] = problems
    finally:
        context.close()
    assert found == {}, "\n".join(f"{name}: {line}" for name, lines in found.items() for line in lines)
    for name, _path, _signed_in in _pages(call_id, failed_id):
        assert (SCREENSHOTS / f"{name}-{WIDTHS[device]}.png").stat().st_size > 0
