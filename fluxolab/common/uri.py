"""Refuse request URIs no view should see, with the envelope, before routing decides anything.

An over-long target is a 414; a query string holding the NUL character (``%00``) a 400, like
a NUL in a JSON body: PostgreSQL text cannot hold it, and a filter such as ``?search=%00``
reached the database.
"""

from __future__ import annotations

from typing import Any

from flask import request

from fluxolab.errors import BadRequest, UriTooLong

# The request target (path, "?" and query, as sent), in bytes. No FluxoLab URL comes near
# it; it stays below the request-line limits of the servers in front of the app (nginx
# 8 KiB, gunicorn as compose runs it 8190, waitress 256 KiB), so an over-long URI that
# reaches the app is answered here, as JSON.
MAX_URI_BYTES = 2048


def request_target_size(wsgi: dict[str, Any]) -> int:
    """Return the length of the request target: the raw one when the server passes it.

    ``wsgi`` is the request's WSGI environ (keys set by the server, not configuration).
    """
    raw = wsgi.get("RAW_URI") or wsgi.get("REQUEST_URI")
    if raw:
        return len(raw)
    query = wsgi.get("QUERY_STRING", "")
    return len(wsgi.get("PATH_INFO", "")) + (len(query) + 1 if query else 0)


def check_request_uri() -> None:
    """``before_request`` hook: 414 for a target over the limit, 400 for a NUL in the query."""
    if request_target_size(request.environ) > MAX_URI_BYTES:
        raise UriTooLong(f"URL longa demais (limite de {MAX_URI_BYTES} bytes).")
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        raise BadRequest(
            "A query string contem o caractere nulo (%00).", code="query_nul_character"
        )
