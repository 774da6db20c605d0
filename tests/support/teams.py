"""The test team's credentials, and reading the audit log and the calls table back in tests.

Named apart from other test directories' helpers: pytest puts each directory on sys.path.
"""

from __future__ import annotations

from sqlalchemy import func, select

from tests.support.signin import EMAIL, PASSWORD
from webapp.db import get_db
from webapp.models import AuditEntry, Call

ROLE_EMAILS = {"admin": EMAIL, "operator": "agent@example.com", "viewer": "reader@example.com"}
ROLE_PASSWORDS = {"admin": PASSWORD, "operator": "agent password 1", "viewer": "reader password 1"}


def audit_rows(app, action: str | None = None) -> list[AuditEntry]:
    with app.app_context(), get_db().transaction(write=False) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def call_count(app) -> int:
    with app.app_context(), get_db().transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Call)) or 0
