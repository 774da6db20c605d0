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
