"""Checking who calls a webhook: none, basic, bearer, api-key, and Standard Webhooks HMAC.

Every comparison is constant-time (``hmac.compare_digest``) and every malformed header is
an ``Unauthorized`` (401), never a 500. The secrets come from the webhook's credential
(``http-basic``, ``http-bearer``, ``http-header`` whose ``name`` is the header to send,
``webhook-hmac``); a missing or unreadable credential refuses every call.

``hmac`` is the Standard Webhooks scheme (https://www.standardwebhooks.com): the caller
sends ``webhook-id``, ``webhook-timestamp`` (Unix seconds, within ``tolerance`` of now) and
``webhook-signature``, a space-separated list of ``v1,<base64 HMAC-SHA256>`` over
``id.timestamp.raw_body``; any listed signature made with any of the credential's secrets
passes (so both sides can rotate). A ``whsec_`` secret is base64 after its prefix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any

from fluxolab.errors import Unauthorized

DEFAULT_TOLERANCE_S = 300
MAX_SIGNATURES = 10
MAX_MESSAGE_ID = 200
_STAMP = re.compile(r"[0-9]{1,12}")
_HMAC_SECRETS = ("secret", "previousSecret")


def _refuse(message: str = "Credenciais do webhook invalidas.") -> Unauthorized:
    return Unauthorized(message, code="webhook_unauthorized")


def _same(given: str | bytes, expected: str | bytes) -> bool:
    a = given.encode() if isinstance(given, str) else given
    b = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


def _authorization(headers: Mapping[str, str], scheme: str) -> str:
    value = headers.get("authorization", "")
    kind, _, rest = value.strip().partition(" ")
    if kind.lower() != scheme or not rest.strip():
        raise _refuse()
    return rest.strip()


def check_basic(headers: Mapping[str, str], secret: Mapping[str, Any]) -> None:
    """``Authorization: Basic base64(user:password)`` must match the credential."""
    encoded = _authorization(headers, "basic")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _refuse() from None
    user, sep, password = decoded.partition(b":")
    expected_user = str(secret.get("user", "")).encode()
    expected_password = str(secret.get("password", "")).encode()
    ok_user = _same(user, expected_user)
    ok_password = _same(password, expected_password)
    if not (sep and ok_user and ok_password and expected_password):
        raise _refuse()


def check_bearer(headers: Mapping[str, str], secret: Mapping[str, Any]) -> None:
    """``Authorization: Bearer <token>`` must match the credential's token."""
    given = _authorization(headers, "bearer")
    expected = str(secret.get("token") or "")
    if not expected or not _same(given, expected):
        raise _refuse()


def check_header(headers: Mapping[str, str], secret: Mapping[str, Any]) -> None:
    """The credential's header (``name``) must carry its ``value``."""
    name = str(secret.get("name") or "").lower()
    expected = str(secret.get("value") or "")
    given = headers.get(name, "") if name else ""
    if not expected or not _same(given, expected):
        raise _refuse()


def hmac_key(secret: str) -> bytes:
    """Return the HMAC key of a secret: base64 after ``whsec_``, else its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def sign(secret: str, message_id: str, timestamp: int | str, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature of a Standard Webhooks message."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(hmac_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_hmac(
    headers: Mapping[str, str],
    body: bytes,
    secret: Mapping[str, Any],
    *,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Verify a Standard Webhooks signature (id, timestamp within tolerance, any v1 match)."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not message_id or not stamp or not signatures or len(message_id) > MAX_MESSAGE_ID:
        raise _refuse("Assinatura do webhook ausente.")
    if not _STAMP.fullmatch(stamp):
        raise _refuse("Carimbo de tempo do webhook invalido.")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance_s:
        raise _refuse("Carimbo de tempo do webhook fora da janela permitida.")
    keys = [str(secret[name]) for name in _HMAC_SECRETS if secret.get(name)]
    if not keys:
        raise _refuse()
    given = [s.removeprefix("v1,") for s in signatures[:MAX_SIGNATURES] if s.startswith("v1,")]
    matched = False
    for key in keys:
        expected = sign(key, message_id, stamp, body).removeprefix("v1,")  # as it was sent
        for signature in given:
            matched |= _same(signature, expected)  # no early exit: same work for every input
    if not matched:
        raise _refuse("Assinatura do webhook invalida.")


def check(
    mode: str,
    headers: Mapping[str, str],
    body: bytes,
    secret: Mapping[str, Any] | None,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Check a call under ``mode``; ``headers`` have lower-case names. Raises ``Unauthorized``."""
    if mode == "none":
        return
    if secret is None:
        raise _refuse()
    if mode == "basic":
        check_basic(headers, secret)
    elif mode == "bearer":
        check_bearer(headers, secret)
    elif mode == "api-key":
        check_header(headers, secret)
    elif mode == "hmac":
        check_hmac(headers, body, secret, tolerance_s=tolerance_s)
    else:
        raise _refuse()


CREDENTIAL_TYPE_OF = {
    "basic": "http-basic",
    "bearer": "http-bearer",
    "api-key": "http-header",
    "hmac": "webhook-hmac",
}
