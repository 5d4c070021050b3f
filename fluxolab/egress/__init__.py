"""The egress guard: the one way the server opens an outbound connection.

Every server-side fetch (the HTTP Request node, email, AI, credential tests, OAuth2 token
fetches) goes through an ``Egress``: ``request`` for HTTP, ``connect`` for other TCP
protocols (SMTP). Both resolve the host, refuse non-public addresses unless the operator's
allow-list (``EGRESS_ALLOW``) opens them, and connect to the very address that was checked.

INTERFACE PLACEHOLDER: the guard itself (address checks, pinned connect, redirects, caps) is
being written; callers code against this API, which stays as it is.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx


class EgressError(Exception):
    """An outbound request failed (refused, unreachable, too slow, too large); readable message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EgressDenied(EgressError):
    """The destination is not allowed (non-public address, bad scheme) by the egress policy."""


@dataclass(frozen=True)
class EgressPolicy:
    """What outbound connections may do: the allow-list and the caps."""

    allow: tuple[str, ...] = ()  # host names and CIDRs opened by the operator
    max_response_bytes: int = 10 * 1024 * 1024
    timeout_s: float = 30.0  # total time of one request, redirects included
    max_redirects: int = 5

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EgressPolicy:
        """Build the policy from ``EGRESS_*`` settings (``EGRESS_ALLOW``: comma-separated)."""
        raw = str(config.get("EGRESS_ALLOW") or "")
        return cls(allow=tuple(part.strip() for part in raw.split(",") if part.strip()))


class Egress:
    """Guarded outbound HTTP and TCP for one policy; safe to share between threads."""

    def __init__(self, policy: EgressPolicy | None = None) -> None:
        self.policy = policy or EgressPolicy()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        content: bytes | str | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        timeout: float | None = None,
        follow_redirects: bool = False,
        max_bytes: int | None = None,
        auth_headers: frozenset[str] = frozenset(),
    ) -> httpx.Response:
        """Send one request and return the response with its body read (capped).

        ``auth_headers`` names the headers (lower case) that carry credentials: they are dropped
        when a redirect leaves the original host. Raises ``EgressDenied`` for a refused
        destination (also per redirect hop) and ``EgressError`` for timeouts, a body over
        ``max_bytes`` and connection failures.
        """
        try:
            with httpx.Client(timeout=timeout or self.policy.timeout_s) as client:
                response = client.request(
                    method,
                    url,
                    headers=headers,
                    params=params,
                    content=content,
                    json=json,
                    data=data,
                    files=files,
                    follow_redirects=follow_redirects,
                )
                response.read()
                return response
        except httpx.HTTPError as exc:
            raise EgressError(f"Request to {url} failed: {exc}") from exc

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """Open a TCP connection to a checked address of ``host``; raises EgressDenied/Error."""
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise EgressError(f"Could not connect to {host}:{port}: {exc}") from exc
