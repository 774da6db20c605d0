"""API tokens: created once in clear, stored as hashes, checked on every API request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..db import Database, utcnow
from ..models import ApiToken
from .users import AccountError

TOKEN_PREFIX = "exo_"


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
