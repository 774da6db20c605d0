"""The set-up code for the first admin, as the hosts print it (accounts.setup_codes keeps it, hashed, in the database).

While no user exists, the process that makes the deployment's code prints it to
its console (stderr, not the JSON log); any other process, on this host or
another, prints once which host and process printed the live code. The code
works on every host. Once it is used or expires, the next visit to the sign-in
page makes a new one, printed by the process that served that visit.
"""

from __future__ import annotations

import os
import socket
import sys

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from ...accounts import count_users, setup_codes
from ...config import get_settings
from ...db import Database


def _me() -> str:
    return f"{socket.gethostname()} (pid {os.getpid()})"


def _at(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def announce(app: Flask) -> None:
    """Make sure a live code exists; print it if this process made it, else (once) who printed it."""
    database: Database = app.extensions["database"]
    live = setup_codes.issue(database, now=get_settings(app).now(), made_by=_me())
    if live is None:
        return
    if live.code is not None:
        if app.testing:  # tests read the code here rather than off the console
            app.extensions["setup_code"] = live.code
        app.extensions["setup_code_announced"] = True
        message = (f"  No user exists yet. Open the sign-in page to create the first admin with\n"
                   f"  the one-time set-up code:  {live.code}\n"
                   f"  (it works on every host, once, until {_at(live.expires_at)})")
    elif not app.extensions.get("setup_code_announced"):
        app.extensions["setup_code_announced"] = True
        message = (f"  No user exists yet. The one-time set-up code for the first admin was printed by\n"
                   f"  {live.made_by} at {_at(live.created_at)}; it works on every host until {_at(live.expires_at)}.")
    else:
        return
    print(f"\n{message}\n", file=sys.stderr, flush=True)


def init_setup_code(app: Flask) -> None:
    """At start: announce the code when no user exists; end a live one when users do."""
    database: Database = app.extensions["database"]
    try:
        with app.app_context():
            if count_users(database):
                setup_codes.void(database, now=get_settings(app).now())
            else:
                announce(app)
    except SQLAlchemyError:
        return  # not migrated yet (e.g. `flask db upgrade` itself): the sign-in page asks again


def needs_setup(database: Database) -> bool:
    """Whether the first admin is still to be created (and a live code is there to create it with)."""
    if count_users(database):
        return False
    announce(current_app)
    return True


def check(app: Flask, given: str) -> bool:
    """Whether `given` is the live code (case, spaces and dashes do not matter)."""
    return setup_codes.check(app.extensions["database"], given, now=get_settings(app).now())


def redeem(app: Flask, given: str) -> bool:
    """Use the code up for the first admin: True for exactly one request, on whichever host."""
    if setup_codes.redeem(app.extensions["database"], given, now=get_settings(app).now()):
        app.extensions.pop("setup_code", None)
        return True
    return False
