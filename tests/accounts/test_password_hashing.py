"""Passwords are stored as scrypt hashes; only an app built for the tests hashes with a single cheap round."""

from __future__ import annotations

import subprocess
import sys

import pytest

from webapp.accounts import authenticate, create_user
from webapp.db import get_db


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_served_app_stores_scrypt_and_a_test_app_one_cheap_round(app):
    with app.app_context():
        cheap = create_user(get_db(), "cheap@example.com", "correct horse battery")
        app.testing = False  # as gunicorn and `flask run` build it
        try:
            served = create_user(get_db(), "served@example.com", "correct horse battery")
            assert authenticate(get_db(), "served@example.com", "correct horse battery") is not None
            assert authenticate(get_db(), "nobody@example.com", "correct horse battery") is None
        finally:
            app.testing = True
        assert authenticate(get_db(), "cheap@example.com", "correct horse battery") is not None
    assert served.password_hash.startswith("scrypt:")
    assert cheap.password_hash.startswith("pbkdf2:sha256:1$")


def test_importing_the_app_computes_no_password_hash():
    # The unknown-email comparison hash is made on first sign-in, not at import (gunicorn workers, CLI, tests).
    probe = ("import werkzeug.security as s; calls = []; real = s.generate_password_hash\n"
             "s.generate_password_hash = lambda *a, **k: calls.append(1) or real(*a, **k)\n"
             "import webapp, webapp.accounts.users; webapp.create_app; print(len(calls))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "0"
