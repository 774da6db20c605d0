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


# Higher grants more: each role's permissions include those of every role below it.
RANK: dict[str, int] = {"viewer": 0, "operator": 1, "admin": 2}


def lesser(role: str, other: str | None) -> str:
    """The role granting less of `role` and `other` (`other` None: `role` itself)."""
    if other is None:
        return role
    return role if RANK.get(role, -1) <= RANK.get(other, -1) else other


def check_role(role: str) -> str:
    """`role` itself when it is one of ROLES, else ValueError naming the choices."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return role
