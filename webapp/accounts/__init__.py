"""Accounts: UI users and their roles, sessions, set-password links, API tokens, the audit log."""

from .audit import Actor
from .links import LINK_LIFETIME, issue_link, link_user, redeem_link
from .roles import ROLES, can
from .sessions import SESSION_LIFETIME, session_user
from .tokens import TOKEN_PREFIX, authenticate_token, create_token, list_tokens, revoke_token
from .users import (
    MIN_PASSWORD,
    AccountError,
    WrongPasswordError,
    authenticate,
    change_password,
    change_role,
    check_sign_in,
    count_users,
    create_user,
    disable_user,
    find_user,
    get_user,
    list_users,
    normalize_email,
    record_failed_sign_in,
    sign_in,
    sign_out,
)

__all__ = [
    "LINK_LIFETIME", "MIN_PASSWORD", "ROLES", "SESSION_LIFETIME", "TOKEN_PREFIX", "AccountError", "Actor",
    "authenticate", "authenticate_token", "can", "change_password", "change_role", "check_sign_in", "count_users", "create_token",
    "create_user", "disable_user", "find_user", "get_user", "issue_link", "link_user", "list_tokens", "list_users",
    "normalize_email", "record_failed_sign_in", "redeem_link", "revoke_token", "session_user", "sign_in", "sign_out",
    "WrongPasswordError",
]
