"""HTTP credentials applied to a request: the headers and query parameters they add.

``apply(credential, egress)`` returns the ``AuthParts`` of one credential; every caller that
sends an authenticated HTTP request (the HTTP Request node, the credential test of the
credentials API) uses it, so each type is interpreted in one place. Secret fields per type,
the contract with the credentials API that stores them:

=============================  ====================================================
``http-header``                ``{name, value}``: the header ``name: value``
``http-bearer``                ``{token}``: ``Authorization: Bearer <token>``
``http-basic``                 ``{user, password}``: ``Authorization: Basic ...``
``api-key-query``              ``{name, value}``: the query parameter ``name=value``
``oauth2-client-credentials``  ``{tokenUrl, clientId, clientSecret, scope?, audience?,
                               authStyle: header|body}``: a token fetched through the
                               egress guard, sent as ``Authorization: Bearer <token>``
=============================  ====================================================

OAuth2 tokens are cached per process until shortly before they expire, keyed by the
credential id and a hash of its secret (an edited secret never reuses an old token).
``invalidate(credential)`` forgets the token: a caller answered 401 invalidates, applies
again (fetching a fresh token) and retries once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fluxolab.egress import Egress, EgressError
from fluxolab.engine.credentials import Credential

HTTP_CREDENTIAL_TYPES = (
    "http-header",
    "http-bearer",
    "http-basic",
    "api-key-query",
    "oauth2-client-credentials",
)
OAUTH2 = "oauth2-client-credentials"
EXPIRY_MARGIN_S = 30.0  # a token this close to its expiry is fetched again
DEFAULT_LIFETIME_S = 3600.0  # when the token answer has no expires_in
TOKEN_TIMEOUT_S = 15.0


class HttpAuthError(Exception):
    """A credential cannot be applied (missing field, token request refused); readable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AuthParts:
    """What a credential adds to a request.

    ``auth_headers`` are the lower-case names of the headers that carry the credential (the
    egress guard drops them on a redirect to another origin); ``secrets`` are values to
    redact that are not in the stored secret (a fetched OAuth2 token).
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    auth_headers: frozenset[str] = frozenset()
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Token:
    value: str
    kind: str
    expires_at: float  # time.monotonic()


_tokens: dict[tuple[str, str], _Token] = {}
_lock = threading.Lock()


def _field(credential: Credential, name: str) -> str:
    """Return a required secret field as text; raises HttpAuthError naming it."""
    value = credential.secret.get(name)
    if value in (None, ""):
        raise HttpAuthError(f"Credential '{credential.name}' has no '{name}'")
    return str(value)


def _bearer(token: str) -> AuthParts:
    return AuthParts({"Authorization": f"Bearer {token}"}, {}, frozenset({"authorization"}))


def apply(credential: Credential, egress: Egress, timeout: float | None = None) -> AuthParts:
    """Return the headers and query parameters ``credential`` adds; raises HttpAuthError.

    An OAuth2 credential may fetch its token through ``egress`` (within ``timeout``).
    """
    kind = credential.type
    if kind == "http-header":
        name = _field(credential, "name")
        return AuthParts({name: _field(credential, "value")}, {}, frozenset({name.lower()}))
    if kind == "http-bearer":
        return _bearer(_field(credential, "token"))
    if kind == "http-basic":
        pair = f"{_field(credential, 'user')}:{credential.secret.get('password') or ''}"
        encoded = base64.b64encode(pair.encode()).decode("ascii")
        return AuthParts({"Authorization": f"Basic {encoded}"}, {}, frozenset({"authorization"}))
    if kind == "api-key-query":
        return AuthParts({}, {_field(credential, "name"): _field(credential, "value")})
    if kind == OAUTH2:
        token = _token(credential, egress, timeout)
        header = {"Authorization": f"{token.kind} {token.value}"}
        return AuthParts(header, {}, frozenset({"authorization"}), (token.value,))
    raise HttpAuthError(f"Credential '{credential.name}' of type {kind} is not an HTTP credential")


def _key(credential: Credential) -> tuple[str, str]:
    """Return the cache key: the id and a hash of the secret (an edit changes it)."""
    blob = json.dumps(dict(credential.secret), sort_keys=True, default=str).encode()
    return credential.id, hashlib.sha256(blob).hexdigest()


def invalidate(credential: Credential) -> None:
    """Forget the cached OAuth2 token of ``credential`` (after a 401); no-op for others."""
    with _lock:
        _tokens.pop(_key(credential), None)


def _token(credential: Credential, egress: Egress, timeout: float | None) -> _Token:
    """Return the cached token of ``credential`` or fetch a new one."""
    key = _key(credential)
    with _lock:
        cached = _tokens.get(key)
    if cached is not None and cached.expires_at - EXPIRY_MARGIN_S > time.monotonic():
        return cached
    token = _fetch(credential, egress, timeout)
    with _lock:
        _tokens[key] = token
    return token


def _token_request(credential: Credential) -> tuple[dict[str, str], dict[str, str]]:
    """Return the form fields and headers of a client-credentials token request."""
    client_id = _field(credential, "clientId")
    secret = _field(credential, "clientSecret")
    form = {"grant_type": "client_credentials"}
    for name in ("scope", "audience"):
        value = credential.secret.get(name)
        if value:
            form[name] = str(value)
    headers = {"Accept": "application/json"}
    if credential.secret.get("authStyle", "header") == "body":
        form.update({"client_id": client_id, "client_secret": secret})
    else:  # RFC 6749 2.3.1: form-encode both, then HTTP Basic
        pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return form, headers


def _fetch(credential: Credential, egress: Egress, timeout: float | None) -> _Token:
    """Fetch a token from the credential's ``tokenUrl``; raises HttpAuthError."""
    url = _field(credential, "tokenUrl")
    form, headers = _token_request(credential)
    started = time.monotonic()
    try:
        response = egress.request(
            "POST",
            url,
            data=form,
            headers=headers,
            timeout=min(timeout or TOKEN_TIMEOUT_S, TOKEN_TIMEOUT_S),
            auth_headers=frozenset({"authorization"}),
        )
    except EgressError as exc:
        raise HttpAuthError(f"OAuth2 token request failed: {exc.message}") from exc
    answer = _json(response.content)
    if response.status_code >= 400 or not isinstance(answer.get("access_token"), str):
        reason = answer.get("error_description") or answer.get("error") or response.text[:200]
        raise HttpAuthError(
            f"OAuth2 token request failed with status {response.status_code}: {reason}".strip()
        )
    kind = str(answer.get("token_type") or "Bearer")
    lifetime = _number(answer.get("expires_in"), DEFAULT_LIFETIME_S)
    return _Token(
        answer["access_token"], "Bearer" if kind.lower() == "bearer" else kind, started + lifetime
    )


def _json(content: bytes) -> dict[str, Any]:
    """Return the body as a JSON object ({} when it is not one)."""
    try:
        value = json.loads(content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _number(value: Any, default: float) -> float:
    """Return ``value`` as a positive number of seconds, else ``default``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default
