"""No secret reaches a log line, at DEBUG, in the API or the worker, JSON or text.

A full flow plants canaries everywhere a secret passes: the password of a registration and
login, the tokens they answer, a password reset (its code, its reset token and the new
password), a credential's value used by a run on a real worker, a webhook's URL token and
the secret of its ``Authorization`` header, an API key used on a request. Every record of
the API process (every logger, DEBUG) is written through both formatters of
``fluxolab.logs``; the worker writes JSON at DEBUG to its log file. No canary may appear.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fluxolab import logs
from fluxolab.logmask import mask_handlers
from tests.api.test_password_reset import mails_to
from tests.helpers import authorization_echo
from tests.webhooks.helpers import active_hook, credential, hook_flow, url
from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_request_id_logs import task_line

pytestmark = pytest.mark.worker


def canary(label: str) -> str:
    return f"Cn-{label}-{uuid.uuid4().hex}A1!"


@pytest.fixture()
def api_logs() -> Iterator[io.StringIO]:
    """Every record of this process at DEBUG, in JSON and in text, into one stream."""
    stream = io.StringIO()
    handlers = [logging.StreamHandler(stream), logging.StreamHandler(stream)]
    handlers[0].setFormatter(logs.formatter("json"))
    handlers[1].setFormatter(logs.formatter("text"))
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(name) for name in list(root.manager.loggerDict))]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        if logger is root or not logger.propagate:
            for handler in handlers:
                logger.addHandler(handler)
    mask_handlers(root)
    try:
        yield stream
    finally:
        for logger in loggers:
            logger.setLevel(levels[logger])
            for handler in handlers:
                if handler in logger.handlers:
                    logger.removeHandler(handler)


def _wait_for_code(app: Flask, address: str, timeout: float = 60) -> str:
    """The 6-digit code the worker's ``mail.send_reset_code`` wrote to the outbox."""
    deadline = time.monotonic() + timeout
    while not mails_to(app, address):
        assert time.monotonic() < deadline, "the worker sent no reset code"
        time.sleep(0.1)
    match = re.search(r"\b(\d{6})\b", mails_to(app, address)[-1].get_content())
    assert match
    return match.group(1)


def _accounts_and_reset(app: Flask, client: FlaskClient, secrets: list[str]) -> dict[str, str]:
    """Register, log in, reset the password by code, log in again; the new login's headers."""
    email, password, new_password = (
        f"canary-{uuid.uuid4().hex[:8]}@example.com",
        *(
            canary("password"),
            canary("new-password"),
        ),
    )
    secrets += [password, new_password]
    body = {"email": email, "password": password, "displayName": "Ana Souza"}
    assert client.post("/api/auth/register", json=body).status_code == 201
    login = client.post("/api/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200
    secrets += [login.get_json()["token"], login.get_json()["refreshToken"]]
    refreshed = client.post(
        "/api/auth/refresh", json={"refreshToken": login.get_json()["refreshToken"]}
    )
    assert refreshed.status_code == 200
    secrets.append(refreshed.get_json()["token"])

    assert client.post("/api/auth/password/forgot", json={"identifier": email}).status_code == 200
    code = _wait_for_code(app, email)
    secrets.append(code)
    verified = client.post("/api/auth/password/verify", json={"identifier": email, "code": code})
    assert verified.status_code == 200
    reset_token = verified.get_json()["resetToken"]
    secrets.append(reset_token)
    reset = client.post(
        "/api/auth/password/reset", json={"resetToken": reset_token, "newPassword": new_password}
    )
    assert reset.status_code == 200
    again = client.post("/api/auth/login", json={"email": email, "password": new_password})
    assert again.status_code == 200
    token = again.get_json()["token"]
    secrets.append(token)
    return {"Authorization": f"Bearer {token}"}


def test_no_planted_secret_reaches_any_log_line(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    api_logs: io.StringIO,
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"
    worker = start_worker(
        LOG_FORMAT="json",
        LOG_LEVEL="DEBUG",
        EGRESS_ALLOW="127.0.0.1",
        MAIL_OUTBOX_DIR=str(outbox),
    )
    secrets: list[str] = []
    with authorization_echo(200) as echo, app.app_context():
        app.config["MAIL_OUTBOX_DIR"] = str(outbox)
        client = app.test_client()
        headers = _accounts_and_reset(app, client, secrets)
        owner = _Owner(headers)

        credential_value = canary("credential")
        hook_secret = canary("hook-auth")
        secrets += [credential_value, hook_secret]
        used = credential(client, owner, "http-bearer", {"token": credential_value})
        guard = credential(client, owner, "http-bearer", {"token": hook_secret})
        call = {
            "id": "call",
            "name": "Call API",
            "type": "http-request",
            "params": {"method": "GET", "url": echo, "credentialId": used},
        }
        flow = hook_flow({"authentication": "bearer", "credentialId": guard}, tail=[call])
        _, hook_token = active_hook(client, owner, flow)
        secrets.append(hook_token)
        refused = client.post(url(hook_token), json={}, headers={"Authorization": "Bearer no"})
        assert refused.status_code == 401
        called = client.post(
            url(hook_token),
            json={"order": 1},
            headers={"Authorization": f"Bearer {hook_secret}", "X-Request-Id": "canary-run"},
        )
        assert called.status_code == 202, called.get_json()
        execution_id = called.get_json()["executionId"]

        created = client.post(
            "/api/settings/api/keys",
            json={"label": "canary", "scopes": ["workflows:read", "executions:read"]},
            headers=headers,
        )
        assert created.status_code == 201
        api_key = created.get_json()["token"]
        secrets.append(api_key)
        assert client.get("/api/workflows", headers={"X-API-Key": api_key}).status_code == 200
        by_bearer = client.get("/api/workflows", headers={"Authorization": f"Bearer {api_key}"})
        assert by_bearer.status_code == 200
        basic = base64.b64encode(f"ana:{hook_secret}".encode()).decode()
        client.get("/api/workflows", headers={"Authorization": f"Basic {basic}"})
        secrets.append(basic)

        # The run calls the echo server: wait for it before the server closes.
        execution = wait_for_status(app, uuid.UUID(execution_id), timeout=60)
    assert execution.status == "succeeded", execution.error
    line = task_line(worker, execution_id, timeout=30)
    assert line["request_id"] == "canary-run"

    api_text, worker_text = api_logs.getvalue(), worker.log()
    assert "fluxolab.access" in api_text and "DEBUG" in worker_text  # both really logged
    assert "written to" in worker_text  # the reset code's e-mail was sent by the worker
    for secret in secrets:
        alone = re.compile(rf"(?<![0-9A-Za-z_-]){re.escape(secret)}(?![0-9A-Za-z_-])")
        assert not alone.search(api_text), f"a secret reached the API log: {secret[:12]}..."
        assert not alone.search(worker_text), f"a secret reached the worker log: {secret[:12]}..."


class _Owner:
    """The ``Account`` shape the webhook helpers read: the caller's headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
