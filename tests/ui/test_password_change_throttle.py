"""Changing one's password is throttled and audited like sign-in: guessing the current password is slowed
down, every wrong guess is written down, and both doors share one count per account."""

from __future__ import annotations

import json

from tests.support.signin import PASSWORD, page_token, sign_in
from tests.support.teams import audit_rows
from webapp.web.browser.login import Throttle

NEW = "another password 123"


class Clock:
    def __init__(self) -> None:
        self.seconds = 5000.0

    def __call__(self) -> float:
        return self.seconds


def _change(client, token: str, current: str):
    return client.post("/password", data={"csrf_token": token, "current": current, "password": NEW, "confirm": NEW})


def test_guessing_the_current_password_is_slowed_down_and_audited(app, client, user):
    clock = Clock()
    app.extensions["signin_throttle"] = Throttle(clock=clock)
    sign_in(client)
    token = page_token(client, "/password")
    answers = [_change(client, token, f"guess number {n}") for n in range(40)]
    codes = [answer.status_code for answer in answers]
    assert codes[:5] == [422] * 5 and set(codes[5:]) == {429}
    assert int(answers[5].headers["Retry-After"]) >= 1
    assert "Too many failed attempts" in answers[5].get_data(as_text=True)
    failed = audit_rows(app, "user.password_failed")
    assert [(row.actor, row.target, row.ip, json.loads(row.detail)) for row in failed] == [
        ("user:ops@example.com", "user:ops@example.com", "127.0.0.1", {"reason": "wrong_password"}),
    ] * 5
    assert not any(f"guess number {n}" in (row.detail or "") for row in audit_rows(app) for n in range(40))

    # Even the right password waits now, and the sign-in form counts the same guesses.
    assert _change(client, token, PASSWORD).status_code == 429
    assert sign_in(app.test_client()).status_code == 429
    assert audit_rows(app, "user.password") == []

    clock.seconds += 3  # past the first back-off (2 s)
    done = _change(client, token, PASSWORD)
    assert done.status_code == 303
    [changed] = audit_rows(app, "user.password")
    assert json.loads(changed.detail) == {"via": "change"}
    assert sign_in(app.test_client(), password=NEW).status_code == 302  # the success cleared the count


def test_wrong_sign_ins_count_against_a_password_change_too(app, client, user):
    """One secret, one count: five wrong sign-ins leave no fresh guesses for the password form."""
    app.extensions["signin_throttle"] = Throttle(clock=Clock())
    sign_in(client)
    token = page_token(client, "/password")
    for _ in range(5):
        assert sign_in(app.test_client(), password="not the password").status_code == 401
    assert _change(client, token, "a sixth guess").status_code == 429
    assert audit_rows(app, "user.password_failed") == []  # not even checked, like a throttled sign-in


def test_a_short_new_password_is_not_a_wrong_guess(app, client, user):
    sign_in(client)
    token = page_token(client, "/password")
    response = client.post("/password", data={"csrf_token": token, "current": PASSWORD, "password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert audit_rows(app, "user.password_failed") == []
