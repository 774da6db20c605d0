"""The one-time set-up code that guards creating the first admin, kept in the database for every host.

Behind a load balancer each request may reach another host, so the code lives in
the shared database, not in a host's `instance/`: one row (id 1), one live code
for the whole deployment. Only its salted hash is stored (werkzeug's, as for
passwords); the clear code exists once, in the process that made it, which
prints it. A code lives SETUP_CODE_LIFETIME and works once.

Two hosts starting at once both try to make the code; the database lets only
one of them (an upsert that replaces the row only when its code is used or
expired), and the other learns who holds the live code, to say so on its console.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeGuard

from sqlalchemy import Integer, String, Text, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Base, Database, UTCDateTime
from ..models import User
from .users import _method as _hash_method

SETUP_CODE_LIFETIME = timedelta(hours=24)
SLOT = 1  # the single row: one live code for the deployment
# Unambiguous characters, grouped for reading off a terminal: XXXX-XXXX-XXXX (about 60 bits).
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class SetupCode(Base):
    """The deployment's set-up code: its hash, who printed it, until when it works, when it was used."""

    __tablename__ = "setup_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code_hash: Mapped[str] = mapped_column(Text)
    made_by: Mapped[str] = mapped_column(String(200))  # host name and process id that printed it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class LiveCode:
    """The live code: `code` in clear only for the caller that just made it."""

    code: str | None
    made_by: str
    created_at: datetime
    expires_at: datetime


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def normalize(code: str) -> str:
    """The code as compared: case, spaces and dashes do not matter."""
    return "".join(ch for ch in (code or "").upper() if ch in ALPHABET)


def _no_users(session) -> bool:
    return not session.scalar(select(func.count()).select_from(User))


def issue(db: Database, *, now: datetime, made_by: str) -> LiveCode | None:
    """The live code, made now (and returned in clear, once) if none is; None once a user exists."""
    with db.transaction(write=False) as session:
        if not _no_users(session):
            return None
        row = session.get(SetupCode, SLOT)
        if _live(row, now):  # the common case: no hash made, nothing written
            return LiveCode(None, row.made_by, row.created_at, row.expires_at)
    code, expires_at, made_by = _new_code(), now + SETUP_CODE_LIFETIME, made_by[:200]
    values = {
        "id": SLOT, "code_hash": generate_password_hash(normalize(code), method=_hash_method()), "made_by": made_by,
        "created_at": now, "expires_at": expires_at, "used_at": None,
    }
    insert = (postgresql.insert if db.dialect == "postgresql" else sqlite.insert)(SetupCode).values(values)
    # Replace the row only when its code can no longer be used: a live code (another host's) stays.
    upsert = insert.on_conflict_do_update(
        index_elements=[SetupCode.id],
        set_={name: insert.excluded[name] for name in values if name != "id"},
        where=SetupCode.used_at.isnot(None) | (SetupCode.expires_at <= now),
    ).returning(SetupCode.id)
    with db.transaction() as session:
        if not _no_users(session):
            return None
        if session.execute(upsert).first() is not None:
            return LiveCode(code, made_by, now, expires_at)
        row = session.get(SetupCode, SLOT)
        assert row is not None  # the upsert found it
        return LiveCode(None, row.made_by, row.created_at, row.expires_at)


def _live(row: SetupCode | None, now: datetime) -> TypeGuard[SetupCode]:
    return row is not None and row.used_at is None and row.expires_at > now


def check(db: Database, given: str, *, now: datetime) -> bool:
    """Whether `given` is the live code (not used, not expired)."""
    given = normalize(given)
    with db.transaction(write=False) as session:
        row = session.get(SetupCode, SLOT)
        return bool(given) and _live(row, now) and check_password_hash(row.code_hash, given)


def redeem(db: Database, given: str, *, now: datetime) -> bool:
    """Use the code up, if `given` is the live one and no user exists yet: True for exactly one caller."""
    given = normalize(given)
    with db.transaction() as session:
        # The row lock (SQLite: the write transaction's lock) makes two hosts redeeming at once take
        # turns: the second finds the code used.
        row = session.scalar(select(SetupCode).where(SetupCode.id == SLOT).with_for_update())
        if not (given and _live(row, now) and check_password_hash(row.code_hash, given) and _no_users(session)):
            return False
        row.used_at = now
    return True


def void(db: Database, *, now: datetime) -> None:
    """End a live code: a user exists (made with `flask users create`, say), so none is needed."""
    with db.transaction(write=False) as session:
        live = _live(session.get(SetupCode, SLOT), now)
    if live:
        with db.transaction() as session:
            session.execute(update(SetupCode).where(SetupCode.used_at.is_(None)).values(used_at=now))
