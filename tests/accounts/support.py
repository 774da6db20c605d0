"""Reading the audit log and the calls table back in tests."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.db import get_db
from webapp.models import AuditEntry, Call


def audit_rows(app, action: str | None = None) -> list[AuditEntry]:
    with app.app_context(), get_db().transaction(write=False) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def call_count(app) -> int:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Call)) or 0
