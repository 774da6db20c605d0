"""UI users: creating them, checking their passwords, recording their sign-ins."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Database, utcnow
from ..models import User

MIN_PASSWORD = 10
# Compared against when the email is unknown, so a miss costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A user or token that cannot be created as asked."""


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"{email[:60]!r} is not an email address")
    return email


def create_user(db: Database, email: str, password: str, *, is_admin: bool = False) -> User:
    """A new UI user; the password is stored only as a salted scrypt hash."""
    email = normalize_email(email)
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    try:
        with db.transaction() as session:
            user = User(email=email, password_hash=generate_password_hash(password), is_admin=is_admin)
            session.add(user)
    except IntegrityError:
        raise AccountError(f"a user {email} exists already") from None
    return user


def count_users(db: Database) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(User))


def get_user(db: Database, user_id: int) -> User | None:
    """The user with this id, read in the request's session."""
    return db.session().get(User, user_id)


def authenticate(db: Database, email: str, password: str) -> User | None:
    """The user with this email and password, or None; the same work is done either way."""
    try:
        email = normalize_email(email)
    except AccountError:
        email = None
    user = None
    if email is not None:
        with db.transaction(write=False) as session:
            user = session.scalar(select(User).where(User.email == email))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


def record_sign_in(db: Database, user_id: int) -> None:
    """Stamp the user's last sign-in."""
    with db.transaction() as session:
        session.execute(update(User).where(User.id == user_id).values(last_login_at=utcnow()))
