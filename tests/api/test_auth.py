"""Register, login, me, refresh, logout (contract section 2)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fluxolab.auth.passwords import POLICY_MESSAGE
from fluxolab.extensions import db
from fluxolab.models import User
from tests.factories import PASSWORD, api_login, make_account, unique_email
from tests.helpers import assert_envelope


def register(client: FlaskClient, **overrides: object) -> object:
    body = {
        "email": unique_email(),
        "password": PASSWORD,
        "displayName": "Maria Silva",
        "avatarColor": "#6366F1",
    }
    body.update(overrides)
    return client.post("/api/auth/register", json=body)


def test_register_returns_201_with_user_and_workspace(client: FlaskClient) -> None:
    response = register(client, email="Maria@Example.com")
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "created"
    assert set(body["user"]) == {"id", "email", "displayName", "avatarColor", "workspaceId"}
    assert body["user"]["email"] == "maria@example.com"
    assert body["user"]["workspaceId"]


def test_register_duplicate_email_is_409_with_message(client: FlaskClient) -> None:
    email = unique_email()
    assert register(client, email=email).status_code == 201
    response = register(client, email=email.upper())
    assert response.status_code == 409
    assert response.get_json() == {
        "status": "error",
        "message": "E-mail ja cadastrado.",
        "code": "email_taken",
        "errors": {},
    }


def test_register_rejects_unknown_fields_with_422(client: FlaskClient) -> None:
    response = register(client, role="owner")
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert "role" in body["errors"]
    assert isinstance(body["message"], str)


def _users_with(email: str) -> int:
    return int(
        db.session.execute(
            select(func.count()).select_from(User).where(User.email == email)
        ).scalar_one()
    )


@pytest.mark.parametrize(
    "weak",
    ["aaaaaaaa", "abcdefg1!", "ABCDEFG1!", "Abcdefgh!", "Abcdefgh1", "Abcdefg1#"],
    ids=["one-letter", "no-upper", "no-lower", "no-digit", "no-special", "special-outside-set"],
)
def test_register_with_a_password_outside_the_reset_policy_is_422(
    client: FlaskClient, weak: str
) -> None:
    email = unique_email()
    body = assert_envelope(register(client, email=email, password=weak), 422, "validation_error")
    assert body["message"] == POLICY_MESSAGE
    assert body["errors"] == {"password": [POLICY_MESSAGE]}
    assert _users_with(email) == 0


@pytest.mark.parametrize(
    "name",
    ["  ", " A ", "\t\n", "A" + " " * 9],
    ids=["blank", "one-char", "tab-newline", "one-char-padded"],
)
def test_register_display_name_is_measured_without_surrounding_whitespace(
    client: FlaskClient, name: str
) -> None:
    email = unique_email()
    body = assert_envelope(register(client, email=email, displayName=name), 422)
    assert list(body["errors"]) == ["displayName"]
    assert _users_with(email) == 0


def test_register_stores_the_display_name_stripped(client: FlaskClient) -> None:
    response = register(client, displayName="  Maria Silva \n")
    assert response.status_code == 201
    assert response.get_json()["user"]["displayName"] == "Maria Silva"


def test_login_returns_token_and_user_shape(client: FlaskClient) -> None:
    account = make_account()
    body = api_login(client, account.user.email)
    assert body["status"] == "ok"
    assert isinstance(body["token"], str) and isinstance(body["refreshToken"], str)
    assert set(body["user"]) == {
        "id",
        "email",
        "displayName",
        "avatarColor",
        "createdAt",
        "updatedAt",
        "lastLoginAt",
        "workspaceId",
    }
    assert body["user"]["workspaceId"] == str(account.workspace_id)


def test_login_with_wrong_password_is_401_credenciais_invalidas(client: FlaskClient) -> None:
    account = make_account()
    response = client.post(
        "/api/auth/login", json={"email": account.user.email, "password": "wrong-pass"}
    )
    assert response.status_code == 401
    assert response.get_json()["message"] == "Credenciais invalidas."


def test_me_returns_current_user(client: FlaskClient) -> None:
    account = make_account()
    response = client.get("/api/auth/me", headers=account.headers)
    assert response.status_code == 200
    assert response.get_json()["user"]["id"] == str(account.user.id)


def test_me_without_token_is_401_envelope(client: FlaskClient) -> None:
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_missing"


def test_logout_revokes_the_access_token(client: FlaskClient) -> None:
    account = make_account()
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 200
    response = client.get("/api/auth/me", headers=account.headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_revoked"


def test_refresh_rotates_and_reuse_revokes_the_session(client: FlaskClient) -> None:
    account = make_account()
    first = client.post("/api/auth/refresh", json={"refreshToken": account.refresh_token})
    assert first.status_code == 200
    new_token = first.get_json()["token"]
    assert (
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {new_token}"}).status_code
        == 200
    )
    reuse = client.post("/api/auth/refresh", json={"refreshToken": account.refresh_token})
    assert reuse.status_code == 401
    assert reuse.get_json()["code"] == "refresh_reused"
    after = client.get("/api/auth/me", headers={"Authorization": f"Bearer {new_token}"})
    assert after.status_code == 401


def test_refresh_after_removal_from_the_workspace_moves_to_the_default_one(
    client: FlaskClient,
) -> None:
    from tests.factories import make_member

    owner = make_account()
    member = make_member(owner, "editor")
    client.delete(f"/api/users/workspace-members/{member.user_id}", headers=owner.headers)
    body = client.post("/api/auth/refresh", json={"refreshToken": member.refresh_token}).get_json()
    assert body["user"]["workspaceId"] != str(owner.workspace_id)
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
