"""UI users and API tokens: creating them and checking what they present."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from .db import Database, utcnow
from .models import ApiToken, User

TOKEN_PREFIX = "exo_"
MIN_PASSWORD = 10


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


def _hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; no salt needed to stop guessing.
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_token(db: Database, name: str) -> str:
    """A new API token, returned once in clear; only its hash is stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise AccountError("a token needs a name of 1 to 100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        session.add(ApiToken(name=name, token_hash=_hash_token(token), prefix=token[:10]))
    return token


def authenticate_token(db: Database, token: str) -> ApiToken | None:
    """The live token matching `token`, or None; records its last use at most once a minute."""
    if not token or len(token) > 200:
        return None
    with db.transaction(write=False) as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None)))
    if row is not None and (row.last_used_at is None or utcnow() - row.last_used_at > timedelta(minutes=1)):
        with db.transaction() as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
    return row
