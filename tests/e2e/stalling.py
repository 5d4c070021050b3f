"""Stalled HTTP clients for the slow-client tests, and a timed ``/api/health`` probe.

A stalled client sends a request's headers announcing a 100-byte body, one byte of that body,
and then nothing: a server that hands the connection to a thread before the request is whole
loses that thread until the client goes away.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Iterator

import httpx

STALLED_CLIENTS = 200
STALLED_REQUEST = (
    b"POST /api/auth/login HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 100\r\n"
    b"\r\n"
    b"{"
)
HEALTH_DEADLINE = 1.0  # seconds /api/health may take while the clients stall


def ensure_open_files(needed: int) -> None:
    """Raise this process's soft limit on open files to ``needed`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        ceiling = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


@contextlib.contextmanager
def stalled_clients(
    port: int, count: int = STALLED_CLIENTS, source: str = "127.0.0.1"
) -> Iterator[list[socket.socket]]:
    """Open ``count`` stalled connections to ``127.0.0.1:port``; close them all on exit."""
    ensure_open_files(count + 256)
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(
                ("127.0.0.1", port), timeout=5, source_address=(source, 0)
            )
            sockets.append(sock)
            sock.sendall(STALLED_REQUEST)
        time.sleep(0.5)  # let the server take them in before anything is measured
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def health_seconds(base_url: str, timeout: float = 5.0) -> float:
    """GET ``/api/health`` on a fresh connection; return its duration (fail on no 200)."""
    started = time.monotonic()
    try:
        response = httpx.get(f"{base_url}/api/health", timeout=timeout)
    except httpx.TimeoutException as exc:
        raise AssertionError(f"/api/health did not answer within {timeout} s: {exc!r}") from exc
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    return elapsed


def assert_health_answers_while_stalled(base_url: str, port: int, probes: int = 5) -> None:
    """With 200 stalled clients held open, every /api/health probe answers within 1 s."""
    with stalled_clients(port):
        durations = [health_seconds(base_url) for _ in range(probes)]
    assert max(durations) < HEALTH_DEADLINE, durations


def exchange(port: int, request: bytes, timeout: float = 5) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a new connection; read one response by its Content-Length.

    Reading to the end of the stream would not do: a server refusing a request may reset the
    connection after its answer, once it gives up waiting for the unread rest.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += _received(sock)
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
        while len(body) < int(headers.get("content-length", 0)):
            body += _received(sock)
    return int(status_line.split()[1]), headers, body


def _received(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    assert chunk, "connection closed before a whole response arrived"
    return chunk
