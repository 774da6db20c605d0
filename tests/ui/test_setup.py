"""First run: the first admin is created with the one-time set-up code printed on the console."""

from __future__ import annotations

import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.support.processes import gunicorn, stop
from tests.support.signin import csrf_token, page_token, sign_in
from webapp.accounts import count_users, create_user, list_users, setup_codes
from webapp.config import get_settings
from webapp.config.tuning import with_clock
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


# Several hosts: the code lives in the shared database, hashed, for SETUP_CODE_LIFETIME, once.


def _code_printed(err: str) -> str:
    match = re.search(r"set-up code:\s+([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", err)
    assert match, err
    return match.group(1)


def test_the_code_printed_by_one_host_works_on_another(app_factory, capfd):
    capfd.readouterr()
    host_a = app_factory()
    code = _code_printed(capfd.readouterr().err)
    host_b = app_factory()  # starts after A: no second code, but where to find the first
    err = capfd.readouterr().err
    assert code not in err and "set-up code:" not in err
    assert "was printed by" in err and f"(pid {os.getpid()})" in err
    assert _setup(host_b.test_client(), code).status_code == 302
    with host_a.app_context():
        assert [user.email for user in list_users(get_db())] == ["first@example.com"]
    assert host_a.test_client().get("/setup").status_code == 302  # closed on every host


def test_the_code_is_stored_hashed_only(app, database_url):
    code = app.extensions["setup_code"]
    engine = create_engine(database_url)
    with engine.connect() as connection:
        (row,) = connection.execute(text("SELECT * FROM setup_codes")).mappings().all()
    engine.dispose()
    stored = " ".join(str(value) for value in row.values())
    assert code not in stored and code.replace("-", "") not in stored
    assert row["code_hash"].startswith(("scrypt:", "pbkdf2:"))


def test_a_used_code_is_refused(app):
    code = app.extensions["setup_code"]
    with app.app_context():
        now = get_settings(app).now()
        assert setup_codes.check(get_db(), code, now=now)
        assert setup_codes.redeem(get_db(), code, now=now)
        # No user was made (say the database failed just then): the code still works only once.
        assert not setup_codes.check(get_db(), code, now=now)
        assert not setup_codes.redeem(get_db(), code, now=now)


def test_an_expired_code_is_refused_and_a_new_one_printed(app, client, capfd):
    code = app.extensions["setup_code"]
    start = get_settings(app).now()
    with_clock(app, lambda: start + setup_codes.SETUP_CODE_LIFETIME - timedelta(seconds=1))
    with app.app_context():
        assert setup_codes.check(get_db(), code, now=get_settings(app).now())
    capfd.readouterr()
    with_clock(app, lambda: start + setup_codes.SETUP_CODE_LIFETIME)
    response = _setup(client, code)  # its GET of the page makes the next code
    assert response.status_code == 403 and "not the code printed" in response.get_data(as_text=True)
    fresh = _code_printed(capfd.readouterr().err)
    assert fresh != code and app.extensions["setup_code"] == fresh
    assert _setup(client, fresh).status_code == 302


def test_two_hosts_starting_at_once_agree_on_one_code(app_factory, database_url):
    """Both ask for the code at the same moment, again and again: one makes it, the other is told who did."""
    hosts = [app_factory(), app_factory()]
    now = get_settings(hosts[0]).now()
    for attempt in range(15):
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM setup_codes"))
        engine.dispose()
        barrier = threading.Barrier(2)

        def start(host, index, barrier=barrier):
            with host.app_context():
                barrier.wait()
                return setup_codes.issue(get_db(), now=now, made_by=f"host-{index}")

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(start, hosts, range(2)))
        made = [answer for answer in answers if answer.code is not None]
        assert len(made) == 1, (attempt, answers)
        assert answers[0].made_by == answers[1].made_by == made[0].made_by
        with hosts[1].app_context():
            assert setup_codes.check(get_db(), made[0].code, now=now)


def test_two_hosts_given_the_code_at_once_make_one_admin(app_factory, capfd):
    capfd.readouterr()
    hosts = [app_factory(), app_factory()]
    code = _code_printed(capfd.readouterr().err)
    clients = [host.test_client() for host in hosts]
    tokens = [page_token(client, "/setup") for client in clients]
    barrier = threading.Barrier(2)

    def submit(index):
        barrier.wait()
        return clients[index].post("/setup", data={
            "csrf_token": tokens[index], "setup_code": code, "email": f"admin{index}@example.com",
            "password": "a long password", "confirm": "a long password"}).status_code

    with ThreadPoolExecutor(2) as pool:
        # The loser is sent to sign in, or told the code is no longer right, by when it looked.
        assert sorted(pool.map(submit, range(2))) in ([302, 302], [302, 403])
    with hosts[0].app_context():
        assert count_users(get_db()) == 1


def test_no_code_when_users_exist(app_factory, capfd):
    first = app_factory()
    code = first.extensions["setup_code"]
    with first.app_context():
        create_user(get_db(), "someone@example.com", "a long password")
    capfd.readouterr()
    again = app_factory()  # restarted with a user: no code printed, and the pending one ends
    assert "set-up code" not in capfd.readouterr().err
    with again.app_context():
        get_db().session().execute(text("DELETE FROM users WHERE email = 'someone@example.com'"))
        get_db().session().commit()
        assert not setup_codes.check(get_db(), code, now=get_settings(again).now())


@pytest.mark.processes
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_gunicorn_hosts_started_at_once_share_one_code(database_url, tmp_path):
    """Two hosts (gunicorn as the README runs it) start together on one PostgreSQL: one prints the code, the
    other where it was printed; the code creates the first admin through the other host."""
    logs = [tmp_path / "host-a.log", tmp_path / "host-b.log"]
    with ThreadPoolExecutor(2) as pool:
        starting = [pool.submit(gunicorn, database_url, log, workers=1) for log in logs]
    hosts = [future.result() for future in starting if future.exception() is None]
    try:
        assert len(hosts) == 2, [future.exception() for future in starting]
        printed = [log.read_text() for log in logs]
        makers = [index for index, text in enumerate(printed) if "set-up code:" in text]
        assert len(makers) == 1, printed
        code = _code_printed(printed[makers[0]])
        other = 1 - makers[0]
        assert "was printed by" in printed[other] and code not in printed[other]
        browser = requests.Session()
        url = hosts[other][1]
        token = csrf_token(browser.get(f"{url}/setup", timeout=10).text)
        response = browser.post(f"{url}/setup", allow_redirects=False, timeout=10, data={
            "csrf_token": token, "setup_code": code, "email": "first@example.com",
            "password": "a long password", "confirm": "a long password"})
        assert response.status_code == 302 and response.headers["Location"] == "/"
        assert requests.get(f"{hosts[makers[0]][1]}/setup", allow_redirects=False, timeout=10).status_code == 302
    finally:
        for process, _url in hosts:
            stop(process)
