"""Accounts: UI users and API tokens."""

from .tokens import TOKEN_PREFIX, authenticate_token, create_token
from .users import MIN_PASSWORD, AccountError, authenticate, count_users, create_user, get_user, normalize_email, record_sign_in

__all__ = [
    "MIN_PASSWORD", "TOKEN_PREFIX", "AccountError", "authenticate", "authenticate_token", "count_users", "create_token",
    "create_user", "get_user", "normalize_email", "record_sign_in",
]
