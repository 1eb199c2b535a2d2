"""Secrets: password hashing, API key and session token generation. No I/O.

Passwords are hashed with argon2 (slow on purpose). API keys and session tokens are long random
strings, so a fast SHA-256 is enough to store them: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "tko_"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2 hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    """The stored form of an API key or session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> str:
    """A new API key: `tko_` and 40 random URL-safe characters."""
    return API_KEY_PREFIX + secrets.token_urlsafe(30)


def new_session_token() -> str:
    """A new session token for the login cookie."""
    return secrets.token_urlsafe(32)


def display_prefix(api_key: str) -> str:
    """The part of a key shown in lists, enough to recognise it: `tko_AbCd…`."""
    return api_key[:8]
