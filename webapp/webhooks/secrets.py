"""Endpoint secrets: made here, shown once, stored encrypted with a key derived from SECRET_KEY.

The receiver needs the secret itself to verify signatures, and the worker needs
it to sign, so it cannot be stored as a hash like API tokens are. Fernet
(authenticated AES from `cryptography`) keeps it out of the database in clear:
a copy of the database without SECRET_KEY reveals no secret, and a tampered row
fails to decrypt instead of signing with an attacker's key.
"""

from __future__ import annotations

import base64
import functools
import secrets

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


@functools.lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    # A key of its own, derived from SECRET_KEY: sessions' signing key is never used to encrypt.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"webhook endpoint secrets").derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, secret: str) -> str:
    """`secret` encrypted for the database."""
    return _fernet(secret_key).encrypt(secret.encode()).decode()


@functools.lru_cache(maxsize=256)  # the worker signs every delivery: decrypt each endpoint's secret once
def unseal(secret_key: str, sealed: str) -> str:
    """The secret back from its stored form (cryptography.fernet.InvalidToken when SECRET_KEY changed)."""
    return _fernet(secret_key).decrypt(sealed.encode()).decode()
