"""axe-core on every page at a desktop (1280 px) and a phone (375 px) width: no serious or critical violation.

Every page (browser_pages.PAGES: each GET route that answers HTML, and the pages
a form answers with) is seen by the role that sees it, on one served app and in
one browser. axe-core is fetched from the npm registry by scripts/fetch-axe
(`make test` runs it) into tests/browser/vendor/, for the tests only. Each
page's full-page screenshot at both widths is kept in test-artifacts/screenshots/
as <page>-<width>.png (SCREENSHOT_DIR overrides), so a reviewer can look at every
page without running a browser.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_helpers import axe_violations
from browser_pages import FIRST_RUN, PAGES
from browser_site import ROLES, email, served_site
from werkzeug.exceptions import NotFound

from tests.support.signin import sign_in_page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "test-artifacts" / "screenshots")
WIDTHS = (1280, 375)
# GET routes that answer no page: machines read them.
NOT_PAGES = {"health.healthz": "JSON for load balancers", "metrics.metrics": "Prometheus text", "static": "files",
             "recordings.call_recording": "audio"}
SAMPLE_IDS = {"call": "00000000-0000-4000-8000-000000000000", "failed": "00000000-0000-4000-8000-000000000000",
              "campaign": "1", "link": "a-link", "user": "1", "token": "1", "alert": "1", "webhook": "1"}


@pytest.fixture(scope="module")
def site(sqlite_template, simulator, tmp_path_factory):
    """The served app, with no user yet (unlike conftest's): the test sees the first-run page, then fills it."""
    simulator.state.reset()
    with served_site(sqlite_template, tmp_path_factory.mktemp("site"), simulator.base_url) as site:
        yield site


def _check(page, base_url: str, spec, ids: dict[str, str]) -> list[str]:
    """Open `spec` (sending its form, if any) and look at it at each width: its problems, and a screenshot each.

    The page is loaded once, wide, then narrowed: its layout, and its scripts (they follow the width), are
    then the phone's, and a form is not sent twice."""
    problems = []
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    url = f"{base_url}{spec.url(ids)}"
    response = page.goto(url)
    if spec.submit is not None:
        with page.expect_navigation() as answer:
            spec.submit(page, spec.name)
        response = answer.value
    elif page.url != url:
        problems.append(f"redirected to {page.url}")
    if response.status != spec.status:
        problems.append(f"HTTP {response.status}, expected {spec.status}")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{spec.name}-{width}.png"), full_page=True)
        problems += [f"{width} px: {line}" for line in axe_violations(page)]
    return problems


def test_every_page_passes_axe_at_both_widths_and_is_photographed(browser, site, axe_source):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    # axe is injected into every document as a script the page's CSP would refuse; the app's own scripts
    # still load as served. One browser context per role, signed in once.
    contexts = {}
    try:
        for role in (None, *ROLES):
            contexts[role] = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, bypass_csp=True)
            contexts[role].add_init_script(axe_source)
            contexts[role].new_page().set_default_timeout(10_000)
        anonymous = contexts[None].pages[0]
        for spec in FIRST_RUN:
            found[spec.name] = _check(anonymous, site.url, spec, site.ids)
        site.populate()
        for role in ROLES:
            sign_in_page(contexts[role].pages[0], site.url, email(role))
        for spec in PAGES:
            found[spec.name] = _check(contexts[spec.role].pages[0], site.url, spec, site.ids)
    finally:
        for context in contexts.values():
            context.close()
    assert {name: lines for name, lines in found.items() if lines} == {}
    for spec in FIRST_RUN + PAGES:
        for width in WIDTHS:
            assert (SCREENSHOTS / f"{spec.name}-{width}.png").stat().st_size > 0


def _page_routes(app) -> set[str]:
    """The endpoints of every GET route that answers HTML: not JSON, CSV, the API, webhooks or static files."""
    return {
        rule.endpoint for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in NOT_PAGES
        and not rule.rule.endswith((".json", ".csv")) and not rule.rule.startswith(("/api/", "/webhooks/"))
    }


def test_the_pages_checked_cover_every_page_route(app):
    urls = app.url_map.bind("localhost")
    covered = set()
    for spec in FIRST_RUN + PAGES:
        try:
            endpoint, _args = urls.match(spec.url(SAMPLE_IDS).split("?")[0], method="GET")
        except NotFound:
            pytest.fail(f"{spec.name}: {spec.path} is no route")
        covered.add(endpoint)
    assert _page_routes(app) - covered == set(), "add these pages to tests/browser/browser_pages.py"
    assert {"ui.calls", "auth.setup", "admin.audit"} <= _page_routes(app)  # the filter above keeps the pages
