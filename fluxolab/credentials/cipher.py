"""Encrypt credential secrets with MultiFernet over ``CREDENTIALS_ENCRYPTION_KEYS``.

The setting is a comma-separated list of Fernet keys: the first encrypts, every one decrypts.
Each row records the fingerprint of the key that encrypted it (``key_id``), so rotation
(``fluxolab rotate-credential-key``) knows which rows are still under an older key and can
stop and resume at any point.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

__all__ = ["Cipher", "InvalidToken", "cipher", "fingerprint"]


def fingerprint(key: str) -> str:
    """Return the 16-hex-digit fingerprint of a Fernet key (never the key itself)."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:16]


class Cipher:
    """Authenticated encryption of JSON secrets under an ordered list of keys."""

    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise RuntimeError("CREDENTIALS_ENCRYPTION_KEYS holds no key")
        self._fernet = MultiFernet([Fernet(part.encode()) for part in parts])
        self.key_id = fingerprint(parts[0])  # the key that encrypts

    def encrypt(self, secret: Mapping[str, Any]) -> str:
        """Return the Fernet token of ``secret`` under the first key."""
        data = json.dumps(dict(secret), separators=(",", ":"), sort_keys=True)
        return self._fernet.encrypt(data.encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        """Return the secret of a token made by any configured key; raises ``InvalidToken``."""
        secret: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        return secret

    def rotate(self, token: str) -> str:
        """Return ``token`` re-encrypted under the first key; raises ``InvalidToken``."""
        return self._fernet.rotate(token.encode()).decode()

    def __repr__(self) -> str:
        return f"Cipher(key_id={self.key_id!r})"


@lru_cache(maxsize=4)
def _cipher(keys: str) -> Cipher:
    return Cipher(keys)


def cipher() -> Cipher:
    """Return the cipher of the current app's ``CREDENTIALS_ENCRYPTION_KEYS``."""
    return _cipher(str(current_app.config["CREDENTIALS_ENCRYPTION_KEYS"]))
