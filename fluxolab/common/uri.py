"""Refuse over-long request URIs with the JSON envelope (414) before routing decides anything."""

from __future__ import annotations

from typing import Any

from flask import request

from fluxolab.errors import UriTooLong

# The request target (path, "?" and query, as sent), in bytes. No FluxoLab URL comes near
# it; it stays below the request-line limits of the servers in front of the app (nginx
# 8 KiB, gunicorn as compose runs it 8190, waitress 256 KiB), so an over-long URI that
# reaches the app is answered here, as JSON.
MAX_URI_BYTES = 2048


def request_target_size(environ: dict[str, Any]) -> int:
    """Return the length of the request target: the raw one when the server passes it."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("PATH_INFO", "")) + (len(query) + 1 if query else 0)


def check_request_uri() -> None:
    """``before_request`` hook: raise ``UriTooLong`` when the request target exceeds the limit."""
    if request_target_size(request.environ) > MAX_URI_BYTES:
        raise UriTooLong(f"URL longa demais (limite de {MAX_URI_BYTES} bytes).")
