"""UI sign-in: Flask-Login over server-side sessions, a throttle that resists guessing, safe `next=` targets."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app, jsonify, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, login_user

from ...accounts import SESSION_LIFETIME, can, session_user, sign_in
from ...config import get_settings
from ...db import Database, get_db
from ...models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
# "basic": a changed IP or browser marks the session non-fresh instead of dropping it,
# so people on phones moving between networks stay signed in.
login_manager.session_protection = "basic"

# Flask's own default, which a deployment that set nothing still has.
_FLASK_DEFAULT_LIFETIME = timedelta(days=31)


@dataclass(frozen=True)
class SessionUser(UserMixin):
    """The signed-in person as the UI needs them; detached from any database session."""

    id: int
    email: str
    role: str
    secret: str  # names this browser's row of user_sessions

    def get_id(self) -> str:
        return self.secret

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can(self, permission: str) -> bool:
        return can(self.role, permission)


def now() -> datetime:
    """The app's clock: utcnow, or a test's (Settings.clock)."""
    return get_settings().now()


@login_manager.user_loader
def load_user(secret: str) -> SessionUser | None:
    """The user of a live session: read on every request, so an ended one is refused at once."""
    user = session_user(get_db(), secret, now=now())
    return SessionUser(user.id, user.email, user.role, secret) if user is not None else None


@login_manager.unauthorized_handler
def unauthorized():
    """JSON endpoints answer 401; pages send the visitor to sign in and back."""
    if request.path.endswith(".json") or request.accept_mimetypes.best == "application/json":
        response = jsonify({"error": {"code": "unauthorized", "message": "Sign in again."}})
        response.status_code = 401
        return response
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def session_lifetime(app: Flask | None = None) -> timedelta:
    return (app or current_app).config["PERMANENT_SESSION_LIFETIME"]


def init_login(app: Flask) -> None:
    # Flask's default config already holds 31 days, so setdefault would never apply ours.
    if app.config.get("PERMANENT_SESSION_LIFETIME") == _FLASK_DEFAULT_LIFETIME:
        app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    login_manager.init_app(app)


def start_session(db: Database, user: User) -> None:
    """Sign `user` in on a fresh session: nothing from before sign-in survives (no fixation)."""
    secret = sign_in(db, user, request.remote_addr, now=now(), lifetime=session_lifetime())
    session.clear()
    session.permanent = True
    session["sid"] = secrets.token_urlsafe(16)  # a new session identity at every sign-in
    login_user(SessionUser(user.id, user.email, user.role, secret))


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
    """Slows down guessing without locking a whole office out.

    Per account (any email typed, known or not, so the lock reveals nothing):
    past `account_free` failures each try waits longer, doubling up to
    `max_delay`, and the password is not even checked meanwhile. Per client
    address: only failures for unknown accounts count, up to a higher
    `address_free`; past it, failed tries are answered 429 with a wait. The
    right password of an account that is not locked always signs in, so people
    sharing one address (a proxy, an office NAT) never lock each other out.
    Kept in this process's memory, one counter per worker.
    """

    def __init__(self, *, account_free: int = 5, address_free: int = 100, base_delay: float = 2.0,
                 max_delay: float = 300.0, forget_after: float = 900.0, clock: Callable[[], float] = time.monotonic):
        self.free = {"account": account_free, "address": address_free}
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.forget_after = forget_after
        self.clock = clock
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _wait(self, key: tuple[str, str], now: float) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        free = self.free[key[0]]
        if now - last > self.forget_after or count < free:
            return 0.0
        return max(last + min(self.base_delay * 2 ** (count - free), self.max_delay) - now, 0.0)

    def account_wait(self, email: str) -> float:
        """Seconds before `email` may be tried again (0: go ahead)."""
        with self._lock:
            return self._wait(("account", _account_key(email)), self.clock())

    def address_wait(self, address: str | None) -> float:
        """Seconds the address's failed tries are told to wait (0: none)."""
        with self._lock:
            return self._wait(("address", address or ""), self.clock())

    def failed(self, email: str, address: str | None, *, known_account: bool) -> None:
        now = self.clock()
        keys = [("account", _account_key(email))]
        if not known_account:
            keys.append(("address", address or ""))
        with self._lock:
            self._prune(now)
            for key in keys:
                count, last = self._failures.get(key, (0, 0.0))
                if now - last > self.forget_after:
                    count = 0
                self._failures[key] = (count + 1, now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(("account", _account_key(email)), None)

    def _prune(self, now: float) -> None:
        if len(self._failures) > 10_000:
            stale = [key for key, (_, last) in self._failures.items() if now - last > self.forget_after]
            for key in stale:
                del self._failures[key]


def _account_key(email: str) -> str:
    return (email or "").strip().lower()[:254]


def throttle(app: Flask | None = None) -> Throttle:
    """This app's sign-in throttle (one per process)."""
    app = app or current_app
    return app.extensions.setdefault("signin_throttle", Throttle())
