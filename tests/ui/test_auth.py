"""Sign-in, sessions, sign-out, throttling and redirect safety."""

from __future__ import annotations

import pytest

from tests.support.signin import EMAIL, PASSWORD, csrf_token, page_token, sign_in
from webapp.accounts import create_user
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
    assert response.headers["Location"] == "/calls"
    page = client.get("/calls").get_data(as_text=True)
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


def test_changing_the_password_ends_existing_sessions(app, client, user):
    sign_in(client)
    assert client.get("/calls").status_code == 200
    from werkzeug.security import generate_password_hash

    from webapp.models import User

    with app.app_context(), get_db().transaction() as session:
        session.get(User, user.id).password_hash = generate_password_hash("another password 123")
    assert client.get("/calls").status_code == 302


def test_repeated_failures_are_slowed_down(client, user):
    for _ in range(5):
        assert sign_in(client, password="not the password").status_code == 401
    response = sign_in(client)  # even the right password must wait now
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert client.get("/calls").status_code == 302


def test_throttle_backs_off_and_forgives():
    from webapp.web.login import Throttle

    throttle = Throttle(free={"email": 2, "ip": 4}, base_delay=1.0)
    keys = [("ip", "1.2.3.4"), ("email", "a@b.c")]
    throttle.failed(keys)
    assert throttle.wait_seconds(keys) == 0
    throttle.failed(keys)
    assert 0 < throttle.wait_seconds(keys) <= 1.0
    throttle.failed(keys)
    assert 1.0 < throttle.wait_seconds(keys) <= 2.0
    # Another account from the same address is not yet blocked by the address alone.
    assert throttle.wait_seconds([("ip", "1.2.3.4"), ("email", "x@y.z")]) == 0
    throttle.succeeded(keys)
    assert throttle.wait_seconds([("email", "a@b.c")]) == 0


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
    assert location == "/calls" or (target.startswith("/%") and location == target)


def test_next_goes_back_to_the_page_asked_for(client, user):
    response = client.get("/calls?status=busy")
    login_url = response.headers["Location"]
    page = client.get(login_url).get_data(as_text=True)
    assert 'value="/calls?status=busy"' in page
    response = sign_in(client, next="/calls?status=busy")
    assert response.headers["Location"] == "/calls?status=busy"


def test_signed_in_visitor_of_login_goes_on(signed_in):
    assert signed_in.get("/login?next=/settings").headers["Location"] == "/settings"
    assert signed_in.get("/login?next=//evil.example").headers["Location"] == "/calls"


def test_users_sign_in_case_insensitively(app, client):
    with app.app_context():
        create_user(get_db(), "Mixed.Case@Example.com", "a long password")
    assert sign_in(client, "mixed.case@example.COM", "a long password").status_code == 302
