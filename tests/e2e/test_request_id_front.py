"""Request ids through the compose front: nginx passes a valid id to the api (or its own
when the client sent none or an invalid one), logs it, and returns it on every answer,
nginx's own refusals included; gunicorn as compose runs it logs one line per request."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.e2e.stalling import STALLED_REQUEST, exchange
from tests.e2e.test_nginx_proxy import MAX_BODY, Front, front

__all__ = ["front"]  # the fixture: gunicorn as compose runs it, behind nginx

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
NGINX_ID = re.compile(r"[0-9a-f]{32}")


def _log_lines(front: Front, needle: str, count: int) -> list[str]:
    deadline = time.monotonic() + 5
    while True:
        text = front.log.read_text(errors="replace")
        lines = [line for line in text.splitlines() if needle in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_a_valid_id_goes_through_nginx_to_the_api_and_back(front: Front) -> None:
    response = httpx.get(f"{front.url}/api/health", headers={"X-Request-Id": "front-ok-1"})
    assert response.status_code == 200
    assert response.headers.get_list("x-request-id") == ["front-ok-1"]
    lines = _log_lines(front, "front-ok-1", 2)
    assert any("rid=front-ok-1" in line for line in lines), lines  # nginx
    assert any("fluxolab.access: GET /api/health 200" in line for line in lines), lines


@pytest.mark.parametrize("sent", [None, "bad id", "x" * 129])
def test_nginx_replaces_a_missing_or_invalid_id_with_the_one_the_api_gets(
    front: Front, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-Id": sent}
    response = httpx.get(f"{front.url}/api/health", headers=headers)
    answered = response.headers["x-request-id"]
    assert NGINX_ID.fullmatch(answered), answered
    assert any("fluxolab.access" in line for line in _log_lines(front, answered, 2))


def test_nginx_refusals_carry_an_id_too(front: Front) -> None:
    head = STALLED_REQUEST.partition(b"\r\n\r\n")[0].replace(b"100", str(MAX_BODY + 1).encode())
    request = head + b"\r\nX-Request-Id: front-413\r\nConnection: close\r\n\r\n"
    status, headers, _ = exchange(front.port, request)
    assert (status, headers["x-request-id"]) == (413, "front-413")
