"""The API's HTTP server under ``fluxolab standalone``: waitress, hardened against slow clients.

``python -m fluxolab.webserver --host 127.0.0.1 --port 8000`` serves ``create_app()``.
Waitress reads every request completely in its event loop (large bodies spill to a temporary
file) and only then hands it to one of its threads, so clients that send slowly or stop
mid-request hold a socket, never a thread. Connections that stay silent for
``HTTP_CLIENT_TIMEOUT_SECONDS`` are closed; bodies declared larger than ``MAX_BODY_BYTES``
are refused with a 413 before they are read. Errors waitress answers itself (malformed
request, headers or body too large) use the API's JSON error envelope. Waitress writes no
access log; its own log lines (``Exception while serving <path>``) go through the logging
module, where ``create_app`` masks webhook and form tokens (``fluxolab.logmask``).

SIGTERM or Ctrl-C stops it gracefully: the listening socket is closed at once (new
connections are refused), every request already read is answered and its answer flushed,
for up to ``GRACE_SECONDS``, then the process exits. Waitress's own stop would end its event
loop at once and cancel the requests still waiting for a thread: their clients would get a
closed connection instead of their answer.
"""

from __future__ import annotations

import contextlib
import json
import resource
import signal
import time
from typing import Any

import click
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask

from fluxolab.errors import error_body
from fluxolab.requestid import HEADER, accept

THREADS = 8
# Open connections waitress keeps; past it new ones wait in the listen backlog. Far above
# what a local API needs, so a few hundred stalled sockets cannot lock real clients out.
CONNECTION_LIMIT = 1000
# Descriptors beyond the connections: database, log, broker and temporary files.
SPARE_FILES = 256
# How long a stopping server lets the requests it has read finish (above the longest wait of
# a request: WEBHOOK_WAIT_SECONDS, NODE_TEST_WAIT_SECONDS).
GRACE_SECONDS = 40.0
_ERRORS = {
    400: ("bad_request", "Requisicao invalida."),
    413: ("payload_too_large", "Corpo da requisicao grande demais."),
    431: ("headers_too_large", "Cabecalhos da requisicao grandes demais."),
    500: ("internal_error", "Erro interno do servidor."),
    501: ("not_implemented", "Recurso HTTP nao suportado pelo servidor."),
}


class JsonErrorTask(ErrorTask):
    """Answer a request waitress refused itself with the JSON error envelope."""

    def execute(self) -> None:
        """Write the status line, JSON headers and envelope, then close the connection."""
        error = self.request.error
        code, message = _ERRORS.get(error.code, ("http_error", error.reason))
        body = json.dumps(error_body(message, code)).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.response_headers.append((HEADER, accept(self.request.headers.get("X_REQUEST_ID"))))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    """A waitress connection whose own error answers are JSON envelopes."""

    error_task_class = JsonErrorTask


class ApiServer(TcpWSGIServer):
    """Waitress's TCP server with :class:`JsonErrorChannel` connections and a graceful stop."""

    channel_class = JsonErrorChannel
    stopping = False

    def stop(self) -> None:
        """Ask the event loop to stop (safe in a signal handler: it only sets a flag)."""
        self.stopping = True

    def run(self) -> None:
        """Serve until :meth:`stop` or Ctrl-C, then :meth:`drain`."""
        with contextlib.suppress(KeyboardInterrupt):
            while not self.stopping:
                self._poll(self.adj.asyncore_loop_timeout)
        self.drain(GRACE_SECONDS)

    def drain(self, grace: float) -> None:
        """Refuse new connections; answer what was read, for up to ``grace`` seconds."""
        wasyncore.dispatcher.close(self)  # the listener only (the trigger wakes the loop)
        deadline = time.monotonic() + grace
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop now
            while self.busy() and time.monotonic() < deadline:
                self._poll(0.05)
        self.task_dispatcher.shutdown(cancel_pending=True, timeout=1)

    def busy(self) -> bool:
        """Whether a connection has a request being read, waiting, running or unflushed."""
        return any(
            isinstance(channel, HTTPChannel)
            and bool(channel.requests or channel.request is not None or channel.total_outbufs_len)
            for channel in list(self._map.values())
        )

    def _poll(self, timeout: float) -> None:
        self.asyncore.loop(
            timeout=timeout, map=self._map, use_poll=self.adj.asyncore_use_poll, count=1
        )


def adjustments(host: str, port: int, config: dict[str, Any]) -> Adjustments:
    """Waitress settings: request size, silence timeout, connection limit, poll()."""
    timeout = int(config["HTTP_CLIENT_TIMEOUT_SECONDS"])
    return Adjustments(
        host=host,
        port=port,
        ident="fluxolab",
        threads=THREADS,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=timeout,
        cleanup_interval=max(1, min(timeout // 2, 30)),  # how often silent sockets are swept
        # waitress refuses a body of exactly its limit; the app accepts MAX_CONTENT_LENGTH bytes
        max_request_body_size=int(config["MAX_CONTENT_LENGTH"]) + 1,
        asyncore_use_poll=True,  # select() cannot watch descriptors above 1023
        expose_tracebacks=False,
    )


def raise_open_file_limit(needed: int) -> int:
    """Raise the soft limit on open files towards ``needed``; return the usable part of it.

    The result is ``needed`` unless the hard limit is lower, then it is the hard limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return needed
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def serve(host: str, port: int) -> None:
    """Build the app and serve it until SIGTERM or Ctrl-C."""
    from fluxolab import create_app, settle

    app = create_app()
    settle()
    limit = raise_open_file_limit(CONNECTION_LIMIT + SPARE_FILES)
    settings = adjustments(host, port, app.config)
    if limit < CONNECTION_LIMIT + SPARE_FILES:
        settings.connection_limit = max(limit - SPARE_FILES, THREADS * 4)
    server = ApiServer(app, adj=settings)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: server.stop())
    click.echo(
        f"fluxolab api: serving on http://{host}:{port} (waitress, {THREADS} threads,"
        f" up to {settings.connection_limit} connections, {settings.channel_timeout} s"
        " client timeout)",
        err=True,
    )
    server.run()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=int, show_default=True)
def main(host: str, port: int) -> None:
    """Serve the API with waitress (what ``fluxolab standalone`` runs as its api process)."""
    serve(host, port)


if __name__ == "__main__":
    main()
