"""No log line shows a webhook or form token: Python records, gunicorn and nginx access logs.

The end-to-end tests call a token route through the compose front (nginx before gunicorn
as compose runs it, ``tests.e2e.test_nginx_proxy``) and directly on gunicorn, then read
what both processes wrote.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fluxolab.logmask import MaskTokens, mask_handlers
from fluxolab.triggers import tokens
from tests.e2e.test_nginx_proxy import Front, front
from tests.webhooks.test_admin import FLOW

__all__ = ["front"]  # the fixture: gunicorn as compose runs it, behind nginx

PATHS = [
    "/api/webhooks/execute/{token}",
    "/api/webhooks/execute/{token}/executions/" + str(uuid.UUID(int=7)),
    "/api/forms/{token}",
    "/forms/{token}?lang=pt",
]


@pytest.fixture()
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing to a string through a handler carrying the token filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(f"tests.logmask.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(handler)
    mask_handlers(logger)
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize("template", PATHS)
def test_paths_in_messages_and_arguments_are_masked(
    captured: tuple[logging.Logger, io.StringIO], template: str
) -> None:
    logger, stream = captured
    token = tokens.new_token()
    path = template.format(token=token)
    logger.warning("GET %s 404", path)
    logger.warning("called %(url)s", {"url": f"https://flows.example.com{path}"})
    logger.warning(f"preformatted {path}")
    text = stream.getvalue()
    assert token not in text and token[4:] not in text
    assert text.count(template.format(token=tokens.mask(token))) == 3


def test_tracebacks_are_masked(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    token = tokens.new_token()
    try:
        raise RuntimeError(f"failed on /api/webhooks/execute/{token}")
    except RuntimeError:
        logger.exception("request failed")
    assert token not in stream.getvalue()
    assert f"/api/webhooks/execute/{tokens.mask(token)}" in stream.getvalue()


def test_other_lines_are_left_alone(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.warning("GET %s %d", "/api/workflows/abcdefgh/forms/x", 200)
    assert stream.getvalue() == "GET /api/workflows/abcdefgh/forms/x 200\n"


def test_every_handler_of_the_app_process_gets_masked_records(
    app: object, caplog: pytest.LogCaptureFixture
) -> None:
    token = tokens.new_token()
    with caplog.at_level(logging.INFO):  # a handler added long after create_app
        logging.getLogger("werkzeug").info('"GET /forms/%s HTTP/1.1" %s -', token, 200)
        logging.getLogger("waitress").error("Exception while serving /api/forms/" + token)
    assert token not in caplog.text
    assert f'"GET /forms/{tokens.mask(token)} HTTP/1.1" 200 -' in caplog.text
    assert f"serving /api/forms/{tokens.mask(token)}" in caplog.text
    root = logging.getLogger().handlers
    assert any(any(isinstance(f, MaskTokens) for f in handler.filters) for handler in root)


def test_celery_worker_logging_gets_the_filter() -> None:
    from celery import signals

    handler = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        signals.after_setup_logger.send(sender=None, logger=root)
        assert any(isinstance(f, MaskTokens) for f in handler.filters)
    finally:
        root.removeHandler(handler)


@pytest.fixture(scope="module")
def live_token(front: Front) -> str:
    """The token of a real webhook, made through the front by a registered user."""
    email, password = f"mask-{uuid.uuid4().hex[:8]}@example.com", "Secret123!"
    account = {"email": email, "password": password, "displayName": "Ana Souza"}
    assert httpx.post(f"{front.url}/api/auth/register", json=account).status_code == 201
    login = httpx.post(f"{front.url}/api/auth/login", json={"email": email, "password": password})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    flow = {"name": "Pedidos", "definition": FLOW}
    workflow = httpx.post(f"{front.url}/api/workflows", json=flow, headers=headers).json()
    body = {"name": "Pedidos", "workflowId": workflow["workflow"]["id"]}
    created = httpx.post(f"{front.url}/api/webhooks", json=body, headers=headers)
    assert created.status_code == 201, created.text
    token: str = created.json()["webhook"]["token"]
    assert created.json()["webhook"]["url"] == f"{front.url}/api/webhooks/execute/{token}"
    return token


def _lines_until(log: Path, needle: str, count: int) -> list[str]:
    """The log's lines holding ``needle`` once there are ``count`` of them (5 s at most)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in log.read_text(errors="replace").splitlines() if needle in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines


@pytest.mark.e2e
@pytest.mark.timeout(90)
@pytest.mark.parametrize("template", PATHS)
def test_access_logs_of_nginx_and_gunicorn_mask_the_token(
    front: Front, live_token: str, template: str
) -> None:
    token = live_token if "webhooks" in template else tokens.new_token()
    referer_token = tokens.new_token()
    path = template.format(token=token)
    agent = f"masking-{uuid.uuid4().hex}"
    headers = {
        "User-Agent": agent,
        "Referer": f"{front.url}/forms/{referer_token}",
        "X-Request-Id": agent,  # the api's own line (fluxolab.access) shows the request id
    }
    httpx.post(f"{front.url}{path}", headers=headers, json={}, timeout=10)
    httpx.post(f"http://127.0.0.1:{front.api_port}{path}", headers=headers, json={}, timeout=10)

    lines = _lines_until(front.log, agent, 3)
    text = front.log.read_text(errors="replace")
    assert token not in text and referer_token not in text
    masked_path = template.format(token=tokens.mask(token))
    nginx = [line for line in lines if " rt=" in line]
    api = [line for line in lines if " rt=" not in line]
    assert len(nginx) == 1 and len(api) == 2, lines  # one proxied, one direct
    assert f" {masked_path} HTTP/1.1" in nginx[0] and f"rid={agent}" in nginx[0], nginx
    assert f"/forms/{tokens.mask(referer_token)}" in nginx[0], nginx
    for line in api:  # the app's line: the path without its query string
        assert f"fluxolab.access: POST {masked_path.split('?')[0]} " in line, line
