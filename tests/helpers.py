"""Helpers shared by test modules: the error-envelope assertion, a second app, a scratch DB."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import psycopg
from celery import _state as celery_state
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from fluxolab import create_app
from fluxolab.extensions import api, cors, db, jwt, limiter, migrate

ENVELOPE_KEYS = {"status", "message", "code", "errors"}
CLOSED_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def assert_envelope(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the status and that the body is exactly the error envelope; return the body."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert isinstance(body, dict), response.get_data(as_text=True)[:500]
    assert set(body) == ENVELOPE_KEYS, body
    assert body["status"] == "error"
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["errors"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body


@contextmanager
def fresh_app(overrides: dict[str, Any], share_db_with: Flask | None = None) -> Iterator[Flask]:
    """Build a second app for one test, then restore the module-level extension singletons.

    ``create_app`` re-binds ``limiter`` (its ``enabled`` flag and storage are global),
    ``api.spec`` and the default Celery app; without the restore a rate-limited second app
    would leave limits switched on for the session app. With ``share_db_with`` the new app
    uses that app's rolled-back test connection, so nothing it writes survives the test.
    """
    saved = [(ext, dict(vars(ext))) for ext in (api, jwt, limiter, migrate, cors)]
    saved_celery = (celery_state.default_app, celery_state._tls.current_app)
    application = create_app(overrides)
    engines: list[Engine] = []
    try:
        with application.app_context():
            engines.extend(e for e in db.engines.values() if isinstance(e, Engine))
            if share_db_with is not None:
                with share_db_with.app_context():
                    connection = db.engines[None]
                cast(dict[Any, Any], db.engines)[None] = connection
        yield application
    finally:
        for engine in engines:
            engine.dispose()
        for ext, state in saved:
            vars(ext).clear()
            vars(ext).update(state)
        celery_state.set_default_app(saved_celery[0])
        celery_state._set_current_app(saved_celery[1])


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """Create an empty PostgreSQL database next to the test one; drop it afterwards."""
    admin = make_url(os.environ["DATABASE_URL"])
    name = f"fluxolab_{label}_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def authorization_echo(status: int) -> Iterator[str]:
    """Serve on loopback an endpoint answering ``status`` with ``{"authorization": <header>}``.

    A server that echoes the credential it received: what a run stores of the answer must
    show the secret masked. Yields the endpoint's URL.
    """

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            data = json.dumps({"authorization": self.headers.get("Authorization")}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/echo"
    finally:
        server.shutdown()
        server.server_close()
