"""The audit log: one row per action, added in the transaction of the action it records.

A refused action is audited too (REFUSALS), in a transaction of its own, since the
action's own rolled back or never began.

Rows are never updated or deleted (the database refuses it). No secret ever goes
in: callers pass names, ids and roles, never passwords, tokens or links.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from ..db import Database, utcnow
from ..models import AuditEntry

SYSTEM = "system"

# Actions that record something refused rather than done: the audit page's "refused" outcome.
REFUSALS: tuple[str, ...] = (
    "sign_in_failed",  # a wrong password, an unknown account, a disabled one
    "user.password_failed",  # one's own password change with a wrong current password
    "access.refused",  # a 403: a route the role does not grant (a viewer's write, a demoted token's, a non-admin on /admin)
    "token.unknown",  # API requests with a bearer token that is no live token: one row per address per minute, counted
    "user.role_refused",  # a role change refused: the last admin, or an actor no longer an admin
    "user.disable_refused",  # the same for disabling
)
OUTCOMES = ("refused", "done")


@dataclass(frozen=True)
class Actor:
    """Who acts, and from which client address."""

    name: str  # "user:<email>", "token:<name>" or "system"
    ip: str | None = None


def user_actor(email: str) -> str:
    return f"user:{email}"


def token_actor(name: str) -> str:
    return f"token:{name}"


def record(
    session: Session, actor: Actor, action: str, target: str | None = None,
    detail: dict[str, Any] | None = None, *, at: datetime | None = None,
) -> None:
    """Add one audit row to `session`'s transaction: it commits, or rolls back, with the action."""
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor=actor.name[:300],
            action=action,
            target=target[:300] if target else None,
            ip=(actor.ip or None) and actor.ip[:64],
            detail=json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else None,
        )
    )


def record_refusal(
    db: Database, actor: Actor, action: str, target: str | None = None, detail: dict[str, Any] | None = None,
    *, at: datetime | None = None,
) -> None:
    """Audit something refused, in a transaction of its own (the refused action's, if any, rolled back)."""
    with db.transaction() as session:
        record(session, actor, action, target, detail, at=at)


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None  # "refused": the REFUSALS; "done": every other action
    since: datetime | None = None
    until: datetime | None = None


def _query(filters: AuditFilters) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEntry.action == filters.action)
    if filters.outcome == "refused":
        query = query.where(AuditEntry.action.in_(REFUSALS))
    elif filters.outcome == "done":
        query = query.where(AuditEntry.action.not_in(REFUSALS))
    if filters.since:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until:
        query = query.where(AuditEntry.at < filters.until)
    return query


def list_entries(session: Session, filters: AuditFilters, *, page: int, per_page: int) -> tuple[list[AuditEntry], bool]:
    """One page of entries, newest first, and whether another page follows."""
    query = _query(filters).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    rows = list(session.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
    return rows[:per_page], len(rows) > per_page


def iter_entries(db: Database, filters: AuditFilters, *, batch: int = 500) -> Iterator[AuditEntry]:
    """Every matching entry, newest first, read a batch at a time (for CSV) in a session of its own.

    Each batch is a query of its own, after the last row of the one before, so no
    cursor stays open between them however slowly the reader goes; the session
    closes when the reader finishes or stops.
    """
    query = _query(filters).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(batch)
    with db.transaction(write=False) as session:
        page = list(session.scalars(query))
        while page:
            yield from page
            if len(page) < batch:
                return
            last = page[-1]
            after = or_(AuditEntry.at < last.at, and_(AuditEntry.at == last.at, AuditEntry.id < last.id))
            page = list(session.scalars(query.where(after)))


def actions(session: Session) -> list[str]:
    """The actions the log holds, for the filter's choices."""
    return sorted(session.scalars(select(AuditEntry.action).distinct()))
