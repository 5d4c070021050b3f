"""Public trigger tokens (webhook and form URLs): made random, found by a keyed hash.

A token is 43 URL-safe characters (256 random bits). The database never holds it in
clear: ``token_hash`` is HMAC-SHA256 under the trigger-token key (``TRIGGER_TOKEN_KEY``,
else a key derived from ``JWT_SECRET_KEY`` with HKDF), indexed and unique, so resolving a
token is one indexed equality lookup and no secret is compared byte by byte; and
``token_encrypted`` keeps the token under the credentials cipher so editors can read the
full URL again. Viewers get ``mask(token)``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from fluxolab.credentials.cipher import cipher

TOKEN_BYTES = 32
# what a token can look like: anything else is not looked up at all
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
_HKDF_INFO = b"fluxolab trigger tokens v1"


def new_token() -> str:
    """Return a fresh random token (43 URL-safe characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


@lru_cache(maxsize=4)
def _key(explicit: str, jwt_secret: str) -> bytes:
    if explicit:
        return explicit.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        jwt_secret.encode()
    )


def token_key() -> bytes:
    """Return the current app's trigger-token key."""
    config = current_app.config
    return _key(str(config.get("TRIGGER_TOKEN_KEY") or ""), str(config["JWT_SECRET_KEY"]))


def token_hash(token: str) -> str:
    """Return the hex HMAC-SHA256 of ``token``: the indexed lookup value."""
    return hmac.new(token_key(), token.encode(), hashlib.sha256).hexdigest()


def well_formed(token: str) -> bool:
    """Whether ``token`` has a token's shape (cheap check before any lookup)."""
    return bool(TOKEN_SHAPE.match(token))


def encrypt(token: str) -> str:
    """Return ``token`` encrypted under the credentials cipher."""
    return cipher().encrypt({"token": token})


def decrypt(token_encrypted: str) -> str:
    """Return the token of ``encrypt``'s output; raises ``InvalidToken``."""
    return str(cipher().decrypt(token_encrypted)["token"])


def mask(token: str) -> str:
    """Return the token as viewers see it: its first 4 characters, the rest hidden."""
    return f"{token[:4]}{'*' * 8}"


def mask_in_path(path: str) -> str:
    """Return a request path with the token segment of a public trigger URL masked.

    ``/api/webhooks/execute/<token>[/...]``, ``/api/forms/<token>`` and ``/forms/<token>``:
    used by every access-log and log line that shows a path.
    """
    return _PUBLIC_PATH.sub(lambda m: f"{m.group(1)}{mask(m.group(2))}", path)


# runs of slashes count as one (``/api//webhooks/execute//<token>`` reaches the same route)
_PUBLIC_PREFIX = r"(?:/+api/+webhooks/+execute/+|/+api/+forms/+|/+forms/+)"
# the prefix in an absolute URL (``https://host/forms/<token>``, a Referer), or in a path
# (``/forms/`` after a word character, as in ``/a/forms/``, is no form page; ``//forms/`` is)
_PUBLIC_PATH = re.compile(
    rf"([A-Za-z][A-Za-z0-9+.-]*://[^/\s?#\"'<>]+{_PUBLIC_PREFIX}"
    r"|/+api/+webhooks/+execute/+|/+api/+forms/+|(?<![\w/])/+forms/+)"
    r"([^/?#\s\"'<>]+)"
)
