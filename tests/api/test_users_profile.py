"""GET/PUT /api/users/profile and GET /api/users/trial-info (contract section 6, users row)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from fluxolab.extensions import db
from fluxolab.models import User, Workspace, utcnow
from fluxolab.workspaces.service import plan_by_code
from tests.factories import PASSWORD, Account, api_login, make_account, make_member, unique_email

PROFILE_KEYS = {
    "id",
    "name",
    "displayName",
    "email",
    "avatar",
    "avatarColor",
    "timezone",
    "language",
    "createdAt",
    "updatedAt",
    "lastLoginAt",
    "preferences",
}


def put_profile(client: FlaskClient, account: Account, body: dict[str, Any]) -> Any:
    return client.put("/api/users/profile", json=body, headers=account.headers)


def stored_user(account: Account) -> User:
    db.session.expire_all()
    user = db.session.get(User, account.user_id)
    assert user is not None
    return user


def test_get_profile_returns_the_profile_shape(client: FlaskClient) -> None:
    account = make_account(name="Ana Souza")
    response = client.get("/api/users/profile", headers=account.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "profile"}
    assert body["status"] == "ok"
    profile = body["profile"]
    assert set(profile) == PROFILE_KEYS
    assert profile["id"] == str(account.user_id)
    assert profile["name"] == profile["displayName"] == "Ana Souza"
    assert profile["email"] == account.user.email
    assert profile["avatar"] is None
    assert profile["avatarColor"] == "#6366F1"
    assert profile["timezone"] == "America/Sao_Paulo"
    assert profile["language"] == "pt-BR"
    assert profile["lastLoginAt"].startswith(str(utcnow().year))
    assert profile["preferences"]["language"] == "pt-BR"


def test_profile_without_token_is_401_envelope(client: FlaskClient) -> None:
    response = client.get("/api/users/profile")
    assert response.status_code == 401
    assert response.get_json() == {
        "status": "error",
        "message": "Token de acesso ausente.",
        "code": "token_missing",
        "errors": {},
    }


def test_viewer_can_update_their_own_profile(client: FlaskClient) -> None:
    viewer = make_member(make_account(), "viewer")
    response = put_profile(
        client,
        viewer,
        {
            "displayName": "  Bia Lima  ",
            "avatarColor": "#112233",
            "timezone": "Europe/Lisbon",
            "language": "en-US",
        },
    )
    assert response.status_code == 200
    profile = response.get_json()["profile"]
    assert set(profile) == PROFILE_KEYS
    assert profile["displayName"] == profile["name"] == "Bia Lima"
    assert profile["avatarColor"] == "#112233"
    assert (profile["timezone"], profile["language"]) == ("Europe/Lisbon", "en-US")
    assert profile["preferences"]["timezone"] == "Europe/Lisbon"
    assert profile["preferences"]["language"] == "en-US"
    user = stored_user(viewer)
    assert (user.display_name, user.timezone, user.language) == (
        "Bia Lima",
        "Europe/Lisbon",
        "en-US",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"displayName": "A"}, "displayName"),
        ({"displayName": "   x   "}, "displayName"),
        ({"displayName": "x" * 191}, "displayName"),
        ({"avatarColor": "red"}, "avatarColor"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"language": "fr-FR"}, "language"),
        ({"email": "not-an-email"}, "email"),
        ({"nickname": "Bia"}, "nickname"),
    ],
    ids=[
        "name-too-short",
        "name-blank",
        "name-too-long",
        "bad-colour",
        "unknown-timezone",
        "path-timezone",
        "unsupported-language",
        "bad-email",
        "unknown-field",
    ],
)
def test_invalid_profile_update_is_422_naming_the_field(
    client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    account = make_account(name="Ana Souza")
    response = put_profile(client, account, body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["status"] == "error"
    assert payload["code"] == "validation_error"
    assert field in payload["errors"]
    assert isinstance(payload["message"], str)
    assert stored_user(account).display_name == "Ana Souza"


@pytest.mark.parametrize(
    "field",
    ["id", "role", "workspaceId", "createdAt", "passwordHash"],
    ids=["id", "role", "workspaceId", "createdAt", "passwordHash"],
)
def test_mass_assignment_is_422_and_changes_nothing(client: FlaskClient, field: str) -> None:
    account = make_account(name="Ana Souza")
    before = stored_user(account)
    snapshot = (before.id, before.created_at, before.password_hash, before.default_workspace_id)
    response = put_profile(client, account, {"displayName": "Hacker", field: "x"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]
    after = stored_user(account)
    assert after.display_name == "Ana Souza"
    assert (after.id, after.created_at, after.password_hash, after.default_workspace_id) == snapshot


def test_email_change_without_current_password_is_422(client: FlaskClient) -> None:
    account = make_account()
    old_email = account.user.email
    response = put_profile(client, account, {"email": unique_email(), "displayName": "Novo Nome"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["message"] == "Informe a senha atual para alterar o e-mail."
    assert list(body["errors"]) == ["currentPassword"]
    user = stored_user(account)
    assert (user.email, user.display_name) == (old_email, "Ana Souza")


def test_email_change_with_wrong_password_is_403_and_changes_nothing(client: FlaskClient) -> None:
    account = make_account()
    old_email = account.user.email
    response = put_profile(
        client, account, {"email": unique_email(), "currentPassword": "Wrong123!"}
    )
    assert response.status_code == 403
    assert response.get_json() == {
        "status": "error",
        "message": "Senha atual incorreta.",
        "code": "invalid_password",
        "errors": {},
    }
    assert stored_user(account).email == old_email


def test_email_change_with_password_updates_the_login(client: FlaskClient) -> None:
    account = make_account()
    old_email, new_email = account.user.email, unique_email("novo")
    response = put_profile(
        client, account, {"email": new_email.upper(), "currentPassword": PASSWORD}
    )
    assert response.status_code == 200
    assert response.get_json()["profile"]["email"] == new_email
    assert api_login(client, new_email)["user"]["email"] == new_email  # type: ignore[index]
    old_login = client.post("/api/auth/login", json={"email": old_email, "password": PASSWORD})
    assert old_login.status_code == 401


def test_email_change_to_a_taken_email_is_409(client: FlaskClient) -> None:
    account = make_account()
    other = make_account()
    response = put_profile(
        client, account, {"email": other.user.email, "currentPassword": PASSWORD}
    )
    assert response.status_code == 409
    assert response.get_json() == {
        "status": "error",
        "message": "E-mail ja cadastrado.",
        "code": "email_taken",
        "errors": {},
    }
    assert stored_user(account).email != other.user.email


def test_same_email_needs_no_password(client: FlaskClient) -> None:
    account = make_account()
    response = put_profile(client, account, {"email": account.user.email.upper()})
    assert response.status_code == 200
    assert response.get_json()["profile"]["email"] == account.user.email


TRIAL_KEYS = {
    "isTrial",
    "daysLeft",
    "trialEndsAt",
    "executionsUsed",
    "executionsLimit",
    "planCode",
    "planName",
    "features",
    "upgradeUrl",
}


def set_workspace(account: Account, **values: Any) -> None:
    workspace = db.session.get(Workspace, account.workspace_id)
    assert workspace is not None
    for key, value in values.items():
        setattr(workspace, key, value)
    db.session.commit()


def test_trial_info_of_a_new_workspace(client: FlaskClient) -> None:
    viewer = make_member(make_account(), "viewer")
    response = client.get("/api/users/trial-info", headers=viewer.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "trialInfo"}
    info = body["trialInfo"]
    assert set(info) == TRIAL_KEYS
    assert info["isTrial"] is True
    assert info["daysLeft"] == 30
    assert info["trialEndsAt"] is not None
    assert (info["executionsUsed"], info["executionsLimit"]) == (0, 1000)
    assert (info["planCode"], info["planName"]) == ("free", "Free")
    assert info["features"] == plan_by_code("free").features
    assert all(isinstance(feature, str) for feature in info["features"])
    assert info["upgradeUrl"] == "/settings/plans"


def test_trial_info_reports_usage_and_partial_days(client: FlaskClient) -> None:
    account = make_account()
    set_workspace(account, executions_used=42, trial_ends_at=utcnow() + timedelta(hours=30))
    info = client.get("/api/users/trial-info", headers=account.headers).get_json()["trialInfo"]
    assert (info["executionsUsed"], info["daysLeft"]) == (42, 2)


def test_expired_trial_has_zero_days_left(client: FlaskClient) -> None:
    account = make_account()
    set_workspace(account, trial_ends_at=utcnow() - timedelta(days=3))
    info = client.get("/api/users/trial-info", headers=account.headers).get_json()["trialInfo"]
    assert (info["isTrial"], info["daysLeft"]) == (True, 0)


def test_paid_unlimited_plan_is_not_a_trial_and_has_no_execution_limit(
    client: FlaskClient,
) -> None:
    account = make_account()
    full = plan_by_code("full")
    set_workspace(account, plan_id=full.id, subscription_status="active")
    info = client.get("/api/users/trial-info", headers=account.headers).get_json()["trialInfo"]
    assert (info["isTrial"], info["daysLeft"], info["executionsLimit"]) == (False, 0, None)
    assert (info["planCode"], info["planName"]) == ("full", "Full")
