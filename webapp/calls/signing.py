"""Per-call secrets for StatusCallback URLs: a keyed HMAC of the call id."""

from __future__ import annotations

import base64
import hashlib
import hmac


def callback_token(secret_key: str, call_id: str) -> str:
    """The token that authenticates Exotel's callbacks for one call (Exotel does not sign them)."""
    digest = hmac.new(secret_key.encode(), b"exotel-callback:" + call_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify_callback_token(secret_key: str, call_id: str, token: str) -> bool:
    """Whether `token` is this call's token, compared in constant time."""
    return hmac.compare_digest(callback_token(secret_key, call_id).encode(), token.encode("utf-8", "replace"))
