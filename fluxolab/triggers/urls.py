"""Absolute public URLs of trigger endpoints (webhook calls, status polls, forms).

``PUBLIC_BASE_URL`` (e.g. ``https://flows.example.com``) is what callers outside see; when
it is empty the URL is built from the current request's host, which is right when nothing
rewrites the host on the way in.
"""

from __future__ import annotations

import uuid

from flask import current_app, has_request_context, request


def base_url() -> str:
    """Return the public base URL without a trailing slash."""
    configured = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if configured or not has_request_context():
        return configured
    return f"{request.scheme}://{request.host}"  # request.host_url, without its IRI decoding


def webhook_path(token: str) -> str:
    """Return the path of a webhook's public endpoint."""
    return f"/api/webhooks/execute/{token}"


def status_path(token: str, execution_id: uuid.UUID | str) -> str:
    """Return the path where a webhook caller polls one execution it started."""
    return f"{webhook_path(token)}/executions/{execution_id}"


def form_page_path(token: str) -> str:
    """Return the path of a form's HTML page (its JSON API is ``/api/forms/<token>``)."""
    return f"/forms/{token}"


def absolute(path: str) -> str:
    """Return ``path`` prefixed with the public base URL."""
    return f"{base_url()}{path}"
