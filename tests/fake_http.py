"""A real HTTP server on a loopback address for outbound-request tests (no patched functions).

Routes map a path to a function ``(request, reply)``; ``reply`` writes a response or, for
streaming tests, the function writes to ``request.handler.wfile`` itself. Every request the
server received is kept in ``requests``.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    handler: BaseHTTPRequestHandler = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)


Route = Callable[[Seen, "Reply"], None]


class Reply:
    """Writes one complete response for a route."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self.handler = handler

    def __call__(
        self,
        status: int = 200,
        body: bytes | str | Any = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        extra = dict(headers or {})
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
            extra.setdefault("Content-Type", "application/json")
        data = body.encode() if isinstance(body, str) else body
        self.handler.send_response(status)
        for name, value in extra.items():
            self.handler.send_header(name, value)
        self.handler.send_header("Content-Length", str(len(data)))
        self.handler.end_headers()
        if self.handler.command != "HEAD":
            self.handler.wfile.write(data)


def echo(request: Seen, reply: Reply) -> None:
    """Answer with what was received, as JSON."""
    reply(
        200,
        {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": request.body.decode("latin-1"),
        },
    )


class FakeServer:
    """A threading HTTP server with programmable routes, on ``host`` and a free port."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                    self,
                )
                server.requests.append(seen)
                route = server.routes.get(parts.path, echo)
                try:
                    route(seen, Reply(self))
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/", host: str | None = None) -> str:
        """Return the URL of ``path`` on this server (optionally under another host name)."""
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def on(self, path: str) -> Callable[[Route], Route]:
        """Register a route function for ``path`` (decorator)."""

        def register(route: Route) -> Route:
            self.routes[path] = route
            return route

        return register

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def serving(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[FakeServer]:
    """Run a FakeServer for the block (HTTPS with the ``tls`` server context)."""
    server = FakeServer(host, tls).start()
    try:
        yield server
    finally:
        server.stop()
