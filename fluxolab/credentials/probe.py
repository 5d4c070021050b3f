"""Check a credential against its target, through the egress guard, with a readable answer.

``probe`` never raises for the target's failures: a refused destination, a timeout, a 401 or
an SMTP login refusal are all ``ProbeResult(False, reason)``. Messages never carry a secret:
they are scrubbed of the credential's secret values before they are returned.

The http-* auth is applied by ``apply_http_auth`` here; the HTTP Request node applies the
same rules (header, bearer, basic, query key) when it sends a request.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from fluxolab.credentials.types import basic_token
from fluxolab.egress import Egress, EgressError
from fluxolab.engine.credentials import Credential
from fluxolab.engine.redaction import redact_text

TIMEOUT_S = 10.0
SMTP_TLS_PORT = 465


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of a credential test."""

    success: bool
    message: str


@dataclass(frozen=True)
class HttpAuth:
    """What a credential adds to an HTTP request: headers and query parameters."""

    headers: dict[str, str]
    params: dict[str, str]

    @property
    def auth_headers(self) -> frozenset[str]:
        """Return the header names (lower case) that carry the credential."""
        return frozenset(name.lower() for name in self.headers)


def apply_http_auth(kind: str, secret: Mapping[str, Any]) -> HttpAuth:
    """Return the headers/params an http-* credential adds to a request."""
    if kind == "http-header":
        return HttpAuth({str(secret["name"]): str(secret["value"])}, {})
    if kind == "http-bearer":
        return HttpAuth({"Authorization": f"Bearer {secret['token']}"}, {})
    if kind == "http-basic":
        token = basic_token(str(secret.get("user", "")), str(secret["password"]))
        return HttpAuth({"Authorization": f"Basic {token}"}, {})
    if kind == "api-key-query":
        return HttpAuth({}, {str(secret["name"]): str(secret["value"])})
    raise ValueError(f"not an HTTP credential type: {kind}")


def probe(credential: Credential, egress: Egress) -> ProbeResult:
    """Test ``credential`` against its target; never raises for the target's failures."""
    check = _PROBES.get(credential.type, _http_probe)
    try:
        result = check(credential.secret, egress, credential.type)
    except EgressError as exc:
        result = ProbeResult(False, exc.message)
    except (OSError, smtplib.SMTPException, ssl.SSLError, httpx.HTTPError) as exc:
        result = ProbeResult(False, f"{type(exc).__name__}: {exc}")
    except (ValueError, KeyError) as exc:
        result = ProbeResult(False, f"Invalid response: {exc}")
    return ProbeResult(result.success, redact_text(result.message, credential.secret_values))


def _status_reason(response: httpx.Response) -> str:
    """Return "<status> <message>" from a response, using an API's own error message."""
    message = response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
        elif isinstance(error, str):
            message = str(body.get("error_description") or error)
        elif isinstance(body.get("message"), str):
            message = body["message"]
    return f"{response.status_code} {message}"[:300]


def _http_probe(secret: Mapping[str, Any], egress: Egress, kind: str) -> ProbeResult:
    url = secret.get("testUrl")
    if not url:
        return ProbeResult(False, "Set testUrl on the credential to test it.")
    auth = apply_http_auth(kind, secret)
    response = egress.request(
        "GET",
        str(url),
        headers=auth.headers,
        params=auth.params or None,
        timeout=TIMEOUT_S,
        auth_headers=auth.auth_headers,
    )
    if response.status_code < 400:
        return ProbeResult(True, f"{url} answered {response.status_code}")
    return ProbeResult(False, f"{url} answered {_status_reason(response)}")


def _openai_probe(secret: Mapping[str, Any], egress: Egress, kind: str) -> ProbeResult:
    url = str(secret["baseUrl"]).rstrip("/") + "/models"
    response = egress.request(
        "GET",
        url,
        headers={"Authorization": f"Bearer {secret['apiKey']}"},
        timeout=TIMEOUT_S,
        auth_headers=frozenset({"authorization"}),
    )
    if response.status_code >= 400:
        return ProbeResult(False, f"Models list failed: {_status_reason(response)}")
    data = response.json()
    models = data.get("data") if isinstance(data, dict) else None
    count = len(models) if isinstance(models, list) else 0
    return ProbeResult(True, f"Connected: {count} model(s) available")


def _oauth2_probe(secret: Mapping[str, Any], egress: Egress, kind: str) -> ProbeResult:
    form = {"grant_type": "client_credentials"}
    for field, key in (("scope", "scope"), ("audience", "audience")):
        if secret.get(field):
            form[key] = str(secret[field])
    headers: dict[str, str] = {"Accept": "application/json"}
    if secret.get("authStyle", "header") == "body":
        form.update(client_id=str(secret["clientId"]), client_secret=str(secret["clientSecret"]))
    else:
        token = basic_token(str(secret["clientId"]), str(secret["clientSecret"]))
        headers["Authorization"] = f"Basic {token}"
    response = egress.request(
        "POST",
        str(secret["tokenUrl"]),
        headers=headers,
        data=form,
        timeout=TIMEOUT_S,
        auth_headers=frozenset({"authorization"}),
    )
    if response.status_code >= 400:
        return ProbeResult(False, f"Token request failed: {_status_reason(response)}")
    body = response.json()
    if not isinstance(body, dict) or not body.get("access_token"):
        return ProbeResult(False, "Token request failed: no access_token in the answer")
    return ProbeResult(True, "Access token obtained")


class _GuardedSMTP(smtplib.SMTP):
    """smtplib over a socket the egress guard opened (no connection of its own)."""

    def __init__(self, sock: socket.socket, host: str) -> None:
        super().__init__(host="", local_hostname="fluxolab.local", timeout=TIMEOUT_S)
        self._host = host
        self.sock = sock
        code, message = self.getreply()
        if code != 220:
            self.close()
            raise smtplib.SMTPConnectError(code, message)


def _smtp_probe(secret: Mapping[str, Any], egress: Egress, kind: str) -> ProbeResult:
    host, port = str(secret["host"]), int(secret["port"])
    sock = egress.connect(host, port, TIMEOUT_S)
    context = ssl.create_default_context()
    implicit_tls = bool(secret.get("secure")) or port == SMTP_TLS_PORT
    try:
        if implicit_tls:
            sock = context.wrap_socket(sock, server_hostname=host)
        smtp = _GuardedSMTP(sock, host)
    except BaseException:
        sock.close()
        raise
    with smtp:
        smtp.ehlo()
        if not implicit_tls and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if secret.get("user"):
            try:
                smtp.login(str(secret["user"]), str(secret.get("password", "")))
            except smtplib.SMTPAuthenticationError as exc:
                error = exc.smtp_error
                reply = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
                return ProbeResult(False, f"SMTP login failed: {exc.smtp_code} {reply}")
            return ProbeResult(True, f"SMTP login to {host}:{port} succeeded")
    return ProbeResult(True, f"Connected to SMTP server {host}:{port}")


_PROBES: dict[str, Callable[[Mapping[str, Any], Egress, str], ProbeResult]] = {
    "smtp": _smtp_probe,
    "openai-compatible": _openai_probe,
    "oauth2-client-credentials": _oauth2_probe,
}
