"""Login, logout, password reset, session revocation and membership write one entry each."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.api.test_password_reset import reset, reset_token_for
from tests.api.test_users_members import MEMBERS, invitation_token
from tests.audit.trail import CANARY, as_text, mark, only, written_since
from tests.factories import PASSWORD, make_account, make_member, unique_email
from tests.helpers import assert_envelope

UA = {"User-Agent": "audit-test/1.0"}


def test_a_login_records_the_user_ip_and_user_agent(client: FlaskClient) -> None:
    account = make_account()
    seen = mark()
    body = {"email": account.user.email, "password": PASSWORD}
    response = client.post("/api/auth/login", json=body, headers=UA)
    assert response.status_code == 200
    entry = only(seen, "auth.login")
    assert (entry.actor_type, entry.actor_user_id) == ("user", account.user_id)
    assert entry.workspace_id == account.workspace_id
    assert (entry.target_type, entry.target_id) == ("user", str(account.user_id))
    assert (entry.ip_address, entry.user_agent) == ("127.0.0.1", "audit-test/1.0")
    assert PASSWORD not in as_text(entry)
    assert response.get_json()["token"] not in as_text(entry)


def test_a_wrong_password_records_a_failure_without_the_password(client: FlaskClient) -> None:
    account = make_account()
    seen = mark()
    body = {"email": account.user.email, "password": CANARY}
    assert_envelope(client.post("/api/auth/login", json=body), 401, "invalid_credentials")
    entry = only(seen, "auth.login_failed")
    assert (entry.actor_type, entry.actor_user_id) == ("user", account.user_id)
    assert entry.workspace_id == account.workspace_id
    assert entry.after == {"email": account.user.email}
    assert CANARY not in as_text(entry)


def test_a_failed_login_of_no_account_has_no_workspace(client: FlaskClient) -> None:
    email = unique_email("ninguem")
    seen = mark()
    body = {"email": email, "password": CANARY}
    assert_envelope(client.post("/api/auth/login", json=body), 401, "invalid_credentials")
    entry = only(seen, "auth.login_failed")
    assert (entry.workspace_id, entry.actor_user_id, entry.actor_type) == (None, None, "user")
    assert (entry.target_type, entry.target_id) == ("user", None)
    assert entry.after == {"email": email}
    assert CANARY not in as_text(entry)


def test_a_logout_records_the_ended_session(client: FlaskClient) -> None:
    account = make_account()
    seen = mark()
    assert client.post("/api/auth/logout", headers=account.headers).status_code == 200
    entry = only(seen, "auth.logout")
    assert (entry.actor_type, entry.actor_user_id) == ("user", account.user_id)
    assert entry.target_type == "session"
    assert account.token not in as_text(entry)


def test_a_reused_refresh_token_records_the_revoked_session(client: FlaskClient) -> None:
    account = make_account()
    refresh = {"refreshToken": account.refresh_token}
    assert client.post("/api/auth/refresh", json=refresh).status_code == 200
    seen = mark()
    assert_envelope(client.post("/api/auth/refresh", json=refresh), 401, "refresh_reused")
    entry = only(seen, "auth.session_revoked")
    assert (entry.actor_user_id, entry.workspace_id) == (account.user_id, account.workspace_id)
    assert entry.after == {"reason": "refresh_reuse"}
    assert account.refresh_token not in as_text(entry)


def test_a_password_reset_records_the_user_and_never_the_password(
    app: Flask, client: FlaskClient
) -> None:
    account = make_account()
    token = reset_token_for(app, client, account)
    seen = mark()
    assert reset(client, token, CANARY).status_code == 200
    entry = only(seen, "auth.password_reset")
    assert (entry.actor_user_id, entry.workspace_id) == (account.user_id, account.workspace_id)
    assert entry.after == {"sessionsRevoked": True}
    assert CANARY not in as_text(entry) and token not in as_text(entry)


def test_an_invitation_records_the_email_and_role_but_not_its_token(
    app: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    email = unique_email("convidado")
    seen = mark()
    response = client.post(MEMBERS, json={"email": email, "role": "editor"}, headers=owner.headers)
    assert response.status_code == 201, response.get_json()
    entry = only(seen, "member.invited")
    assert (entry.actor_user_id, entry.workspace_id) == (owner.user_id, owner.workspace_id)
    assert (entry.target_type, entry.target_id) == (
        "invitation",
        response.get_json()["invitation"]["id"],
    )
    assert entry.after == {"email": email, "role": "editor"}
    assert invitation_token(app, email) not in as_text(entry)


def test_a_role_change_records_the_old_and_the_new_role(client: FlaskClient) -> None:
    owner = make_account()
    target = make_member(owner, "viewer")
    seen = mark()
    path = f"{MEMBERS}/{target.user_id}"
    assert client.put(path, json={"role": "admin"}, headers=owner.headers).status_code == 200
    entry = only(seen, "member.role_changed")
    assert (entry.target_type, entry.target_id) == ("user", str(target.user_id))
    assert (entry.before, entry.after) == ({"role": "viewer"}, {"role": "admin"})


def test_a_refused_role_change_writes_no_entry(client: FlaskClient) -> None:
    owner = make_account()
    seen = mark()
    path = f"{MEMBERS}/{owner.user_id}"
    response = client.put(path, json={"role": "viewer"}, headers=owner.headers)
    assert response.status_code == 409  # the last owner stays
    assert written_since(seen) == []


def test_a_removal_records_who_was_removed(client: FlaskClient) -> None:
    owner = make_account()
    target = make_member(owner, "editor")
    seen = mark()
    assert client.delete(f"{MEMBERS}/{target.user_id}", headers=owner.headers).status_code == 200
    entry = only(seen, "member.removed")
    assert (entry.target_type, entry.target_id) == ("user", str(target.user_id))
    assert entry.before == {"email": target.user.email, "role": "editor"}
    assert entry.after is None


def test_joining_by_invitation_records_the_member_in_the_inviting_workspace(
    app: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    email = unique_email("convidado")
    client.post(MEMBERS, json={"email": email, "role": "viewer"}, headers=owner.headers)
    token = invitation_token(app, email)
    seen = mark()
    body = {"email": email, "password": PASSWORD, "displayName": "Bia", "inviteToken": token}
    assert client.post("/api/auth/register", json=body).status_code == 201
    entry = only(seen, "member.joined")
    assert entry.workspace_id == owner.workspace_id
    assert entry.actor_user_id is not None and entry.actor_user_id != owner.user_id
    assert entry.after == {"role": "viewer"}
    assert token not in as_text(entry) and PASSWORD not in as_text(entry)
