"""Steps shared by the browser tests."""

from __future__ import annotations

EMAIL = "browser@example.com"
PASSWORD = "correct horse battery"


# WCAG 2.1 A and AA, plus axe's best practices; these impacts fail a test.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = ("serious", "critical")


def axe_violations(page, source: str | None = None) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each.

    `source` (axe itself) is injected first unless the page's context already runs it as an init script."""
    if source is not None:
        page.evaluate(source)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    lines = []
    for violation in result["violations"]:
        if violation["impact"] in BLOCKING:
            targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return lines


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
