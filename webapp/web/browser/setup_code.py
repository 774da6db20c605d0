"""The one-time set-up code that guards creating the first admin on a fresh deployment.

While no user exists, the code lives in `instance/setup_code` (mode 0600, beside
`secret_key`, which is the more powerful secret) so that every worker and every
restart agree on it, and each process prints it once to its console (stderr, not
the JSON log). Creating the first admin deletes the file.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sys
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from ...accounts import count_users
from ...config import get_settings
from ...db import Database

# Unambiguous characters, grouped for reading off a terminal: XXXX-XXXX-XXXX (about 60 bits).
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def code_path(app: Flask) -> Path | None:
    """Where the code is kept; None keeps it in memory (tests that name no path)."""
    path = get_settings(app).setup_code_path
    if path:
        return Path(path)
    return None if app.testing else Path(app.instance_path) / "setup_code"


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def _normalize(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch in ALPHABET)


def read_or_create(app: Flask) -> str:
    """The current code, created (atomically, 0600) when there is none."""
    path = code_path(app)
    if path is None:
        return app.extensions.setdefault("setup_code", _new_code())
    try:
        code = path.read_text().strip()
        if code:
            return code
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    code = _new_code()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(code + "\n")
    return code


def announce(app: Flask) -> None:
    """Print the code to this process's console, once, when the first admin is still to be made."""
    if app.extensions.get("setup_code_announced"):
        return
    code = read_or_create(app)
    app.extensions["setup_code_announced"] = True
    print(
        f"\n  No user exists yet. Open the sign-in page to create the first admin with\n"
        f"  the one-time set-up code:  {code}\n",
        file=sys.stderr,
        flush=True,
    )


def init_setup_code(app: Flask) -> None:
    """At start: announce the code when no user exists; forget a stale one when users do."""
    database: Database = app.extensions["database"]
    try:
        with app.app_context():
            users = count_users(database)
    except SQLAlchemyError:
        return  # not migrated yet (e.g. `flask db upgrade` itself): the sign-in page asks again
    if users:
        discard(app)
    else:
        announce(app)


def needs_setup(database: Database) -> bool:
    """Whether the first admin is still to be created (and announce the code if not yet done)."""
    if count_users(database):
        return False
    announce(current_app)
    return True


def check(app: Flask, given: str) -> bool:
    """Whether `given` is the current code (case, spaces and dashes do not matter)."""
    path = code_path(app)
    try:
        expected = app.extensions.get("setup_code", "") if path is None else path.read_text().strip()
    except FileNotFoundError:
        return False
    given = _normalize(given)
    return bool(given) and bool(expected) and hmac.compare_digest(given, _normalize(expected))


def discard(app: Flask) -> None:
    """Forget the code: the first admin exists."""
    path = code_path(app)
    app.extensions.pop("setup_code", None)
    if path is None:
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass
