"""The standalone API server's own refusals (waitress answers them, not the app) carry a
request id too: the client's when valid, else a new one."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.stalling import STALLED_REQUEST, exchange
from tests.e2e.test_webserver import MAX_BODY, server

__all__ = ["server"]  # the fixture: python -m fluxolab.webserver on a loopback port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]
GENERATED = re.compile(r"[0-9a-f]{32}")
OVERSIZED = STALLED_REQUEST.partition(b"\r\n\r\n")[0].replace(b"100", str(MAX_BODY + 1).encode())


@pytest.mark.parametrize(("sent", "valid"), [(b"waitress-413", True), (b"bad id", False)])
def test_a_body_refused_by_waitress_has_a_request_id(server: int, sent: bytes, valid: bool) -> None:
    status, headers, _ = exchange(server, OVERSIZED + b"\r\nX-Request-Id: " + sent + b"\r\n\r\n")
    assert status == 413
    if valid:
        assert headers["x-request-id"] == sent.decode()
    else:
        assert GENERATED.fullmatch(headers["x-request-id"])


def test_a_malformed_request_has_a_request_id(server: int) -> None:
    status, headers, _ = exchange(server, b"GET /api/health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")
    assert status == 400 and GENERATED.fullmatch(headers["x-request-id"])


def test_the_app_answers_with_the_request_id(server: int) -> None:
    response = httpx.get(f"http://127.0.0.1:{server}/api/health", headers={"X-Request-Id": "w-1"})
    assert response.headers["x-request-id"] == "w-1"
