"""Password reset by e-mailed code (contract 2.2): forgot, verify, reset."""

from __future__ import annotations

import email
import re
import uuid
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy import select, update

from fluxolab.auth import reset as reset_service
from fluxolab.auth.passwords import POLICY_MESSAGE
from fluxolab.extensions import db
from fluxolab.models import PasswordResetRequest, User, utcnow
from tests.factories import PASSWORD, Account, make_account, unique_email
from tests.helpers import assert_envelope

NEW_PASSWORD = "NovaSenha1!"
FORGOT_BODY = {
    "status": "ok",
    "message": "Se existir uma conta com esse identificador, enviaremos um codigo de verificacao.",
}


def mails_to(app: Flask, address: str) -> list[EmailMessage]:
    """Every e-mail written to the outbox for ``address``, oldest first."""
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    found: list[EmailMessage] = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == address:
            found.append(message)
    return found


def deliver_pending_codes() -> None:
    """Run the ``mail.send_reset_code`` task body for every request still waiting for it."""
    pending = db.session.execute(
        select(PasswordResetRequest.id).where(
            PasswordResetRequest.code_hash == reset_service.PENDING
        )
    ).scalars()
    for request_id in list(pending):
        reset_service.deliver_code(request_id)


def newest_code(app: Flask, address: str) -> str:
    """The 6-digit code of the newest e-mail sent to ``address``."""
    mails = mails_to(app, address)
    assert mails, f"no e-mail for {address}"
    match = re.search(r"\b(\d{6})\b", mails[-1].get_content())
    assert match, mails[-1].get_content()
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def forgot(client: FlaskClient, identifier: str) -> Any:
    """POST forgot, then do what the worker's ``mail.send_reset_code`` task does."""
    response = client.post("/api/auth/password/forgot", json={"identifier": identifier})
    deliver_pending_codes()
    return response


def verify(client: FlaskClient, identifier: str, code: str) -> Any:
    return client.post("/api/auth/password/verify", json={"identifier": identifier, "code": code})


def reset(client: FlaskClient, token: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        "/api/auth/password/reset", json={"resetToken": token, "newPassword": password}
    )


def login(client: FlaskClient, account: Account, password: str) -> Any:
    return client.post("/api/auth/login", json={"email": account.user.email, "password": password})


def reset_token_for(app: Flask, client: FlaskClient, account: Account) -> str:
    """Run forgot and verify for ``account``; return the reset token."""
    assert forgot(client, account.user.email).status_code == 200
    response = verify(client, account.user.email, newest_code(app, account.user.email))
    assert response.status_code == 200, response.get_json()
    token: str = response.get_json()["resetToken"]
    return token


def test_forgot_answers_the_same_200_body_for_known_and_unknown_email(
    client: FlaskClient,
) -> None:
    known = forgot(client, make_account().user.email)
    unknown = forgot(client, unique_email("ghost"))
    assert known.status_code == unknown.status_code == 200
    assert known.get_json() == unknown.get_json() == FORGOT_BODY


def test_forgot_for_unknown_email_sends_nothing(app: Flask, client: FlaskClient) -> None:
    address = unique_email("ghost")
    assert forgot(client, address).status_code == 200
    assert mails_to(app, address) == []


def test_forgot_emails_a_six_digit_code(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    assert forgot(client, account.user.email).status_code == 200
    mails = mails_to(app, account.user.email)
    assert len(mails) == 1
    assert re.fullmatch(r"\d{6}", newest_code(app, account.user.email))


@pytest.mark.parametrize(
    "identifier",
    ["not-an-email", "ana@", "123.456.789-0", "1234567890", "123456789012", "ab", ""],
)
def test_forgot_with_a_malformed_identifier_is_400(client: FlaskClient, identifier: str) -> None:
    assert_envelope(forgot(client, identifier), 400)


@pytest.mark.parametrize("identifier", ["123.456.789-09", "12345678909"], ids=["masked", "digits"])
def test_forgot_accepts_a_cpf_in_both_formats(
    app: Flask, client: FlaskClient, identifier: str
) -> None:
    account = make_account()
    user = db.session.get(User, account.user_id)
    assert user is not None
    user.cpf = "12345678909"
    db.session.commit()
    response = forgot(client, identifier)
    assert response.status_code == 200
    assert response.get_json() == FORGOT_BODY
    assert len(mails_to(app, account.user.email)) == 1


def test_verify_wrong_code_is_400_then_right_code_gives_reset_token(
    app: Flask, client: FlaskClient
) -> None:
    account = make_account()
    forgot(client, account.user.email)
    code = newest_code(app, account.user.email)
    assert_envelope(verify(client, account.user.email, wrong(code)), 400, "invalid_code")
    response = verify(client, account.user.email, code)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "resetToken"}
    assert body["status"] == "ok" and isinstance(body["resetToken"], str)


def test_verify_for_unknown_identifier_answers_like_a_wrong_code(
    app: Flask, client: FlaskClient
) -> None:
    account = make_account()
    forgot(client, account.user.email)
    unknown = verify(client, unique_email("ghost"), "123456")
    known = verify(client, account.user.email, wrong(newest_code(app, account.user.email)))
    assert assert_envelope(unknown, 400) == assert_envelope(known, 400)


def test_four_wrong_attempts_still_allow_the_right_code(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    forgot(client, account.user.email)
    code = newest_code(app, account.user.email)
    for _ in range(4):
        assert verify(client, account.user.email, wrong(code)).status_code == 400
    assert verify(client, account.user.email, code).status_code == 200


def test_after_five_wrong_attempts_even_the_right_code_fails(
    app: Flask, client: FlaskClient
) -> None:
    account = make_account()
    forgot(client, account.user.email)
    code = newest_code(app, account.user.email)
    for _ in range(5):
        assert_envelope(verify(client, account.user.email, wrong(code)), 400)
    assert_envelope(verify(client, account.user.email, code), 400)


def test_expired_code_fails(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    forgot(client, account.user.email)
    db.session.execute(
        update(PasswordResetRequest)
        .where(PasswordResetRequest.user_id == account.user_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    code = newest_code(app, account.user.email)
    assert_envelope(verify(client, account.user.email, code), 400, "invalid_code")


def test_a_new_forgot_cancels_the_earlier_code(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    forgot(client, account.user.email)
    first = newest_code(app, account.user.email)
    forgot(client, account.user.email)
    second = newest_code(app, account.user.email)
    if first == second:
        pytest.skip("both random codes were equal")
    assert_envelope(verify(client, account.user.email, first), 400, "invalid_code")
    assert verify(client, account.user.email, second).status_code == 200


def test_a_verified_code_cannot_be_verified_again(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    forgot(client, account.user.email)
    code = newest_code(app, account.user.email)
    assert verify(client, account.user.email, code).status_code == 200
    assert_envelope(verify(client, account.user.email, code), 400)


@pytest.mark.parametrize(
    "weak",
    ["abcdefg1!", "ABCDEFG1!", "Abcdefgh!", "Abcdefgh1", "Abcdefg1#"],
    ids=["no-upper", "no-lower", "no-digit", "no-special", "special-outside-set"],
)
def test_reset_with_weak_password_is_422_with_the_policy_message(
    app: Flask, client: FlaskClient, weak: str
) -> None:
    token = reset_token_for(app, client, make_account())
    body = assert_envelope(reset(client, token, weak), 422, "validation_error")
    assert body["message"] == POLICY_MESSAGE
    assert body["errors"] == {"newPassword": [POLICY_MESSAGE]}


def test_reset_answers_200_message(app: Flask, client: FlaskClient) -> None:
    token = reset_token_for(app, client, make_account())
    response = reset(client, token)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "message": "Senha alterada com sucesso."}


def test_reset_ends_every_session_of_the_user(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    other = login(client, account, PASSWORD).get_json()
    assert reset(client, reset_token_for(app, client, account)).status_code == 200
    for token in (account.token, other["token"]):
        response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert_envelope(response, 401, "token_revoked")
    response = client.post("/api/auth/refresh", json={"refreshToken": other["refreshToken"]})
    assert_envelope(response, 401, "token_revoked")


def test_after_reset_login_works_with_the_new_password_only(
    app: Flask, client: FlaskClient
) -> None:
    account = make_account()
    assert reset(client, reset_token_for(app, client, account)).status_code == 200
    assert login(client, account, NEW_PASSWORD).status_code == 200
    assert_envelope(login(client, account, PASSWORD), 401, "invalid_credentials")


def test_reset_token_is_single_use(app: Flask, client: FlaskClient) -> None:
    token = reset_token_for(app, client, make_account())
    assert reset(client, token).status_code == 200
    assert_envelope(reset(client, token, "OutraSenha2@"), 400, "invalid_reset_token")


def test_reset_token_carries_its_purpose_and_lives_ten_minutes(
    app: Flask, client: FlaskClient
) -> None:
    claims = decode_token(reset_token_for(app, client, make_account()))
    assert claims["purpose"] == "password_reset"
    assert claims["exp"] - claims["iat"] == 600


def test_expired_reset_token_is_400(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    claims = decode_token(reset_token_for(app, client, account))
    expired = create_access_token(
        identity=claims["sub"],
        additional_claims={"purpose": "password_reset", "rid": claims["rid"]},
        expires_delta=timedelta(minutes=-10, seconds=-1),
    )
    assert_envelope(reset(client, expired), 400, "invalid_reset_token")
    assert login(client, account, PASSWORD).status_code == 200


def test_reset_token_for_an_unverified_request_is_400(client: FlaskClient) -> None:
    account = make_account()
    forgot(client, account.user.email)
    request = db.session.execute(
        db.select(PasswordResetRequest).where(PasswordResetRequest.user_id == account.user_id)
    ).scalar_one()
    token = create_access_token(
        identity=str(account.user_id),
        additional_claims={"purpose": "password_reset", "rid": str(request.id)},
    )
    assert_envelope(reset(client, token), 400, "invalid_reset_token")


def test_an_access_token_is_not_a_reset_token(client: FlaskClient) -> None:
    account = make_account()
    assert_envelope(reset(client, account.token), 400, "invalid_reset_token")


def test_garbage_reset_token_is_400(client: FlaskClient) -> None:
    assert_envelope(reset(client, "not-a-token"), 400, "invalid_reset_token")


def test_reset_token_is_not_a_bearer_token(app: Flask, client: FlaskClient) -> None:
    token = reset_token_for(app, client, make_account())
    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert_envelope(response, 401)


def test_a_new_forgot_also_cancels_an_unused_reset_token(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    token = reset_token_for(app, client, account)
    assert forgot(client, account.user.email).status_code == 200
    assert_envelope(reset(client, token), 400, "invalid_reset_token")


def test_reset_token_naming_an_unknown_request_is_400(client: FlaskClient) -> None:
    token = create_access_token(
        identity=str(uuid.uuid4()),
        additional_claims={"purpose": "password_reset", "rid": str(uuid.uuid4())},
    )
    assert_envelope(reset(client, token), 400, "invalid_reset_token")


def test_forgot_queues_the_code_and_the_worker_sends_it_once(
    app: Flask, client: FlaskClient
) -> None:
    account = make_account()
    client.post("/api/auth/password/forgot", json={"identifier": account.user.email})
    assert mails_to(app, account.user.email) == []
    request = db.session.execute(
        select(PasswordResetRequest).where(PasswordResetRequest.user_id == account.user_id)
    ).scalar_one()
    assert reset_service.deliver_code(request.id) is True
    assert reset_service.deliver_code(request.id) is False
    assert len(mails_to(app, account.user.email)) == 1
