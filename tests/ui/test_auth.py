"""Sign-in, sessions, sign-out, throttling and redirect safety."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.signin import EMAIL, PASSWORD, csrf_token, page_token, sign_in
from webapp.accounts import create_user
from webapp.config.tuning import with_clock
from webapp.db import get_db


def test_pages_need_sign_in(client, user):
    response = client.get("/calls?status=busy")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert response.headers["Location"] == "/login?next=/calls?status%3Dbusy"


def test_status_json_answers_401_not_a_redirect(client, user):
    response = client.get("/calls/abc/status.json")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_sign_in_and_out(client, user):
    response = sign_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"  # Home, the shift at a glance
    page = client.get("/").get_data(as_text=True)
    assert EMAIL in page and "Sign out" in page

    token = csrf_token(page)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/calls").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part(client, user):
    response = sign_in(client, password="wrong password!")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    response = sign_in(client, email="nobody@example.com")
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/calls").status_code == 302


def test_logout_is_a_post_with_csrf(client, user):
    sign_in(client)
    assert client.get("/logout").status_code == 405
    refused = client.post("/logout")  # no CSRF token
    assert refused.status_code == 400 and "Reload the page" in refused.get_data(as_text=True)
    assert client.get("/calls").status_code == 200  # still signed in


def test_session_cookie_flags_over_http(client, user):
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_over_https(client, user):
    token = page_token(client, "https://localhost/login")
    response = client.post(
        "/login", base_url="https://localhost", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD},
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "max-age" in response.headers.get("Strict-Transport-Security", "")


def test_session_identity_changes_at_sign_in(client, user):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["sid"] = "fixed-by-attacker"
    sign_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sid"] != "fixed-by-attacker"
        first = session["sid"]
    client.post("/logout", data={"csrf_token": page_token(client, "/calls/new")})
    sign_in(client)
    with client.session_transaction() as session:
        assert session["sid"] != first


def _cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app, cookie: str):
    """A fresh browser presenting a copied session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/calls")


def test_session_cookie_lasts_twelve_hours(client, user):
    from email.utils import parsedate_to_datetime

    from webapp.db import utcnow

    response = sign_in(client)
    expires = parsedate_to_datetime(response.headers["Set-Cookie"].split("Expires=")[1].split(";")[0])
    lifetime = expires - utcnow()
    assert timedelta(hours=11, minutes=59) < lifetime <= timedelta(hours=12)


def test_a_copied_cookie_is_refused_after_sign_out(app, client, user):
    sign_in(client)
    captured = _cookie(client)
    assert _replay(app, captured).status_code == 200
    client.post("/logout", data={"csrf_token": page_token(client, "/calls/new")})
    assert client.get("/calls").status_code == 302
    replayed = _replay(app, captured)
    assert replayed.status_code == 302 and replayed.headers["Location"].startswith("/login")


def test_a_session_ends_on_the_server_after_twelve_hours(app, client, user):
    from webapp.db import utcnow

    start = utcnow()
    with_clock(app, lambda: start)
    sign_in(client)
    with_clock(app, lambda: start + timedelta(hours=11, minutes=59))
    assert client.get("/calls").status_code == 200
    with_clock(app, lambda: start + timedelta(hours=12, seconds=1))
    assert client.get("/calls").status_code == 302


def test_changing_the_password_ends_existing_sessions(app, client, user):
    sign_in(client)
    other_browser = app.test_client()
    sign_in(other_browser)
    captured = _cookie(client)
    token = page_token(client, "/password")
    response = client.post(
        "/password", data={"csrf_token": token, "current": PASSWORD, "password": "another password 123", "confirm": "another password 123"}
    )
    assert response.status_code == 303
    assert client.get("/calls").status_code == 200  # this browser signed in anew
    assert other_browser.get("/calls").status_code == 302
    assert _replay(app, captured).status_code == 302
    assert sign_in(app.test_client()).status_code == 401
    assert sign_in(app.test_client(), password="another password 123").status_code == 302


def test_a_wrong_current_password_changes_nothing(client, user):
    sign_in(client)
    token = page_token(client, "/password")
    response = client.post(
        "/password", data={"csrf_token": token, "current": "not it at all", "password": "another password 123", "confirm": "another password 123"}
    )
    assert response.status_code == 422 and "current password is not right" in response.get_data(as_text=True)
    assert client.get("/calls").status_code == 200
    client.post("/logout", data={"csrf_token": page_token(client, "/calls/new")})
    assert sign_in(client).status_code == 302


def test_repeated_failures_are_slowed_down(client, user):
    for _ in range(5):
        assert sign_in(client, password="not the password").status_code == 401
    response = sign_in(client)  # even the right password must wait now
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert client.get("/calls").status_code == 302


def test_guessing_random_accounts_from_an_address_locks_out_no_one(client, user):
    """Behind a proxy everyone shares one address: a spray of guesses must not lock the office out."""
    for n in range(60):
        assert sign_in(client, email=f"guess{n}-{uuid.uuid4().hex[:6]}@example.com", password="Password1!").status_code in (401, 429)
    assert sign_in(client).status_code == 302
    assert client.get("/calls").status_code == 200


def test_the_address_limit_answers_429_to_failures_but_lets_the_right_password_in(app, client, user):
    from webapp.web.browser.login import Throttle

    app.extensions["signin_throttle"] = Throttle(address_free=3)
    office = {"REMOTE_ADDR": "203.0.113.7"}
    for n in range(3):
        assert sign_in(client, email=f"nobody{n}@example.com", password="x" * 12, environ=office).status_code == 401
    refused = sign_in(client, email="nobody9@example.com", password="x" * 12, environ=office)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "from your network" in refused.get_data(as_text=True)
    # A known account's typo from the same address counts against that account only.
    assert sign_in(client, password="a typo, again", environ=office).status_code == 429
    assert sign_in(client, environ=office).status_code == 302
    # Another address is not affected at all.
    assert sign_in(app.test_client(), email="nobody@example.com", password="x" * 12, environ={"REMOTE_ADDR": "198.51.100.1"}).status_code == 401


def test_throttle_backs_off_and_forgives():
    from webapp.web.browser.login import Throttle

    clock = [1000.0]
    throttle = Throttle(account_free=2, address_free=3, base_delay=1.0, forget_after=60.0, clock=lambda: clock[0])
    throttle.failed("a@b.c", "1.2.3.4", known_account=True)
    assert throttle.account_wait("a@b.c") == 0
    throttle.failed("a@b.c", "1.2.3.4", known_account=True)
    assert throttle.account_wait("A@B.C ") == 1.0
    throttle.failed("a@b.c", "1.2.3.4", known_account=True)
    assert throttle.account_wait("a@b.c") == 2.0
    clock[0] += 1.5
    assert throttle.account_wait("a@b.c") == 0.5
    # Failures for a known account never count against the address.
    assert throttle.address_wait("1.2.3.4") == 0
    for n in range(3):
        throttle.failed(f"x{n}@y.z", "1.2.3.4", known_account=False)
    assert throttle.address_wait("1.2.3.4") == 1.0
    assert throttle.account_wait("someone@else.example") == 0
    throttle.succeeded("a@b.c")
    assert throttle.account_wait("a@b.c") == 0
    clock[0] += 61
    assert throttle.address_wait("1.2.3.4") == 0


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/%0d%0aSet-Cookie:x",
        "/calls\r\nLocation: https://evil.example",
        "evil.example",
    ],
)
def test_next_never_leaves_the_site(client, user, target):
    response = sign_in(client, next=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    # A path on this site (percent-escapes stay escaped), else the default page.
    assert location == "/" or (target.startswith("/%") and location == target)


def test_next_goes_back_to_the_page_asked_for(client, user):
    response = client.get("/calls?status=busy")
    login_url = response.headers["Location"]
    page = client.get(login_url).get_data(as_text=True)
    assert 'value="/calls?status=busy"' in page
    response = sign_in(client, next="/calls?status=busy")
    assert response.headers["Location"] == "/calls?status=busy"


def test_signed_in_visitor_of_login_goes_on(signed_in):
    assert signed_in.get("/login?next=/settings").headers["Location"] == "/settings"
    assert signed_in.get("/login?next=//evil.example").headers["Location"] == "/"


def test_users_sign_in_case_insensitively(app, client):
    with app.app_context():
        create_user(get_db(), "Mixed.Case@Example.com", "a long password")
    assert sign_in(client, "mixed.case@example.COM", "a long password").status_code == 302
