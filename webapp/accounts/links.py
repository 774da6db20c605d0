"""One-time set-password links: for a new user, or after an admin resets a password.

A link is `<id>.<secret>`: the row is found by id and its stored SHA-256 compared
with the secret's in constant time. It works once, for 24 hours; issuing a new
one for the same user voids the older ones.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update

from ..db import Database, utcnow
from ..models import PasswordLink, User
from . import audit
from .audit import Actor
from .users import AccountError, check_password, set_password

LINK_LIFETIME = timedelta(hours=24)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def issue_link(db: Database, user_id: int, actor: Actor, *, now: datetime | None = None, action: str = "user.reset") -> str:
    """A new link for `user_id` (older unused ones end); audited as `action` unless it is ''."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled_at is not None:
            raise AccountError("no such active user")
        session.execute(
            update(PasswordLink).where(PasswordLink.user_id == user_id, PasswordLink.used_at.is_(None)).values(used_at=now)
        )
        link = PasswordLink(user_id=user_id, token_hash=_hash(secret), created_at=now, expires_at=now + LINK_LIFETIME)
        session.add(link)
        session.flush()
        if action:
            audit.record(session, actor, action, audit.user_actor(user.email), at=now)
    return f"{link.id}.{secret}"


def _parse(token: str) -> tuple[int, str] | None:
    link_id, _, secret = (token or "").partition(".")
    if not link_id.isdigit() or len(link_id) > 12 or not secret or len(secret) > 100:
        return None
    return int(link_id), secret


def link_user(db: Database, token: str, *, now: datetime | None = None) -> User | None:
    """The user a live link is for, or None (unknown, used, expired, or the user disabled)."""
    now = now or utcnow()
    parsed = _parse(token)
    if parsed is None:
        return None
    with db.transaction(write=False) as session:
        link = session.get(PasswordLink, parsed[0])
        if link is None or not hmac.compare_digest(link.token_hash, _hash(parsed[1])):
            return None
        if link.used_at is not None or link.expires_at <= now:
            return None
        user = session.get(User, link.user_id)
        return user if user is not None and user.disabled_at is None else None


def redeem_link(db: Database, token: str, password: str, ip: str | None, *, now: datetime | None = None) -> User:
    """Set the password through a live link and spend it; AccountError when the link is not live."""
    now = now or utcnow()
    check_password(password)
    parsed = _parse(token)
    if parsed is None:
        raise AccountError("this link is not valid")
    with db.transaction() as session:
        # Spending the link and reading it is one statement: of two uses at once, one wins.
        spent = session.execute(
            update(PasswordLink)
            .where(PasswordLink.id == parsed[0], PasswordLink.used_at.is_(None), PasswordLink.expires_at > now)
            .values(used_at=now)
            .returning(PasswordLink.user_id, PasswordLink.token_hash)
        ).first()
        if spent is None or not hmac.compare_digest(spent.token_hash, _hash(parsed[1])):
            raise AccountError("this link is not valid, was used already, or has expired")
        user = session.get(User, spent.user_id)
        if user is None or user.disabled_at is not None:
            raise AccountError("this link is not valid")
        set_password(session, user, password, Actor(audit.user_actor(user.email), ip), now=now, via="link")
    return user
