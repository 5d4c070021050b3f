"""Refuse over-long request URIs with the JSON envelope (414) before routing decides anything."""

from __future__ import annotations

from flask import request

from fluxolab.errors import UriTooLong

# Path plus query string, in bytes. No FluxoLab URL comes near it; it stays below the
# request-line limits of the servers in front of the app (gunicorn 4094, nginx 8 KiB),
# so an over-long URI that reaches the app is answered here, as JSON.
MAX_URI_BYTES = 2048


def check_request_uri() -> None:
    """``before_request`` hook: raise ``UriTooLong`` when path and query exceed the limit."""
    environ = request.environ
    size = len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
    if size > MAX_URI_BYTES:
        raise UriTooLong(f"URL longa demais (limite de {MAX_URI_BYTES} bytes).")
