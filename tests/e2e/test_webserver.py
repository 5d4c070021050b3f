"""The standalone API server (``python -m fluxolab.webserver``, what ``fluxolab standalone`` runs)
over real sockets: silent clients are dropped, oversized requests are refused unread, as JSON.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.stalling import STALLED_REQUEST, exchange, stalled_clients

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
CLIENT_TIMEOUT = 2  # HTTP_CLIENT_TIMEOUT_SECONDS of the server under test
MAX_BODY = 4096
_STRIPPED = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A running ``python -m fluxolab.webserver`` on a free port; yields the port."""
    base = tmp_path_factory.mktemp("webserver")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in _STRIPPED}
    env |= {
        "FLUXOLAB_ENV": "standalone",
        "FLUXOLAB_VAR_DIR": str(base),
        "HTTP_CLIENT_TIMEOUT_SECONDS": str(CLIENT_TIMEOUT),
        "MAX_BODY_BYTES": str(MAX_BODY),
    }
    argv = [sys.executable, "-m", "fluxolab.webserver", "--host", "127.0.0.1", "--port", str(port)]
    with (base / "server.log").open("wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            assert proc.poll() is None, (base / "server.log").read_text()
            assert time.monotonic() < deadline, (base / "server.log").read_text()
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_silent_connections_are_closed_after_the_client_timeout(server: int) -> None:
    with stalled_clients(server, count=5) as sockets:
        started = time.monotonic()
        for sock in sockets:
            sock.settimeout(CLIENT_TIMEOUT + 6)
            assert sock.recv(1024) == b""  # closed by the server, nothing answered
        elapsed = time.monotonic() - started

    assert elapsed < CLIENT_TIMEOUT + 6


def test_body_over_the_limit_is_refused_with_a_json_413_before_it_is_read(server: int) -> None:
    head = STALLED_REQUEST.partition(b"\r\n\r\n")[0].replace(b"100", str(MAX_BODY + 1).encode())
    started = time.monotonic()

    status, headers, body = exchange(server, head + b"\r\n\r\n")  # headers only, no body

    assert time.monotonic() - started < CLIENT_TIMEOUT  # answered, not timed out
    assert (status, headers["content-type"]) == (413, "application/json")
    assert json.loads(body) == {
        "status": "error",
        "message": "Corpo da requisicao grande demais.",
        "code": "payload_too_large",
        "errors": {},
    }


def test_body_within_the_limit_reaches_the_app(server: int) -> None:
    response = httpx.post(
        f"http://127.0.0.1:{server}/api/auth/login", content=b"x" * MAX_BODY, timeout=5
    )

    assert response.status_code != 413
    assert response.json()["status"] == "error"


def test_malformed_request_is_refused_with_a_json_envelope(server: int) -> None:
    status, headers, body = exchange(server, b"GET /api/health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")

    assert (status, headers["content-type"]) == (400, "application/json")
    assert json.loads(body)["code"] == "bad_request"
