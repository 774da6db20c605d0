"""UI users: creating them, their roles and passwords, signing in and out, disabling them.

Each change is one transaction that also writes its audit row. The last active
admin can be neither demoted nor disabled, so the team can always manage itself.
A refused change (the last admin, a wrong current password) is audited too, in a
transaction of its own.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache

from flask import current_app, has_app_context
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Database, utcnow
from ..models import ApiToken, User
from . import audit
from .audit import Actor
from .roles import check_role
from .sessions import SESSION_LIFETIME, end_session, end_user_sessions, open_session

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# scrypt makes each hash cost real CPU time on purpose. An app built with TESTING (a create_app argument
# only, never read from the environment) hashes with one PBKDF2 round: its passwords are the tests' own.
_TESTING_METHOD = "pbkdf2:sha256:1"


def _method() -> str:
    return _TESTING_METHOD if has_app_context() and current_app.testing else "scrypt"


def _hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method())


@cache
def _dummy_hash(method: str) -> str:
    # Compared against when the email is unknown, so a miss costs as much as a wrong password;
    # made on first use, so importing the app costs no hash.
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


class AccountError(ValueError):
    """A user or token that cannot be created or changed as asked."""


class WrongPasswordError(AccountError):
    """The current password given to change it is not the account's."""


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"{email[:60]!r} is not an email address")
    return email


def check_password(password: str | None) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password or "") > MAX_PASSWORD:
        raise AccountError(f"the password is limited to {MAX_PASSWORD} characters")
    return password or ""


def _role(role: str) -> str:
    try:
        return check_role(role)
    except ValueError as exc:
        raise AccountError(str(exc)) from None


def create_user(
    db: Database, email: str, password: str | None, *, role: str | None = None, is_admin: bool = False,
    actor: Actor | None = None,
) -> User:
    """A new UI user; the password is stored only as a salted scrypt hash.

    Without a password the account cannot sign in until a set-password link is used.
    The role defaults to admin for the first user and operator after.
    """
    email = normalize_email(email)
    # Without a password: the hash of a random one nobody ever saw.
    password_hash = _hash_password(check_password(password) if password is not None else secrets.token_urlsafe(32))
    try:
        with db.transaction() as session:
            if role is None:
                role = "admin" if is_admin or not session.scalar(select(func.count()).select_from(User)) else "operator"
            role = _role(role)
            user = User(email=email, password_hash=password_hash, role=role, is_admin=role == "admin")
            session.add(user)
            session.flush()
            audit.record(session, actor or Actor(audit.SYSTEM), "user.create", audit.user_actor(email), {"role": role})
    except IntegrityError:
        raise AccountError(f"a user {email} exists already") from None
    return user


def count_users(db: Database) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def get_user(db: Database, user_id: int) -> User | None:
    """The user with this id, read in the request's session."""
    return db.session().get(User, user_id)


def list_users(db: Database) -> list[User]:
    """Every user, by email."""
    with db.transaction(write=False) as session:
        return list(session.scalars(select(User).order_by(User.email)))


def check_sign_in(db: Database, email: str, password: str) -> tuple[User | None, bool]:
    """The account `email` names (or None) and whether `password` is its password.

    An unknown email costs the same hash as a known one, so timing tells nothing.
    """
    try:
        normalized: str | None = normalize_email(email)
    except AccountError:
        normalized = None
    user = find_user(db, normalized) if normalized else None
    if user is None:
        check_password_hash(_dummy_hash(_method()), password or "")
        return None, False
    return user, check_password_hash(user.password_hash, password or "")


def authenticate(db: Database, email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user, ok = check_sign_in(db, email, password)
    return user if ok and user is not None and user.disabled_at is None else None


def find_user(db: Database, email: str) -> User | None:
    """The user with this (normalized) email, or None."""
    with db.transaction(write=False) as session:
        return session.scalar(select(User).where(User.email == email))


def sign_in(db: Database, user: User, actor_ip: str | None, *, now: datetime | None = None,
            lifetime: timedelta = SESSION_LIFETIME) -> str:
    """Open a session for `user`, stamp the sign-in, audit it; returns the session's secret."""
    now = now or utcnow()
    with db.transaction() as session:
        secret = open_session(session, user.id, now=now, lifetime=lifetime)
        session.execute(update(User).where(User.id == user.id).values(last_login_at=now))
        audit.record(session, Actor(audit.user_actor(user.email), actor_ip), "sign_in", audit.user_actor(user.email), at=now)
    return secret


def sign_out(db: Database, secret: str, actor_ip: str | None, *, now: datetime | None = None) -> None:
    """End the session `secret` names, audited; nothing happens for a session already ended."""
    now = now or utcnow()
    with db.transaction() as session:
        user_id = end_session(session, secret, now=now)
        user = session.get(User, user_id) if user_id is not None else None
        if user is not None:
            name = audit.user_actor(user.email)
            audit.record(session, Actor(name, actor_ip), "sign_out", name, at=now)


def record_failed_sign_in(db: Database, user: User | None, actor_ip: str | None, reason: str) -> None:
    """Audit a refused sign-in. The address typed is kept only when it names an account:
    what someone typed into the email field may be their password."""
    with db.transaction() as session:
        name = audit.user_actor(user.email) if user is not None else audit.SYSTEM
        audit.record(session, Actor(name, actor_ip), "sign_in_failed", name if user is not None else None, {"reason": reason})


def _lock_user(session: Session, user_id: int) -> User:
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise AccountError("no such user")
    return user


def _lock_admins(session: Session, user_id: int, acting_user_id: int | None) -> tuple[User, list[User], User | None]:
    """Lock the user, the acting user and every active admin, always in the order of their ids.

    Two admins demoting each other at once then wait for one another instead of
    each holding one row and waiting for the other's (a deadlock on PostgreSQL;
    SQLite's write transactions are serial already). Returns the user, the other
    active admins, and the acting user as they are once locked.
    """
    ids = [user_id] + ([acting_user_id] if acting_user_id is not None else [])
    rows = session.scalars(
        select(User)
        .where(or_(User.id.in_(ids), and_(User.role == "admin", User.disabled_at.is_(None))))
        .order_by(User.id)
        # FOR NO KEY UPDATE: no key changes, so inserts naming these users (sessions) need not wait.
        .with_for_update(key_share=True)
    ).all()
    by_id = {row.id: row for row in rows}
    if user_id not in by_id:
        raise AccountError("no such user")
    others = [row for row in rows if row.id != user_id and row.role == "admin" and row.disabled_at is None]
    return by_id[user_id], others, by_id.get(acting_user_id) if acting_user_id is not None else None


def _refusal(user: User, others: list[User], acting: User | None, acting_user_id: int | None) -> str | None:
    """Why the change is refused ("last_admin", "not_admin"), or None when it may go ahead."""
    if acting_user_id is not None and (acting is None or acting.role != "admin" or acting.disabled_at is not None):
        return "not_admin"  # demoted or disabled since the request was let in
    if user.role == "admin" and user.disabled_at is None and not others:
        return "last_admin"
    return None


REFUSAL_MESSAGES = {
    "role": {"last_admin": "the last admin cannot be demoted: make another admin first"},
    "disable": {"last_admin": "the last admin cannot be disabled: make another admin first"},
}
NOT_ADMIN = "you are no longer an admin"


def _refuse(db: Database, actor: Actor, change: str, user: User, reason: str, detail: dict[str, str]) -> AccountError:
    audit.record_refusal(db, actor, f"user.{change}_refused", audit.user_actor(user.email), {"reason": reason, **detail})
    return AccountError(REFUSAL_MESSAGES[change].get(reason, NOT_ADMIN))


def change_role(db: Database, user_id: int, role: str, actor: Actor, *, acting_user_id: int | None = None) -> User:
    """Give the user `role`; the last active admin keeps theirs.

    With `acting_user_id`, the acting user must still be an active admin when the
    change is made (not only when their request began); refusals are audited.
    """
    role = _role(role)
    with db.transaction() as session:
        user, others, acting = _lock_admins(session, user_id, acting_user_id)
        if user.role == role:
            return user
        reason = _refusal(user, others, acting, acting_user_id)
        if reason is None:
            previous, user.role, user.is_admin = user.role, role, role == "admin"
            audit.record(session, actor, "user.role", audit.user_actor(user.email), {"from": previous, "to": role})
            return user
    raise _refuse(db, actor, "role", user, reason, {"from": user.role, "to": role})


def disable_user(
    db: Database, user_id: int, actor: Actor, *, now: datetime | None = None, acting_user_id: int | None = None,
) -> User:
    """Disable the user: their sessions end and the tokens they made are revoked, now (never the last admin)."""
    now = now or utcnow()
    with db.transaction() as session:
        user, others, acting = _lock_admins(session, user_id, acting_user_id)
        if user.disabled_at is not None:
            return user
        reason = _refusal(user, others, acting, acting_user_id)
        if reason is None:
            user.disabled_at = now
            end_user_sessions(session, user.id, now=now)
            session.execute(
                update(ApiToken).where(ApiToken.created_by_user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
            )
            audit.record(session, actor, "user.disable", audit.user_actor(user.email), at=now)
            return user
    raise _refuse(db, actor, "disable", user, reason, {})


def set_password(session: Session, user: User, password: str, actor: Actor, *, now: datetime, via: str) -> None:
    """In `session`'s transaction: the new password, every old session ended, one audit row."""
    user.password_hash = _hash_password(check_password(password))
    end_user_sessions(session, user.id, now=now)
    audit.record(session, actor, "user.password", audit.user_actor(user.email), {"via": via}, at=now)


def change_password(db: Database, user_id: int, old: str, new: str, actor: Actor, *, now: datetime | None = None) -> None:
    """The user's own change: the old password must match; every session of theirs ends.

    A wrong current password is audited (`user.password_failed`) and raises WrongPasswordError.
    """
    now = now or utcnow()
    check_password(new)
    with db.transaction() as session:
        user = _lock_user(session, user_id)
        right = check_password_hash(user.password_hash, old or "")
        if right:
            set_password(session, user, new, actor, now=now, via="change")
    if not right:
        audit.record_refusal(db, actor, "user.password_failed", audit.user_actor(user.email), {"reason": "wrong_password"}, at=now)
        raise WrongPasswordError("the current password is not right")
