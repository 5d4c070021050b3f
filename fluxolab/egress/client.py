"""``Egress``: guarded outbound HTTP (``request``) and TCP (``connect``) for one policy."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import httpx

from fluxolab.egress.addresses import AllowList
from fluxolab.egress.decoding import codings, decoded
from fluxolab.egress.errors import EgressDenied, EgressError
from fluxolab.egress.policy import EgressPolicy
from fluxolab.egress.redirects import check_scheme, next_request
from fluxolab.egress.resolve import Destinations, Resolver, system_resolver
from fluxolab.egress.tcp import connect_checked
from fluxolab.egress.transport import GuardedBackend, GuardedTransport

CHUNK_BYTES = 64 * 1024


@lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    """Return the process's TLS context (httpx's default verification), built once."""
    return httpx.create_ssl_context()


def shown_url(url: httpx.URL | str) -> str:
    """Return a URL for messages: no user info, no query (it may carry an API key)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "an invalid URL"
    return str(parsed.copy_with(query=None, fragment=None, username=None, password=None))


def _read_capped(response: httpx.Response, max_bytes: int) -> None:
    """Read the decoded body into ``response.content``; EgressError past ``max_bytes``.

    The raw body is decoded here (``decoding``), not by httpx, so that a compressed body is
    inflated under the cap rather than a whole chunk at a time.
    """
    order = codings(response.headers.get_list("content-encoding"))
    body = decoded(response.iter_raw(CHUNK_BYTES), order, max_bytes)
    response._content = body  # what Response.read() stores, read and decoded under a cap


class Egress:
    """Guarded outbound HTTP and TCP for one policy; safe to share between threads.

    ``resolver`` (host, port -> address texts) replaces the system resolver, for tests;
    ``ssl_context`` replaces the default certificate verification (tests with their own CA).
    """

    def __init__(
        self,
        policy: EgressPolicy | None = None,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy or EgressPolicy()
        self.destinations = Destinations(
            AllowList.parse(self.policy.allow), resolver or system_resolver
        )
        self._ssl_context = ssl_context

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
        ``max_bytes`` and connection failures. ``timeout`` and ``max_bytes`` are cut to the
        policy's caps; the timeout covers the whole exchange, redirects and body included.
        """
        total = self._cap(timeout, self.policy.timeout_s)
        cap = int(self._cap(max_bytes, self.policy.max_response_bytes))
        backend = GuardedBackend(self.destinations, time.monotonic() + total)
        transport = GuardedTransport(backend, self._ssl_context or _default_ssl_context())
        try:
            target = httpx.URL(url)
            check_scheme(target)
            if params:  # added to the URL's own query (httpx alone would replace it)
                target = target.copy_merge_params(params)
            with httpx.Client(transport=transport, trust_env=False, timeout=total) as client:
                request = client.build_request(
                    method,
                    target,
                    headers=headers,
                    content=content,
                    json=json,
                    data=data,
                    files=files,
                )
                return self._exchange(client, request, follow_redirects, cap, auth_headers)
        except httpx.TimeoutException as exc:
            raise EgressError(f"Request to {shown_url(url)} timed out after {total:g} s") from exc
        except httpx.InvalidURL as exc:
            raise EgressError(f"Invalid URL: {exc}") from exc
        except httpx.UnsupportedProtocol as exc:
            raise EgressDenied("Only http and https URLs are allowed") from exc
        except httpx.LocalProtocolError as exc:  # its text quotes the header (a secret, maybe)
            raise EgressError(
                f"Request to {shown_url(url)} not sent: a header name or value is not valid "
                "(control characters such as a line break are not allowed)"
            ) from exc
        except httpx.HTTPError as exc:
            raise EgressError(f"Request to {shown_url(url)} failed: {_reason(exc)}") from exc

    def _exchange(
        self,
        client: httpx.Client,
        request: httpx.Request,
        follow_redirects: bool,
        max_bytes: int,
        auth_headers: frozenset[str],
    ) -> httpx.Response:
        """Send ``request`` and, when asked, its redirects, each hop checked; bodies capped."""
        hops = 0
        while True:
            check_scheme(request.url)
            response = client.send(request, stream=True)
            try:
                _read_capped(response, max_bytes)
            finally:
                response.close()
            if not (follow_redirects and response.has_redirect_location):
                return response
            hops += 1
            if hops > self.policy.max_redirects:
                raise EgressError(f"Too many redirects (more than {self.policy.max_redirects})")
            request = next_request(request, response, auth_headers)

    @staticmethod
    def _cap(asked: float | None, cap: float) -> float:
        """Return the caller's value cut to the policy's cap (the cap when not given)."""
        return cap if asked is None or asked <= 0 else min(float(asked), cap)

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """Open a TCP connection to a checked address of ``host``; raises EgressDenied/Error.

        For protocols other than HTTP (SMTP): resolve once, check every address, connect to
        one that passed. The socket has ``timeout`` set; TLS may be started on it by the caller
        with ``server_hostname=host``.
        """
        addresses = self.destinations.check(host, int(port))
        return connect_checked(
            addresses, int(port), self._cap(timeout, self.policy.timeout_s), host
        )


def _reason(exc: httpx.HTTPError) -> str:
    """Return a short reason for a transport failure (the OS message, not a traceback)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return str(cause.strerror)
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__
