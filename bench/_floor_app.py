"""The floor of ``webhook_intake.py``: a WSGI app that reads the body and answers 202.

    gunicorn --pythonpath bench _floor_app:app   (webhook_intake.py starts it)

No framework, no database, no broker: what gunicorn itself (HTTP parsing, its thread pool,
keep-alive) and the load generator cost per call on this box, so the intake's and the
baseline's figures can be read against what no Python web service on these servers can go
below.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any

HEALTH = b'{"status":"ok"}'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """``GET /api/health`` for the bench's readiness wait; anything else: read, answer 202."""
    if environ.get("PATH_INFO") == "/api/health":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [HEALTH]
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    body = json.dumps({"status": "accepted", "executionId": str(uuid.uuid4())}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response("202 Accepted", headers)
    return [body]
