"""Roles and what each may do: the one table every check in the app reads."""

from __future__ import annotations

from typing import Literal

Role = Literal["admin", "operator", "viewer"]
Permission = Literal["read", "place", "admin"]

ROLES: tuple[Role, ...] = ("admin", "operator", "viewer")

# read: calls, events, reports; place: place calls and run campaigns; admin: users, tokens, the audit log.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "place", "admin"}),
    "operator": frozenset({"read", "place"}),
    "viewer": frozenset({"read"}),
}


def can(role: str | None, permission: str) -> bool:
    """Whether `role` grants `permission`; an unknown role grants nothing."""
    return permission in PERMISSIONS.get(role or "", frozenset())


def check_role(role: str) -> str:
    """`role` itself when it is one of ROLES, else ValueError naming the choices."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return role
