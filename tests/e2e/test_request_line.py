"""Over-long URIs get the JSON 414 through the compose front, whatever their length.

nginx (deploy/nginx/nginx.conf) answers request lines beyond its 8 KiB header buffer itself,
as JSON; shorter ones reach gunicorn, whose request-line limit (compose's api command) must
let them through to the app, which refuses URIs over ``MAX_URI_BYTES`` with the envelope.
Without that, lines between gunicorn's default limit (4094) and nginx's got gunicorn's HTML.
"""

from __future__ import annotations

import json

import pytest

from fluxolab.common.uri import MAX_URI_BYTES
from tests.e2e.stalling import exchange
from tests.e2e.test_nginx_proxy import Front, front

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

__all__ = ["front"]  # the fixture: gunicorn as compose runs it, behind nginx


@pytest.mark.parametrize("length", [MAX_URI_BYTES + 1, 4100, 6000, 8175])
def test_overlong_uri_through_the_compose_front_is_a_json_414(front: Front, length: int) -> None:
    target = b"/api/health?" + b"a" * (length - len(b"/api/health?"))
    request = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    status, headers, body = exchange(front.port, request)

    assert (status, headers.get("content-type")) == (414, "application/json"), body[:200]
    assert json.loads(body)["code"] == "uri_too_long"
