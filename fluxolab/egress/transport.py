"""The httpx transport of the guard: connections go to checked addresses, within a deadline.

httpcore asks its network backend for a TCP stream to the URL's host. ``GuardedBackend``
answers by checking the name (``Destinations.check``) and connecting to one of the addresses
that passed, given as a literal: there is no second lookup a DNS answer could change. TLS is
then started by httpcore on that stream with the URL's host name, so certificate checks and
SNI use the name while the socket goes to the pinned address; the ``Host`` header comes from
the URL too. Each stream also enforces one deadline for the whole request: every read and
write waits at most the time left, so a server dripping one byte at a time still ends at
the total timeout, not at a per-read one.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from fluxolab.egress.resolve import Destinations


def _left(deadline: float, timeout: float | None) -> float:
    """Return the seconds an operation may wait: its own timeout, cut to the deadline."""
    left = deadline - time.monotonic()
    if timeout is not None:
        left = min(left, timeout)
    return left


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes never wait past the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _budget(self, timeout: float | None, error: type[Exception]) -> float:
        """Return the wait allowed now; raises ``error`` once the deadline has passed."""
        left = _left(self._deadline, timeout)
        if left <= 0:
            raise error("the request's total time ran out")
        return left

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read up to ``max_bytes`` bytes, waiting no later than the deadline."""
        return self._inner.read(max_bytes, self._budget(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write ``buffer``, waiting no later than the deadline."""
        self._inner.write(buffer, self._budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the underlying socket."""
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """Start TLS with the URL's host name (certificate check and SNI) on this socket."""
        budget = self._budget(timeout, httpcore.ConnectTimeout)
        inner = self._inner.start_tls(ssl_context, server_hostname, budget)
        return DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        """Return what the underlying stream reports (peer address, socket, TLS object)."""
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses of a host; one backend serves one request."""

    def __init__(self, destinations: Destinations, deadline: float) -> None:
        self._destinations = destinations
        self._deadline = deadline
        self._system = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Check ``host`` (raises EgressDenied) and connect to one of its checked addresses."""
        addresses = self._destinations.check(host, port)
        error: Exception = httpcore.ConnectError(f"no address of {host} answered")
        for address in addresses:
            left = _left(self._deadline, timeout)
            if left <= 0:
                raise httpcore.ConnectTimeout("the request's total time ran out")
            try:
                stream = self._system.connect_tcp(
                    str(address), port, left, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return DeadlineStream(stream, self._deadline)
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Refuse Unix sockets: the guard only opens TCP connections to checked addresses."""
        raise httpcore.ConnectError("Unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's retry pause; unused with retries off)."""
        time.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` over a connection pool on a ``GuardedBackend``, no proxies.

    The pool is built here (``HTTPTransport`` offers no backend argument); every other part
    of the transport (request/response mapping, error mapping) is httpx's own.
    """

    def __init__(self, backend: GuardedBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=4,
            max_keepalive_connections=2,
            http1=True,
            http2=False,
            network_backend=backend,
        )
