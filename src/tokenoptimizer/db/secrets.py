"""Secrets stored in the metadata database (provider keys, webhook secrets, SMTP passwords).

They are encrypted with a key derived from the server's secret key (`TOKENOPTIMIZER_SECRET_KEY`),
so a copy of the database alone does not reveal them. Fernet gives authenticated encryption
(AES-128-CBC + HMAC-SHA256); HKDF turns the free-form secret key into a Fernet key, with a
purpose label so this key is never the one that signs sessions.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretUnreadable(ValueError):
    """A stored secret cannot be decrypted: the server's secret key changed since it was saved."""


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"tokenoptimizer stored secrets v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(secret_key: str, plaintext: str) -> str:
    """Encrypt `plaintext` for storage; the result is ASCII."""
    return _fernet(secret_key).encrypt(plaintext.encode()).decode("ascii")


def decrypt_secret(secret_key: str, token: str) -> str:
    """Decrypt a value made by `encrypt_secret`; `SecretUnreadable` if the key changed."""
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted: TOKENOPTIMIZER_SECRET_KEY changed since it was saved; "
            "enter the secret again"
        ) from exc


def mask_secret(plaintext: str) -> str:
    """What the API shows of a stored secret: its last four characters."""
    return "…" + plaintext[-4:] if len(plaintext) > 8 else "…"
