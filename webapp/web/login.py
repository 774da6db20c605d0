"""UI sign-in: Flask-Login wiring, password checks that resist guessing, safe `next=` targets."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, login_user

from ..accounts import get_user, record_sign_in
from ..db import Database, get_db
from ..models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
# "basic": a changed IP or browser marks the session non-fresh instead of dropping it,
# so people on phones moving between networks stay signed in.
login_manager.session_protection = "basic"

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class SessionUser(UserMixin):
    """The signed-in person as the UI needs them; detached from any database session."""

    id: int
    email: str
    is_admin: bool
    stamp: str  # changes with the password hash, so a new password ends old sessions

    def get_id(self) -> str:
        return f"{self.id}:{self.stamp}"


def _stamp(password_hash: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:16]


def session_user(user: User) -> SessionUser:
    return SessionUser(user.id, user.email, bool(user.is_admin), _stamp(user.password_hash))


@login_manager.user_loader
def load_user(user_key: str) -> SessionUser | None:
    """The user behind a session's id, if it still exists with the same password."""
    user_id, _, stamp = user_key.partition(":")
    if not user_id.isdigit():
        return None
    user = get_user(get_db(), int(user_id))
    if user is None:
        return None
    found = session_user(user)
    return found if hmac.compare_digest(found.stamp, stamp) else None


@login_manager.unauthorized_handler
def unauthorized():
    """JSON endpoints answer 401; pages send the visitor to sign in and back."""
    if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
        response = jsonify({"error": {"code": "unauthorized", "message": "Sign in again."}})
        response.status_code = 401
        return response
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def init_login(app: Flask) -> None:
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", SESSION_LIFETIME)
    login_manager.init_app(app)


def start_session(db: Database, user: User) -> None:
    """Sign `user` in on a fresh session: nothing from before sign-in survives (no fixation)."""
    session.clear()
    session.permanent = True
    session["sid"] = secrets.token_urlsafe(16)  # a new session identity at every sign-in
    login_user(session_user(user))
    record_sign_in(db, user.id)


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target or len(target) > 2000:
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


class Throttle:
    """Slows down guessing: past a free allowance of failures per key, each try waits longer.

    Keys are (kind, value): an account is allowed `free["email"]` failures, a client
    address (which may be a whole office behind NAT) `free["ip"]`. Kept in this
    process's memory, one counter per worker: a guesser spread over several workers
    gets a few more tries, never an unthrottled run.
    """

    def __init__(self, free: dict[str, int] | None = None, base_delay: float = 2.0,
                 max_delay: float = 300.0, forget_after: float = 900.0):
        self.free = free or {"email": 5, "ip": 20}
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _prune(self, now: float) -> None:
        if len(self._failures) > 10_000:
            stale = [key for key, (_, last) in self._failures.items() if now - last > self.forget_after]
            for key in stale:
                del self._failures[key]

    def wait_seconds(self, keys) -> float:
        """How long to wait before trying any of `keys` again (0: go ahead)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                count, last = self._failures.get(key, (0, 0.0))
                free = self.free.get(key[0], 5)
                if now - last > self.forget_after or count < free:
                    continue
                delay = min(self.base_delay * 2 ** (count - free), self.max_delay)
                wait = max(wait, last + delay - now)
        return max(wait, 0.0)

    def failed(self, keys) -> None:
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            for key in keys:
                count, last = self._failures.get(key, (0, 0.0))
                if now - last > self.forget_after:
                    count = 0
                self._failures[key] = (count + 1, now)

    def succeeded(self, keys) -> None:
        with self._lock:
            for key in keys:
                if key[0] == "email":
                    self._failures.pop(key, None)


def throttle(app: Flask | None = None) -> Throttle:
    """This app's sign-in throttle (one per process)."""
    app = app or current_app
    return app.extensions.setdefault("signin_throttle", Throttle())


def throttle_keys(email: str | None) -> list[tuple[str, str]]:
    """Per client address, and per account when one is named."""
    keys = [("ip", request.remote_addr or "")]
    if email and email.strip():
        keys.append(("email", email.strip().lower()[:254]))
    return keys
