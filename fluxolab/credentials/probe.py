"""Check a credential against its target, through the egress guard, with a readable answer.

``probe`` never raises for the target's failures: a refused destination, a timeout, a 401 or
an SMTP login refusal are all ``ProbeResult(False, reason)``. Messages never carry a secret:
they are scrubbed of the credential's secret values before they are returned.

HTTP credentials are applied by ``fluxolab.engine.httpauth``, exactly as the HTTP Request node
applies them; an OAuth2 test always fetches a fresh token.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from flask import current_app

from fluxolab.egress import Egress, EgressError
from fluxolab.engine import chat, httpauth, smtp
from fluxolab.engine.credentials import Credential
from fluxolab.engine.redaction import redact_text

TIMEOUT_S = 10.0
SMTP_TLS_PORT = 465


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of a credential test."""

    success: bool
    message: str


def probe(credential: Credential, egress: Egress) -> ProbeResult:
    """Test ``credential`` against its target; never raises for the target's failures."""
    check = _PROBES.get(credential.type, _http_probe)
    try:
        result = check(credential, egress)
    except (EgressError, httpauth.HttpAuthError) as exc:
        result = ProbeResult(False, exc.message)
    except (OSError, smtplib.SMTPException, ssl.SSLError, httpx.HTTPError) as exc:
        result = ProbeResult(False, f"{type(exc).__name__}: {exc}")
    except (ValueError, KeyError) as exc:
        result = ProbeResult(False, f"Invalid response: {exc}")
    return ProbeResult(result.success, redact_text(result.message, credential.secret_values))


def _http_probe(credential: Credential, egress: Egress) -> ProbeResult:
    url = credential.secret.get("testUrl")
    if not url:
        return ProbeResult(False, "Set testUrl on the credential to test it.")
    auth = httpauth.apply(credential, egress, TIMEOUT_S)
    response = egress.request(
        "GET",
        str(url),
        headers=auth.headers,
        params=dict(auth.params) or None,
        timeout=TIMEOUT_S,
        auth_headers=auth.auth_headers,
    )
    if response.status_code < 400:
        return ProbeResult(True, f"{url} answered {response.status_code}")
    reason = chat.upstream_message(response)[:300]
    return ProbeResult(False, f"{url} answered {response.status_code} {reason}")


def _openai_probe(credential: Credential, egress: Egress) -> ProbeResult:
    try:
        models = chat.list_models(
            egress, chat.ChatEndpoint.from_secret(credential.secret), timeout_s=TIMEOUT_S
        )
    except chat.ChatError as exc:
        return ProbeResult(False, exc.message)
    return ProbeResult(True, f"Connected: {len(models)} model(s) available")


def _oauth2_probe(credential: Credential, egress: Egress) -> ProbeResult:
    httpauth.invalidate(credential)
    httpauth.apply(credential, egress, TIMEOUT_S)
    return ProbeResult(True, "Access token obtained")


def _smtp_probe(credential: Credential, egress: Egress) -> ProbeResult:
    ca_file = current_app.config.get("SMTP_CA_FILE") or None
    try:
        server = smtp.SmtpServer.from_secret(credential.secret)
        return ProbeResult(
            True, smtp.check_login(egress, server, timeout=TIMEOUT_S, ca_file=ca_file)
        )
    except smtp.SmtpError as exc:
        return ProbeResult(False, exc.message)


_PROBES: dict[str, Callable[[Credential, Egress], ProbeResult]] = {
    "smtp": _smtp_probe,
    "openai-compatible": _openai_probe,
    "oauth2-client-credentials": _oauth2_probe,
}
