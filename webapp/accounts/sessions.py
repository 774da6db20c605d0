"""Server-side sessions: the browser's cookie names a row here, and only a live row signs it in.

The cookie carries a random secret; the table keeps its SHA-256. Every request
looks the row up together with its user, so an ended session, an expired one or
a disabled user is refused at once by every worker process (nothing is cached).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import Database, utcnow
from ..models import User, UserSession

SESSION_LIFETIME = timedelta(hours=12)
_MAX_SECRET = 200


def _hash(secret: str) -> str:
    # 256 random bits: a fast hash suffices, and the lookup by hash leaks nothing useful.
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def open_session(session: Session, user_id: int, *, now: datetime, lifetime: timedelta = SESSION_LIFETIME) -> str:
    """Add a session row for `user_id` to `session`'s transaction; returns the cookie's secret."""
    secret = secrets.token_urlsafe(32)
    session.add(UserSession(id=_hash(secret), user_id=user_id, created_at=now, expires_at=now + lifetime))
    return secret


def session_user(db: Database, secret: str, *, now: datetime | None = None) -> User | None:
    """The active user whose live session `secret` names, or None."""
    if not secret or len(secret) > _MAX_SECRET:
        return None
    now = now or utcnow()
    query = (
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.id == _hash(secret),
            UserSession.ended_at.is_(None),
            UserSession.expires_at > now,
            User.disabled_at.is_(None),
        )
    )
    return db.session().scalar(query)


def end_session(session: Session, secret: str, *, now: datetime) -> int | None:
    """End the session `secret` names; returns its user's id (None when it was not live)."""
    row = session.get(UserSession, _hash(secret)) if secret and len(secret) <= _MAX_SECRET else None
    if row is None or row.ended_at is not None:
        return None
    row.ended_at = now
    return row.user_id


def end_user_sessions(session: Session, user_id: int, *, now: datetime) -> None:
    """End every live session of `user_id` (a password change, a disabled account)."""
    session.execute(
        update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None)).values(ended_at=now)
    )
