"""The five-attempt cap of a reset code holds when wrong codes arrive all at once."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from flask import Flask
from sqlalchemy import select

from fluxolab.auth import reset as reset_service
from fluxolab.extensions import db
from fluxolab.models import PasswordResetRequest
from tests.api.test_password_reset import forgot, newest_code, verify, wrong
from tests.factories import make_account

CONCURRENT_GUESSES = 8


@pytest.mark.usefixtures("committed_db", "app_ctx")
def test_concurrent_wrong_codes_spend_exactly_the_cap_and_then_the_right_code_fails(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = make_account()
    email = account.user.email
    assert forgot(app.test_client(), email).status_code == 200
    code = newest_code(app, email)
    original = reset_service._open_request

    def slow_open_request(user_id: uuid.UUID) -> PasswordResetRequest | None:
        request = original(user_id)
        time.sleep(0.3)  # widen the window between reading the request and counting the attempt
        return request

    monkeypatch.setattr(reset_service, "_open_request", slow_open_request)
    start = threading.Barrier(CONCURRENT_GUESSES)
    answers: list[str] = []

    def guess() -> None:
        client = app.test_client()  # one request context, so one session, per thread
        start.wait(timeout=10)
        answers.append(verify(client, email, wrong(code)).get_json()["code"])

    threads = [threading.Thread(target=guess) for _ in range(CONCURRENT_GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    db.session.remove()
    attempts = db.session.execute(
        select(PasswordResetRequest.attempts).where(PasswordResetRequest.user_id == account.user_id)
    ).scalar_one()

    assert attempts == min(CONCURRENT_GUESSES, reset_service.MAX_ATTEMPTS)
    assert sorted(answers) == sorted(
        ["invalid_code"] * reset_service.MAX_ATTEMPTS
        + ["too_many_attempts"] * (CONCURRENT_GUESSES - reset_service.MAX_ATTEMPTS)
    )
    right = verify(app.test_client(), email, code)
    assert (right.status_code, right.get_json()["code"]) == (400, "too_many_attempts")
