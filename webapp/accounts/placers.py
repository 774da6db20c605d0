"""Who may have placed calls: the `created_by` values of users and API tokens, for the calls list's filter."""

from __future__ import annotations

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from ..models import ApiToken, User
from .audit import token_actor, user_actor


def placer_choices(session: Session) -> list[tuple[str, str]]:
    """(created_by value, label) of every user, by email, then of every API token, by name; in one query."""
    rows = session.execute(
        union_all(
            select(literal("user").label("kind"), User.email.label("name"), User.disabled_at.is_(None).label("live")),
            select(literal("token"), ApiToken.name, ApiToken.revoked_at.is_(None)),
        )
    ).all()
    live: dict[tuple[str, str], bool] = {}
    for kind, name, active in rows:
        live[(kind, name)] = live.get((kind, name), False) or bool(active)  # tokens may share a name
    choices = []
    for (kind, name), active in sorted(live.items(), key=lambda item: (item[0][0] != "user", item[0][1].lower())):
        if kind == "user":
            choices.append((user_actor(name), name + ("" if active else " (disabled)")))
        else:
            choices.append((token_actor(name), f"API token {name}" + ("" if active else " (revoked)")))
    return choices
