"""Access and refresh tokens: pinned algorithm, expiry, revocation, rotation, workspace checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy import delete, update

from fluxolab.auth.actor import resolve_actor
from fluxolab.common.security import auth_required
from fluxolab.extensions import db
from fluxolab.models import AuthSession, User, WorkspaceMember, utcnow
from fluxolab.workspaces import service as workspaces
from tests.conftest import make_test_config
from tests.factories import PASSWORD, Account, make_account, make_member
from tests.helpers import assert_envelope, fresh_app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str) -> dict[str, Any]:
    """Read a token's claims without checking it (to re-sign them differently)."""
    claims: dict[str, Any] = pyjwt.decode(token, options={"verify_signature": False})
    return claims


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def craft(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """Assemble a JWT by hand: any header, signed with HMAC-SHA256 under ``key`` (or unsigned)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64(signature)}"


def me(client: FlaskClient, token: str, **headers: str) -> Any:
    return client.get("/api/auth/me", headers={**bearer(token), **headers})


def refresh(client: FlaskClient, refresh_token: str) -> Any:
    return client.post("/api/auth/refresh", json={"refreshToken": refresh_token})


def test_valid_access_token_is_accepted(client: FlaskClient) -> None:
    account = make_account()
    assert me(client, account.token).status_code == 200


def test_alg_none_token_is_401_token_invalid(client: FlaskClient) -> None:
    account = make_account()
    token = craft({"alg": "none", "typ": "JWT"}, claims_of(account.token), key=None)
    assert_envelope(me(client, token), 401, "token_invalid")


def test_token_signed_with_another_key_is_401(client: FlaskClient) -> None:
    account = make_account()
    token = pyjwt.encode(claims_of(account.token), "another-secret-key-" * 3, algorithm="HS256")
    assert_envelope(me(client, token), 401, "token_invalid")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_token_signed_with_the_right_key_but_another_hmac_algorithm_is_401(
    app: Flask, client: FlaskClient, algorithm: str
) -> None:
    account = make_account()
    token = pyjwt.encode(
        claims_of(account.token), app.config["JWT_SECRET_KEY"], algorithm=algorithm
    )
    assert_envelope(me(client, token), 401, "token_invalid")


def test_rs256_labelled_token_with_hmac_signature_is_401(app: Flask, client: FlaskClient) -> None:
    account = make_account()
    key = app.config["JWT_SECRET_KEY"].encode()
    token = craft({"alg": "RS256", "typ": "JWT"}, claims_of(account.token), key=key)
    assert_envelope(me(client, token), 401, "token_invalid")


def test_expired_access_token_is_401_token_expired(client: FlaskClient) -> None:
    account = make_account()
    claims = claims_of(account.token)
    token = create_access_token(
        identity=claims["sub"],
        additional_claims={"sid": claims["sid"], "workspaceId": claims["workspaceId"]},
        expires_delta=timedelta(seconds=-1),
    )
    assert_envelope(me(client, token), 401, "token_expired")


def test_refresh_token_used_as_access_token_is_401(client: FlaskClient) -> None:
    account = make_account()
    assert_envelope(me(client, account.refresh_token), 401, "token_invalid")


def test_access_token_of_logged_out_session_is_401_token_revoked(client: FlaskClient) -> None:
    account = make_account()
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 200
    assert_envelope(me(client, account.token), 401, "token_revoked")


def test_access_token_of_expired_session_is_401_token_revoked(client: FlaskClient) -> None:
    account = make_account()
    session_id = uuid.UUID(claims_of(account.token)["sid"])
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert_envelope(me(client, account.token), 401, "token_revoked")


def test_password_reset_token_used_as_bearer_is_401(client: FlaskClient) -> None:
    account = make_account()
    token = create_access_token(
        identity=str(account.user_id),
        additional_claims={"purpose": "password_reset", "rid": str(uuid.uuid4())},
        expires_delta=timedelta(minutes=10),
    )
    assert_envelope(me(client, token), 401)


@pytest.mark.parametrize(
    "authorization", ["Bearer", "Bearer a.b", "Basic YWxhZGRpbjpvcGVu", "Bearer x y"]
)
def test_malformed_authorization_header_is_401_envelope(
    client: FlaskClient, authorization: str
) -> None:
    response = client.get("/api/auth/me", headers={"Authorization": authorization})
    assert_envelope(response, 401)


def test_workspace_header_for_foreign_workspace_is_404(client: FlaskClient) -> None:
    account, stranger = make_account(), make_account()
    response = me(client, account.token, **{"X-Workspace-Id": str(stranger.workspace_id)})
    assert_envelope(response, 404, "not_found")


def test_workspace_header_for_unknown_workspace_is_404(client: FlaskClient) -> None:
    account = make_account()
    response = me(client, account.token, **{"X-Workspace-Id": str(uuid.uuid4())})
    assert_envelope(response, 404, "not_found")


def test_malformed_workspace_header_is_not_a_token_error(client: FlaskClient) -> None:
    account = make_account()
    response = me(client, account.token, **{"X-Workspace-Id": "not-a-uuid"})
    assert response.status_code in (400, 404), response.get_json()
    assert_envelope(response, response.status_code)


def test_workspace_header_selects_another_workspace_of_the_user(client: FlaskClient) -> None:
    owner = make_account()
    member = make_account()
    workspaces.add_member(owner.workspace_id, member.user_id, "viewer", owner.user_id)
    db.session.commit()
    response = me(client, member.token, **{"X-Workspace-Id": str(owner.workspace_id)})
    assert response.status_code == 200
    assert response.get_json()["user"]["workspaceId"] == str(owner.workspace_id)


def test_tampered_workspace_claim_breaks_the_signature(client: FlaskClient) -> None:
    account, stranger = make_account(), make_account()
    header, _payload, signature = account.token.split(".")
    claims = {**claims_of(account.token), "workspaceId": str(stranger.workspace_id)}
    tampered = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert_envelope(me(client, tampered), 401, "token_invalid")


def test_signed_token_naming_a_foreign_workspace_is_refused(client: FlaskClient) -> None:
    account, stranger = make_account(), make_account()
    claims = claims_of(account.token)
    token = create_access_token(
        identity=claims["sub"],
        additional_claims={"sid": claims["sid"], "workspaceId": str(stranger.workspace_id)},
    )
    assert_envelope(me(client, token), 401, "token_revoked")


def _set_role(account: Account, role: str) -> None:
    db.session.execute(
        update(WorkspaceMember)
        .where(
            WorkspaceMember.user_id == account.user_id,
            WorkspaceMember.workspace_id == account.workspace_id,
        )
        .values(role=role)
    )
    db.session.commit()


def test_actor_role_is_read_from_the_database_not_the_token() -> None:
    member = make_member(make_account(), "editor")
    claims = decode_token(member.token)
    assert resolve_actor(claims, None).role == "editor"
    _set_role(member, "viewer")
    assert resolve_actor(claims, None).role == "viewer"


def test_removed_member_token_is_401_token_revoked(client: FlaskClient) -> None:
    member = make_member(make_account(), "viewer")
    db.session.execute(
        delete(WorkspaceMember).where(
            WorkspaceMember.user_id == member.user_id,
            WorkspaceMember.workspace_id == member.workspace_id,
        )
    )
    db.session.commit()
    assert_envelope(me(client, member.token), 401, "token_revoked")


def test_deleted_user_token_is_refused(client: FlaskClient) -> None:
    account = make_account()
    user = db.session.get(User, account.user_id)
    db.session.delete(user)
    db.session.commit()
    assert_envelope(me(client, account.token), 401)


def test_demoted_editor_gets_403_from_an_editor_route_with_the_same_token(
    app: Flask, database_url: str, redis_url: str, tmp_path: Any
) -> None:
    member = make_member(make_account(), "editor")
    config = make_test_config(database_url, redis_url, tmp_path)
    with fresh_app(config, share_db_with=app) as probe_app:

        @auth_required("editor")
        def editor_only() -> Any:
            return jsonify({"status": "ok"})

        probe_app.add_url_rule("/api/test-editor-only", view_func=editor_only, methods=["POST"])
        client = probe_app.test_client()
        assert client.post("/api/test-editor-only", headers=member.headers).status_code == 200
        _set_role(member, "viewer")
        response = client.post("/api/test-editor-only", headers=member.headers)
    assert_envelope(response, 403, "forbidden")


def test_refresh_returns_the_login_shape(client: FlaskClient) -> None:
    account = make_account()
    response = refresh(client, account.refresh_token)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "token", "refreshToken", "user"}
    assert body["status"] == "ok"
    assert body["user"]["id"] == str(account.user_id)
    assert body["user"]["workspaceId"] == str(account.workspace_id)


def _refresh_chain(client: FlaskClient, account: Account, links: int) -> list[dict[str, str]]:
    """Refresh ``links`` times in a row; return every pair, the login's first."""
    pairs = [{"token": account.token, "refreshToken": account.refresh_token}]
    for _ in range(links):
        response = refresh(client, pairs[-1]["refreshToken"])
        assert response.status_code == 200, response.get_json()
        pairs.append(response.get_json())
    return pairs


def test_refresh_chain_every_new_access_token_works(client: FlaskClient) -> None:
    pairs = _refresh_chain(client, make_account(), 3)
    assert len({pair["refreshToken"] for pair in pairs}) == 4
    for pair in pairs[1:]:
        assert me(client, pair["token"]).status_code == 200


@pytest.mark.parametrize("spent", [0, 1, 2], ids=["login", "first-refresh", "second-refresh"])
def test_reusing_a_spent_refresh_token_is_refused_and_ends_the_session(
    client: FlaskClient, spent: int
) -> None:
    pairs = _refresh_chain(client, make_account(), 3)
    assert_envelope(refresh(client, pairs[spent]["refreshToken"]), 401, "refresh_reused")
    assert_envelope(me(client, pairs[-1]["token"]), 401, "token_revoked")
    assert_envelope(refresh(client, pairs[-1]["refreshToken"]), 401, "token_revoked")


@pytest.mark.parametrize(
    "garbage", ["garbage", "", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"], ids=repr
)
def test_refresh_with_garbage_is_401_envelope(client: FlaskClient, garbage: str) -> None:
    assert_envelope(refresh(client, garbage), 401, "token_invalid")


def test_access_token_is_not_a_refresh_token(client: FlaskClient) -> None:
    account = make_account()
    assert_envelope(refresh(client, account.token), 401, "token_invalid")


def test_refresh_after_logout_is_401_token_revoked(client: FlaskClient) -> None:
    account = make_account()
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 200
    assert_envelope(refresh(client, account.refresh_token), 401, "token_revoked")


def test_logout_answers_200_message(client: FlaskClient) -> None:
    account = make_account()
    response = client.post("/api/auth/logout", headers=account.headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "message": "Sessao encerrada."}


def test_logout_twice_the_second_is_401_token_revoked(client: FlaskClient) -> None:
    account = make_account()
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 200
    second = client.post("/api/auth/logout", headers=account.headers)
    assert_envelope(second, 401, "token_revoked")


def test_logout_ends_only_its_own_session(client: FlaskClient) -> None:
    account = make_account()
    other = refresh(client, account.refresh_token).get_json()  # same session, rotated
    second_login = client.post(
        "/api/auth/login", json={"email": account.user.email, "password": PASSWORD}
    ).get_json()
    assert client.post("/api/auth/logout", headers=bearer(other["token"])).status_code == 200
    assert me(client, second_login["token"]).status_code == 200
