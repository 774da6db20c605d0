"""Steps shared by the browser tests."""

from __future__ import annotations

EMAIL = "browser@example.com"
PASSWORD = "correct horse battery"


def sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/calls")

# An init script: from the page's load on, window.__said lists every text put in its live region (base.html).
RECORD_ANNOUNCEMENTS = """
document.addEventListener("DOMContentLoaded", () => {
  window.__said = [];
  const region = document.getElementById("live-announcer");
  if (!region) return;
  new MutationObserver(() => { if (region.textContent) window.__said.push(region.textContent); })
    .observe(region, {childList: true, characterData: true, subtree: true});
});
"""


def announcements(page) -> list[str]:
    """What the page said through its live region since it loaded (RECORD_ANNOUNCEMENTS must be installed)."""
    return page.evaluate("window.__said")


def in_live_region(page, selector: str) -> bool:
    """Whether the element is inside an aria-live region (one that a redraw would have read out in full)."""
    return page.evaluate("(s) => !!document.querySelector(s).closest('[aria-live]')", selector)
