"""Reset codes, reset tokens and invitation tokens reach the outbox file only, never a log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.test_password_reset import NEW_PASSWORD, forgot, newest_code, reset, verify, wrong
from tests.api.test_users_members import MEMBERS, invitation_token
from tests.factories import PASSWORD, make_account, unique_email


@pytest.fixture()
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG, including those that do not propagate to the root."""
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger=logger.name)
    isolated = [logger for logger in loggers if not logger.propagate]
    for logger in isolated:
        logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        for logger in isolated:
            logger.removeHandler(caplog.handler)


def _assert_nowhere_in(logs: pytest.LogCaptureFixture, *secrets: str) -> None:
    """No log line holds a secret as a whole word (a code inside a longer number is not it)."""
    lines = [record.getMessage() for record in logs.records] + [logs.text]
    lines += [record.exc_text or "" for record in logs.records]
    assert any("written to" in line for line in lines), "the outbox write was not logged at all"
    for secret in secrets:
        alone = re.compile(rf"(?<![0-9A-Za-z_-]){re.escape(secret)}(?![0-9A-Za-z_-])")
        assert not [line for line in lines if alone.search(line)], f"{secret!r} reached a log"


def test_reset_code_and_reset_token_never_reach_a_log_line(
    app: Flask, client: FlaskClient, every_log: pytest.LogCaptureFixture
) -> None:
    account = make_account()
    assert forgot(client, account.user.email).status_code == 200
    code = newest_code(app, account.user.email)
    assert verify(client, account.user.email, wrong(code)).status_code == 400
    verified = verify(client, account.user.email, code)
    assert verified.status_code == 200
    token = verified.get_json()["resetToken"]
    assert reset(client, token, NEW_PASSWORD).status_code == 200

    _assert_nowhere_in(every_log, code, token)


def test_invitation_token_never_reaches_a_log_line(
    app: Flask, client: FlaskClient, every_log: pytest.LogCaptureFixture
) -> None:
    owner = make_account()
    email = unique_email("convite")
    invited = client.post(MEMBERS, json={"email": email, "role": "editor"}, headers=owner.headers)
    assert invited.status_code == 201
    token = invitation_token(app, email)
    registered = client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "displayName": "Nova", "inviteToken": token},
    )
    assert registered.status_code == 201

    _assert_nowhere_in(every_log, token)


def test_outbox_files_are_private_even_in_a_folder_made_world_readable(
    app: Flask, client: FlaskClient
) -> None:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    account = make_account()
    before = set(folder.glob("*.eml"))

    assert forgot(client, account.user.email).status_code == 200

    written = set(folder.glob("*.eml")) - before
    assert len(written) == 1
    assert written.pop().stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
