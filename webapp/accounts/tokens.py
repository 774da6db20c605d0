"""API tokens: created once in clear, stored as hashes, checked on every API request.

A token carries a role (what its requests may do) and may expire. Revoking it,
or disabling the user who made it, refuses its very next request in every process.
A token made by a user never acts above that user's current role: it is read
with the user on every request, so a demotion applies to the very next one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..db import Database, utcnow
from ..models import ApiToken, User
from . import audit
from .audit import Actor
from .roles import check_role, lesser
from .users import AccountError

TOKEN_PREFIX = "exo_"


def _hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; no salt needed to stop guessing.
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_token(
    db: Database, name: str, *, role: str = "operator", expires_at: datetime | None = None,
    actor: Actor | None = None, created_by_user_id: int | None = None,
) -> str:
    """A new API token, returned once in clear; only its hash is stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise AccountError("a token needs a name of 1 to 100 characters")
    try:
        check_role(role)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    if expires_at is not None and expires_at <= utcnow():
        raise AccountError("the expiry must be in the future")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        # Calls name the token that placed them ("token:<name>"): two live tokens never share a name.
        if session.scalar(select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))) is not None:
            raise AccountError(f"a live token named {name!r} exists already")
        row = ApiToken(
            name=name, token_hash=_hash_token(token), prefix=token[:10], role=role, expires_at=expires_at,
            created_by_user_id=created_by_user_id,
        )
        session.add(row)
        session.flush()
        detail = {"role": role, "expires_at": expires_at.isoformat() if expires_at else None}
        audit.record(session, actor or Actor(audit.SYSTEM), "token.create", audit.token_actor(name), detail)
    return token


def list_tokens(db: Database) -> list[ApiToken]:
    """Every token, live ones first, newest first."""
    with db.transaction(write=False) as session:
        return list(session.scalars(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc())))


def revoke_token(db: Database, token_id: int, actor: Actor, *, now: datetime | None = None) -> ApiToken:
    """Revoke the token: its next request is refused."""
    now = now or utcnow()
    with db.transaction() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.id == token_id).with_for_update())
        if row is None:
            raise AccountError("no such token")
        if row.revoked_at is None:
            row.revoked_at = now
            audit.record(session, actor, "token.revoke", audit.token_actor(row.name), at=now)
    return row


@dataclass(frozen=True)
class TokenCaller:
    """A live token as one request sees it: `role` is what it may do now."""

    id: int
    name: str
    role: str  # the lesser of its own role and its maker's current role
    own_role: str  # the role it was made with
    maker_role: str | None  # its maker's role now; None for a token made on the command line


def authenticate_token(db: Database, token: str, *, now: datetime | None = None) -> TokenCaller | None:
    """The live token matching `token`, or None; records its last use at most once a minute.

    A token whose maker is disabled is refused even if it escaped revocation.
    """
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    with db.transaction(write=False) as session:
        found = session.execute(
            select(ApiToken, User.role, User.disabled_at)
            .outerjoin(User, User.id == ApiToken.created_by_user_id)
            .where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
        ).first()
    if found is None:
        return None
    row, maker_role, maker_disabled_at = found
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.created_by_user_id is not None and (maker_role is None or maker_disabled_at is not None):
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        with db.transaction() as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return TokenCaller(row.id, row.name, lesser(row.role, maker_role), row.role, maker_role)
