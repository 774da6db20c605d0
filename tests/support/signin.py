"""Signing in through the real form: a Flask test client (CSRF included) for any UI test, a browser page for
the browser tests, and the `signed_in` client fixture (tests/support/fixtures.py).

Imported as `from tests.support.signin import sign_in`.
"""

from __future__ import annotations

import re

# The `user` fixture's credentials (tests/conftest.py).
EMAIL = "ops@example.com"
PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = _CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1) or match.group(2)


def page_token(client, path: str) -> str:
    """GET `path` and return its form's CSRF token."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return csrf_token(response.get_data(as_text=True))


def sign_in(client, email: str = EMAIL, password: str = PASSWORD, next: str | None = None, environ: dict | None = None):
    """Sign in through /login (from the client address in `environ`, if given); returns the
    POST's response (a 302 on success)."""
    token = page_token(client, "/login")
    data = {"csrf_token": token, "email": email, "password": password}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, environ_base=environ or {})


def sign_in_page(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign a Playwright `page` in through the form at `base_url`; returns once it landed on Home and then
    opened the calls list, where most browser tests start."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")  # signing in lands on Home
    page.goto(f"{base_url}/calls")


def signed_in_client(app, email: str = EMAIL, password: str = PASSWORD):
    """A new test client of `app`, signed in as a new admin (`email`)."""
    from webapp.accounts import create_user
    from webapp.db import get_db

    with app.app_context():
        create_user(get_db(), email, password, is_admin=True)
    client = app.test_client()
    assert sign_in(client, email, password).status_code == 302
    return client
