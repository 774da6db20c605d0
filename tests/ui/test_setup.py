"""First run: the first admin is created with the one-time set-up code printed on the console."""

from __future__ import annotations

import logging
import re
import stat

from tests.support.signin import page_token, sign_in
from webapp.accounts import count_users, create_user
from webapp.db import get_db


def _setup(client, code, email="first@example.com", password="a long password", confirm=None):
    token = page_token(client, "/setup")
    return client.post(
        "/setup",
        data={"csrf_token": token, "setup_code": code, "email": email, "password": password, "confirm": confirm or password},
    )


def test_fresh_deployment_offers_first_admin(client):
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"].startswith("/setup")
    page = client.get("/setup").get_data(as_text=True)
    assert "Create the first admin" in page and "set-up code" in page


def test_first_admin_needs_the_code(app, client):
    response = _setup(client, "WRONG-CODE-0000")
    assert response.status_code == 403
    assert "not the code printed" in response.get_data(as_text=True)
    with app.app_context():
        assert count_users(get_db()) == 0


def test_first_admin_is_created_and_signed_in(app, client):
    code = app.extensions["setup_code"]
    response = _setup(client, code.lower().replace("-", " "))  # forgiving about case and separators
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/calls").get_data(as_text=True)
    assert "first@example.com" in page
    with app.app_context():
        assert count_users(get_db()) == 1
    # One time only: the set-up page is gone, the code with it.
    assert client.get("/setup").status_code == 302
    assert "setup_code" not in app.extensions
    fresh = app.test_client()
    assert fresh.get("/login").status_code == 200
    assert sign_in(fresh, "first@example.com", "a long password").status_code == 302


def test_setup_rejects_short_or_mismatched_passwords(app, client):
    code = app.extensions["setup_code"]
    assert _setup(client, code, password="short", confirm="short").status_code == 400
    assert _setup(client, code, password="a long password", confirm="another long one").status_code == 400
    with app.app_context():
        assert count_users(get_db()) == 0


def test_a_wrong_code_and_a_bad_password_show_at_once(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    response = _setup(client, "WRONG-CODE-0000", email="not-an-email", password="short", confirm="other")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert re.search(r'id="setup_code-error">That is not the code printed', page)
    assert re.search(r'id="email-error">Enter an email address', page)
    assert re.search(r'id="password-error">The password needs 10 to 1024 characters', page)
    assert re.search(r'id="confirm-error">The passwords differ', page)
    assert "Correct these 4 fields" in page and 'href="#setup_code"' in page
    assert "WRONG-CODE-0000" not in page
    with app.app_context():
        assert count_users(get_db()) == 0
    # Each of those wrong codes counted: the throttle stops guesses made with a bad password too.
    for _ in range(4):
        assert _setup(client, "AAAA-BBBB-CCCC", password="short").status_code == 403
    assert _setup(client, app.extensions["setup_code"]).status_code == 429
    code = app.extensions["setup_code"]
    assert all(code not in record.getMessage() for record in caplog.records)


def test_a_right_code_is_not_written_back_into_the_page(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    code = app.extensions["setup_code"]
    response = _setup(client, code, password="short", confirm="short")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert code not in page and code.replace("-", "") not in page
    assert "setup_code-error" not in page and "That code was right" in page
    assert re.search(r'<input[^>]*id="setup_code"[^>]*value=""', page)
    assert all(code not in record.getMessage() for record in caplog.records)


def test_setup_guesses_are_slowed_down(app, client):
    for _ in range(5):
        assert _setup(client, "AAAA-BBBB-CCCC").status_code == 403
    assert _setup(client, app.extensions["setup_code"]).status_code == 429


def test_setup_closed_once_a_user_exists(client, user):
    assert client.get("/setup").status_code == 302
    token = page_token(client, "/login")
    response = client.post("/setup", data={"csrf_token": token, "setup_code": "X", "email": "x@example.com",
                                           "password": "a long password", "confirm": "a long password"})
    assert response.status_code == 302


def test_code_file_is_private_printed_once_and_removed(app_factory, tmp_path, capfd):
    path = tmp_path / "instance" / "setup_code"
    app = app_factory(SETUP_CODE_PATH=str(path))
    code = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    err = capfd.readouterr().err
    assert err.count(code) == 1
    # A second worker agrees on the same code.
    other = app_factory(SETUP_CODE_PATH=str(path))
    assert path.read_text().strip() == code
    assert code in capfd.readouterr().err
    client = other.test_client()
    response = _setup(client, code)
    assert response.status_code == 302
    assert not path.exists()
    # Started again with a user: no code is made or printed.
    app_factory(SETUP_CODE_PATH=str(path))
    assert not path.exists()
    assert code not in capfd.readouterr().err
    assert app.extensions.get("setup_code") is None


def test_no_code_when_users_exist(app_factory, tmp_path, capfd):
    first = app_factory(SETUP_CODE_PATH=str(tmp_path / "setup_code"))
    with first.app_context():
        create_user(get_db(), "someone@example.com", "a long password")
    capfd.readouterr()
    (tmp_path / "setup_code").write_text("STALE-CODE-0000\n")
    app_factory(SETUP_CODE_PATH=str(tmp_path / "setup_code"))
    assert not (tmp_path / "setup_code").exists()
    assert "set-up code" not in capfd.readouterr().err
