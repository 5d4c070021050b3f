"""/api/users/workspace-members: list, add/invite, change role, remove, revoke invitations."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import User, WorkspaceInvitation, WorkspaceMember
from tests.factories import PASSWORD, Account, api_login, make_account, make_member, unique_email

MEMBER_KEYS = {
    "id",
    "memberId",
    "name",
    "displayName",
    "email",
    "avatar",
    "avatarColor",
    "role",
    "joinedAt",
    "lastActiveAt",
}
INVITATION_KEYS = {"id", "email", "role", "invitedAt", "expiresAt"}
MEMBERS = "/api/users/workspace-members"


def invitation_token(app: Flask, email: str) -> str:
    """The token in the newest invitation e-mail sent to ``email`` (from the outbox)."""
    import re
    from email import message_from_bytes, policy

    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    tokens = []
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == email:
            match = re.search(r"codigo de convite: (\S+)", message.get_content())
            if match:
                tokens.append(match.group(1))
    assert tokens, f"no invitation e-mail for {email}"
    return tokens[-1]


def accept(client: FlaskClient, account: Account, token: str) -> Any:
    return client.post(
        "/api/users/invitations/accept", json={"token": token}, headers=account.headers
    )


def role_of(workspace_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    db.session.expire_all()
    return db.session.execute(
        select(WorkspaceMember.role).where(
            WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.user_id == user_id
        )
    ).scalar_one_or_none()


def invite(client: FlaskClient, actor: Account, role: str = "editor") -> dict[str, Any]:
    response = client.post(
        MEMBERS, json={"email": unique_email("convidado"), "role": role}, headers=actor.headers
    )
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json()["invitation"])


# --- list ----------------------------------------------------------------------------------


def test_list_members_shape(client: FlaskClient) -> None:
    owner = make_account(name="Dona Ana")
    viewer = make_member(owner, "viewer")
    invitation = invite(client, owner, "admin")
    response = client.get(MEMBERS, headers=viewer.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "members", "total", "limit", "offset", "invitations"}
    assert (body["status"], body["total"], body["limit"], body["offset"]) == ("ok", 2, 50, 0)
    first, second = body["members"]
    assert set(first) == MEMBER_KEYS
    assert first["id"] == str(owner.user_id)
    assert first["name"] == first["displayName"] == "Dona Ana"
    assert (first["email"], first["role"], first["avatar"]) == (owner.user.email, "owner", None)
    assert first["avatarColor"] == "#6366F1"
    assert first["lastActiveAt"] is not None and first["joinedAt"] is not None
    assert (second["id"], second["role"]) == (str(viewer.user_id), "viewer")
    assert body["invitations"] == [invitation]
    assert set(invitation) == INVITATION_KEYS


@pytest.mark.parametrize(
    ("query", "expected_offset", "expected_count"),
    [("limit=2", 0, 2), ("limit=2&offset=2", 2, 2), ("limit=2&page=3", 4, 1), ("offset=5", 5, 0)],
    ids=["first-page", "offset", "page-number", "past-the-end"],
)
def test_list_members_paginates(
    client: FlaskClient, query: str, expected_offset: int, expected_count: int
) -> None:
    owner = make_account()
    members = [make_member(owner, role) for role in ("viewer", "editor", "admin", "viewer")]
    ordered = [str(owner.user_id)] + [str(member.user_id) for member in members]
    body = client.get(f"{MEMBERS}?{query}", headers=owner.headers).get_json()
    assert (body["total"], body["offset"]) == (5, expected_offset)
    ids = [member["id"] for member in body["members"]]
    assert ids == ordered[expected_offset : expected_offset + expected_count]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "offset=-1", "page=0", "limit=x"], ids=str
)
def test_list_members_bad_query_is_422(client: FlaskClient, query: str) -> None:
    response = client.get(f"{MEMBERS}?{query}", headers=make_account().headers)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_list_members_shows_only_this_workspace(client: FlaskClient) -> None:
    owner_a, owner_b = make_account(), make_account()
    make_member(owner_b, "editor")
    invite(client, owner_b)
    body = client.get(MEMBERS, headers=owner_a.headers).get_json()
    assert [member["id"] for member in body["members"]] == [str(owner_a.user_id)]
    assert (body["total"], body["invitations"]) == (1, [])


# --- role matrix ---------------------------------------------------------------------------

ROLES = ["viewer", "editor", "admin", "owner"]


def actor_with(owner: Account, role: str) -> Account:
    return owner if role == "owner" else make_member(owner, role)


@pytest.mark.parametrize("role", ROLES, ids=ROLES)
@pytest.mark.parametrize(
    "path",
    ["/api/users/profile", "/api/users/trial-info", MEMBERS, "/api/users/preferences"],
    ids=["profile", "trial-info", "members", "preferences"],
)
def test_every_role_can_read(client: FlaskClient, role: str, path: str) -> None:
    actor = actor_with(make_account(), role)
    assert client.get(path, headers=actor.headers).status_code == 200


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("viewer", False), ("editor", False), ("admin", True), ("owner", True)],
    ids=ROLES,
)
def test_only_admins_add_members(app: Flask, client: FlaskClient, role: str, allowed: bool) -> None:
    owner = make_account()
    actor = actor_with(owner, role)
    target = make_account()
    response = client.post(
        MEMBERS, json={"email": target.user.email, "role": "editor"}, headers=actor.headers
    )
    assert response.status_code == (201 if allowed else 403)
    assert role_of(owner.workspace_id, target.user_id) is None  # never added without consent
    if allowed:
        assert accept(client, target, invitation_token(app, target.user.email)).status_code == 200
        assert role_of(owner.workspace_id, target.user_id) == "editor"
    else:
        assert response.get_json()["message"] == "Esta acao exige o papel 'admin' ou superior."


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("viewer", False), ("editor", False), ("admin", True), ("owner", True)],
    ids=ROLES,
)
def test_only_admins_change_roles(client: FlaskClient, role: str, allowed: bool) -> None:
    owner = make_account()
    actor = actor_with(owner, role)
    target = make_member(owner, "viewer")
    response = client.put(
        f"{MEMBERS}/{target.user_id}", json={"role": "editor"}, headers=actor.headers
    )
    assert response.status_code == (200 if allowed else 403)
    assert role_of(owner.workspace_id, target.user_id) == ("editor" if allowed else "viewer")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("viewer", False), ("editor", False), ("admin", True), ("owner", True)],
    ids=ROLES,
)
def test_only_admins_remove_members(client: FlaskClient, role: str, allowed: bool) -> None:
    owner = make_account()
    actor = actor_with(owner, role)
    target = make_member(owner, "viewer")
    response = client.delete(f"{MEMBERS}/{target.user_id}", headers=actor.headers)
    assert response.status_code == (200 if allowed else 403)
    assert role_of(owner.workspace_id, target.user_id) == (None if allowed else "viewer")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("viewer", False), ("editor", False), ("admin", True), ("owner", True)],
    ids=ROLES,
)
def test_only_admins_revoke_invitations(client: FlaskClient, role: str, allowed: bool) -> None:
    owner = make_account()
    actor = actor_with(owner, role)
    invitation = invite(client, owner)
    response = client.delete(f"{MEMBERS}/invitations/{invitation['id']}", headers=actor.headers)
    assert response.status_code == (200 if allowed else 403)
    db.session.expire_all()
    exists = db.session.get(WorkspaceInvitation, uuid.UUID(invitation["id"])) is not None
    assert exists is not allowed


# --- add / invite --------------------------------------------------------------------------


def test_inviting_an_existing_user_answers_like_any_invitation(
    app: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    target = make_account(name="Carlos Lima")
    response = client.post(
        MEMBERS, json={"email": target.user.email.upper(), "role": "editor"}, headers=owner.headers
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"status", "invitation"}
    assert body["status"] == "invited"
    assert role_of(owner.workspace_id, target.user_id) is None


def test_existing_user_joins_by_accepting_the_mailed_token_once(
    app: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    target = make_account()
    client.post(MEMBERS, json={"email": target.user.email, "role": "editor"}, headers=owner.headers)
    token = invitation_token(app, target.user.email)
    response = accept(client, target, token)
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "workspaceId": str(owner.workspace_id),
        "role": "editor",
    }
    assert role_of(owner.workspace_id, target.user_id) == "editor"
    assert accept(client, target, token).status_code == 404


def test_someone_elses_invitation_token_is_404(app: Flask, client: FlaskClient) -> None:
    owner, target, thief = make_account(), make_account(), make_account()
    client.post(MEMBERS, json={"email": target.user.email, "role": "admin"}, headers=owner.headers)
    response = accept(client, thief, invitation_token(app, target.user.email))
    assert response.status_code == 404
    assert role_of(owner.workspace_id, thief.user_id) is None


def test_adding_an_existing_member_is_409(client: FlaskClient) -> None:
    owner = make_account()
    member = make_member(owner, "viewer")
    response = client.post(
        MEMBERS, json={"email": member.user.email, "role": "admin"}, headers=owner.headers
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "already_member"
    assert role_of(owner.workspace_id, member.user_id) == "viewer"


def test_inviting_an_unknown_email_stores_and_mails_an_invitation(
    client: FlaskClient, app: Flask
) -> None:
    owner = make_account()
    email = unique_email("Novo")
    response = client.post(MEMBERS, json={"email": email, "role": "viewer"}, headers=owner.headers)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"status", "invitation"}
    assert body["status"] == "invited"
    assert set(body["invitation"]) == INVITATION_KEYS
    assert (body["invitation"]["email"], body["invitation"]["role"]) == (email.lower(), "viewer")
    mails = [path.read_text() for path in Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml")]
    assert any(f"To: {email.lower()}" in mail for mail in mails)


def test_inviting_twice_refreshes_the_same_invitation(client: FlaskClient) -> None:
    owner = make_account()
    email = unique_email()
    first = client.post(MEMBERS, json={"email": email, "role": "viewer"}, headers=owner.headers)
    second = client.post(MEMBERS, json={"email": email, "role": "admin"}, headers=owner.headers)
    assert first.get_json()["invitation"]["id"] == second.get_json()["invitation"]["id"]
    invitations = client.get(MEMBERS, headers=owner.headers).get_json()["invitations"]
    assert [(item["email"], item["role"]) for item in invitations] == [(email, "admin")]


def test_a_mail_failure_does_not_fail_the_invitation(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_outbox(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("fluxolab.mail._write_outbox", broken_outbox)
    owner = make_account()
    response = client.post(
        MEMBERS, json={"email": unique_email(), "role": "editor"}, headers=owner.headers
    )
    assert response.status_code == 201
    assert len(client.get(MEMBERS, headers=owner.headers).get_json()["invitations"]) == 1


def test_invited_email_joins_the_workspace_at_registration_with_the_token(
    app: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    email = unique_email("convite")
    client.post(MEMBERS, json={"email": email, "role": "editor"}, headers=owner.headers)
    registered = client.post(
        "/api/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "displayName": "Nova Pessoa",
            "inviteToken": invitation_token(app, email),
        },
    )
    assert registered.status_code == 201
    login = api_login(client, email)
    assert login["user"]["workspaceId"] == str(owner.workspace_id)  # type: ignore[index]
    body = client.get(MEMBERS, headers=owner.headers).get_json()
    assert [(m["email"], m["role"]) for m in body["members"]][-1] == (email, "editor")
    assert body["invitations"] == []


def test_registering_an_invited_email_without_the_token_does_not_join(client: FlaskClient) -> None:
    owner = make_account()
    email = unique_email("convite")
    client.post(MEMBERS, json={"email": email, "role": "admin"}, headers=owner.headers)
    registered = client.post(
        "/api/auth/register",
        json={"email": email, "password": PASSWORD, "displayName": "Quem Chegou Antes"},
    )
    assert registered.status_code == 201
    login = api_login(client, email)
    assert login["user"]["workspaceId"] != str(owner.workspace_id)  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@example.com", "role": "superuser"}, "role"),
        ({"email": "a@example.com", "role": "member"}, "role"),
        ({"email": "not-an-email", "role": "viewer"}, "email"),
        ({"role": "viewer"}, "email"),
        ({"email": "a@example.com"}, "role"),
        ({"email": "a@example.com", "role": "viewer", "workspaceId": "x"}, "workspaceId"),
    ],
    ids=["unknown-role", "nestjs-member-role", "bad-email", "no-email", "no-role", "extra-field"],
)
def test_invalid_add_member_is_422(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    owner = make_account()
    response = client.post(MEMBERS, json=body, headers=owner.headers)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]
    body = client.get(MEMBERS, headers=owner.headers).get_json()
    assert (body["total"], body["invitations"]) == (1, [])


@pytest.mark.parametrize("existing", [True, False], ids=["existing-user", "invitation"])
def test_admin_cannot_grant_owner(client: FlaskClient, existing: bool) -> None:
    owner = make_account()
    admin = make_member(owner, "admin")
    email = make_account().user.email if existing else unique_email()
    response = client.post(MEMBERS, json={"email": email, "role": "owner"}, headers=admin.headers)
    assert response.status_code == 403
    assert response.get_json()["message"] == "Apenas um owner pode conceder o papel de owner."
    body = client.get(MEMBERS, headers=owner.headers).get_json()
    assert (body["total"], body["invitations"]) == (2, [])


def test_owner_can_add_another_owner(app: Flask, client: FlaskClient) -> None:
    owner = make_account()
    target = make_account()
    response = client.post(
        MEMBERS, json={"email": target.user.email, "role": "owner"}, headers=owner.headers
    )
    assert response.status_code == 201
    accept(client, target, invitation_token(app, target.user.email))
    assert role_of(owner.workspace_id, target.user_id) == "owner"


# --- change role ---------------------------------------------------------------------------


def test_change_role_returns_the_member(client: FlaskClient) -> None:
    owner = make_account()
    admin = make_member(owner, "admin")
    target = make_member(owner, "viewer")
    response = client.put(
        f"{MEMBERS}/{target.user_id}", json={"role": "admin"}, headers=admin.headers
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"status", "member"}
    assert body["status"] == "ok"
    assert set(body["member"]) == MEMBER_KEYS
    assert (body["member"]["id"], body["member"]["role"]) == (str(target.user_id), "admin")


def test_new_role_applies_to_existing_tokens(client: FlaskClient) -> None:
    owner = make_account()
    target = make_member(owner, "admin")
    client.put(f"{MEMBERS}/{target.user_id}", json={"role": "viewer"}, headers=owner.headers)
    response = client.post(
        MEMBERS, json={"email": unique_email(), "role": "viewer"}, headers=target.headers
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("target_role", "new_role", "message"),
    [
        ("viewer", "owner", "Apenas um owner pode conceder o papel de owner."),
        ("owner", "admin", "Apenas um owner pode alterar ou remover outro owner."),
    ],
    ids=["grant-owner", "demote-owner"],
)
def test_admin_cannot_touch_the_owner_role(
    client: FlaskClient, target_role: str, new_role: str, message: str
) -> None:
    owner = make_account()
    admin = make_member(owner, "admin")
    target = owner if target_role == "owner" else make_member(owner, target_role)
    response = client.put(
        f"{MEMBERS}/{target.user_id}", json={"role": new_role}, headers=admin.headers
    )
    assert response.status_code == 403
    assert response.get_json()["message"] == message
    assert role_of(owner.workspace_id, target.user_id) == target_role


def test_last_owner_cannot_be_demoted(client: FlaskClient) -> None:
    owner = make_account()
    response = client.put(
        f"{MEMBERS}/{owner.user_id}", json={"role": "admin"}, headers=owner.headers
    )
    assert response.status_code == 409
    assert response.get_json() == {
        "status": "error",
        "message": "O workspace precisa de pelo menos um owner.",
        "code": "conflict",
        "errors": {},
    }
    assert role_of(owner.workspace_id, owner.user_id) == "owner"


def test_an_owner_can_be_demoted_while_another_remains(client: FlaskClient) -> None:
    owner = make_account()
    second = make_member(owner, "owner")
    response = client.put(
        f"{MEMBERS}/{owner.user_id}", json={"role": "editor"}, headers=second.headers
    )
    assert response.status_code == 200
    assert role_of(owner.workspace_id, owner.user_id) == "editor"
    again = client.put(
        f"{MEMBERS}/{second.user_id}", json={"role": "editor"}, headers=second.headers
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    "body",
    [{"role": "root"}, {}, {"role": "admin", "userId": "x"}],
    ids=["bad-role", "no-role", "extra-field"],
)
def test_invalid_role_change_is_422(client: FlaskClient, body: dict[str, Any]) -> None:
    owner = make_account()
    target = make_member(owner, "viewer")
    response = client.put(f"{MEMBERS}/{target.user_id}", json=body, headers=owner.headers)
    assert response.status_code == 422
    assert role_of(owner.workspace_id, target.user_id) == "viewer"


def test_change_role_of_a_non_member_is_404(client: FlaskClient) -> None:
    owner = make_account()
    response = client.put(
        f"{MEMBERS}/{uuid.uuid4()}", json={"role": "admin"}, headers=owner.headers
    )
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


# --- remove --------------------------------------------------------------------------------


def test_remove_member_returns_a_message(client: FlaskClient) -> None:
    owner = make_account()
    target = make_member(owner, "editor")
    response = client.delete(f"{MEMBERS}/{target.user_id}", headers=owner.headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "message": "Membro removido do workspace."}


def test_removed_member_token_is_revoked(client: FlaskClient) -> None:
    owner = make_account()
    target = make_member(owner, "editor")
    assert client.get("/api/users/profile", headers=target.headers).status_code == 200
    client.delete(f"{MEMBERS}/{target.user_id}", headers=owner.headers)
    response = client.get("/api/users/profile", headers=target.headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_revoked"


def test_removed_member_logs_into_their_other_workspace(client: FlaskClient) -> None:
    owner = make_account()
    target = make_member(owner, "editor")
    own_workspace = db.session.execute(
        select(WorkspaceMember.workspace_id).where(
            WorkspaceMember.user_id == target.user_id,
            WorkspaceMember.workspace_id != owner.workspace_id,
        )
    ).scalar_one()
    client.delete(f"{MEMBERS}/{target.user_id}", headers=owner.headers)
    db.session.expire_all()
    user = db.session.get(User, target.user_id)
    assert user is not None and user.default_workspace_id == own_workspace
    login = api_login(client, target.user.email)
    assert login["user"]["workspaceId"] == str(own_workspace)  # type: ignore[index]


def test_removed_invited_member_gets_a_new_workspace_at_login(
    app: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    email = unique_email()
    client.post(MEMBERS, json={"email": email, "role": "viewer"}, headers=owner.headers)
    client.post(
        "/api/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "displayName": "Sem Casa",
            "inviteToken": invitation_token(app, email),
        },
    )
    user_id = api_login(client, email)["user"]["id"]  # type: ignore[index]
    client.delete(f"{MEMBERS}/{user_id}", headers=owner.headers)
    db.session.expire_all()
    user = db.session.get(User, uuid.UUID(user_id))
    assert user is not None and user.default_workspace_id is None
    workspace_id = api_login(client, email)["user"]["workspaceId"]  # type: ignore[index]
    assert workspace_id not in (None, str(owner.workspace_id))
    assert role_of(uuid.UUID(workspace_id), uuid.UUID(user_id)) == "owner"


def test_admin_cannot_remove_an_owner(client: FlaskClient) -> None:
    owner = make_account()
    make_member(owner, "owner")
    admin = make_member(owner, "admin")
    response = client.delete(f"{MEMBERS}/{owner.user_id}", headers=admin.headers)
    assert response.status_code == 403
    assert role_of(owner.workspace_id, owner.user_id) == "owner"


def test_last_owner_cannot_be_removed(client: FlaskClient) -> None:
    owner = make_account()
    response = client.delete(f"{MEMBERS}/{owner.user_id}", headers=owner.headers)
    assert response.status_code == 409
    assert response.get_json()["message"] == "O workspace precisa de pelo menos um owner."
    assert role_of(owner.workspace_id, owner.user_id) == "owner"


def test_an_owner_can_remove_another_owner(client: FlaskClient) -> None:
    owner = make_account()
    second = make_member(owner, "owner")
    response = client.delete(f"{MEMBERS}/{second.user_id}", headers=owner.headers)
    assert response.status_code == 200
    assert role_of(owner.workspace_id, second.user_id) is None


def test_remove_a_non_member_is_404(client: FlaskClient) -> None:
    owner = make_account()
    stranger = make_account()
    response = client.delete(f"{MEMBERS}/{stranger.user_id}", headers=owner.headers)
    assert response.status_code == 404


# --- invitations ---------------------------------------------------------------------------


def test_revoke_invitation_removes_it_from_the_list(client: FlaskClient) -> None:
    owner = make_account()
    invitation = invite(client, owner)
    response = client.delete(f"{MEMBERS}/invitations/{invitation['id']}", headers=owner.headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "message": "Convite revogado."}
    assert client.get(MEMBERS, headers=owner.headers).get_json()["invitations"] == []
    again = client.delete(f"{MEMBERS}/invitations/{invitation['id']}", headers=owner.headers)
    assert again.status_code == 404


def test_admin_cannot_revoke_an_owner_invitation(client: FlaskClient) -> None:
    owner = make_account()
    admin = make_member(owner, "admin")
    invitation = invite(client, owner, "owner")
    response = client.delete(f"{MEMBERS}/invitations/{invitation['id']}", headers=admin.headers)
    assert response.status_code == 403
    assert len(client.get(MEMBERS, headers=owner.headers).get_json()["invitations"]) == 1


# --- workspace isolation -------------------------------------------------------------------


def test_other_workspace_member_is_404_and_unchanged(client: FlaskClient) -> None:
    owner_a, owner_b = make_account(), make_account()
    member_b = make_member(owner_b, "editor")
    for target in (member_b, owner_b):
        path = f"{MEMBERS}/{target.user_id}"
        changed = client.put(path, json={"role": "viewer"}, headers=owner_a.headers)
        removed = client.delete(path, headers=owner_a.headers)
        assert (changed.status_code, removed.status_code) == (404, 404)
    assert role_of(owner_b.workspace_id, member_b.user_id) == "editor"
    assert role_of(owner_b.workspace_id, owner_b.user_id) == "owner"
    assert client.get("/api/users/profile", headers=member_b.headers).status_code == 200


def test_other_workspace_invitation_is_404_and_kept(client: FlaskClient) -> None:
    owner_a, owner_b = make_account(), make_account()
    invitation = invite(client, owner_b)
    response = client.delete(f"{MEMBERS}/invitations/{invitation['id']}", headers=owner_a.headers)
    assert response.status_code == 404
    assert client.get(MEMBERS, headers=owner_b.headers).get_json()["invitations"] == [invitation]


def test_a_member_of_both_workspaces_is_managed_per_workspace(client: FlaskClient) -> None:
    owner_a, owner_b = make_account(), make_account()
    shared = make_member(owner_b, "editor")
    client.post(
        MEMBERS, json={"email": shared.user.email, "role": "viewer"}, headers=owner_a.headers
    )
    client.delete(f"{MEMBERS}/{shared.user_id}", headers=owner_a.headers)
    assert role_of(owner_a.workspace_id, shared.user_id) is None
    assert role_of(owner_b.workspace_id, shared.user_id) == "editor"
    assert client.get("/api/users/profile", headers=shared.headers).status_code == 200


def test_invitations_stop_at_the_plan_user_limit(client: FlaskClient) -> None:
    owner = make_account()  # free plan: 3 users, the owner is one
    first, second, third = unique_email(), unique_email(), unique_email()
    for email in (first, second):
        response = client.post(
            MEMBERS, json={"email": email, "role": "viewer"}, headers=owner.headers
        )
        assert response.status_code == 201
    refused = client.post(MEMBERS, json={"email": third, "role": "viewer"}, headers=owner.headers)
    assert refused.status_code == 402
    assert refused.get_json()["code"] == "plan_limit_users"
    again = client.post(MEMBERS, json={"email": first, "role": "editor"}, headers=owner.headers)
    assert again.status_code == 201  # re-sending a pending invitation takes no new seat


def _invitation_row(workspace_id: uuid.UUID, email: str) -> tuple[str, str, uuid.UUID | None]:
    db.session.expire_all()
    row = db.session.execute(
        select(
            WorkspaceInvitation.role, WorkspaceInvitation.token_hash, WorkspaceInvitation.invited_by
        ).where(
            WorkspaceInvitation.workspace_id == workspace_id, WorkspaceInvitation.email == email
        )
    ).one()
    return row[0], row[1], row[2]


@pytest.mark.parametrize("new_role", ROLES)
@pytest.mark.parametrize("pending_role", ROLES)
@pytest.mark.parametrize("actor_role", ["admin", "owner"])
def test_reinviting_replaces_a_pending_invitation_only_where_revoking_it_is_allowed(
    client: FlaskClient, actor_role: str, pending_role: str, new_role: str
) -> None:
    owner = make_account()
    actor = actor_with(owner, actor_role)
    email = unique_email("convidado")
    sent = client.post(MEMBERS, json={"email": email, "role": pending_role}, headers=owner.headers)
    assert sent.status_code == 201
    before = _invitation_row(owner.workspace_id, email)
    may_revoke = actor_role == "owner" or pending_role != "owner"
    may_grant = actor_role == "owner" or new_role != "owner"

    response = client.post(MEMBERS, json={"email": email, "role": new_role}, headers=actor.headers)

    after = _invitation_row(owner.workspace_id, email)
    if may_revoke and may_grant:
        assert response.status_code == 201
        assert after[0] == new_role and after[1] != before[1]
    else:
        assert response.status_code == 403
        assert after == before  # same role, same token, same inviter: the mailed token still works


def test_an_admin_cannot_downgrade_an_owner_invitation_and_its_token_still_works(
    app: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    admin = make_member(owner, "admin")
    invitee = make_account()
    client.post(MEMBERS, json={"email": invitee.user.email, "role": "owner"}, headers=owner.headers)
    token = invitation_token(app, invitee.user.email)

    response = client.post(
        MEMBERS, json={"email": invitee.user.email, "role": "viewer"}, headers=admin.headers
    )

    assert response.status_code == 403
    assert response.get_json()["message"] == (
        "Apenas um owner pode revogar ou substituir um convite de owner."
    )
    assert invitation_token(app, invitee.user.email) == token  # no new e-mail was sent
    assert accept(client, invitee, token).status_code == 200
    assert role_of(owner.workspace_id, invitee.user_id) == "owner"
