"""API keys authenticate API calls: scopes, the creator's role, revocation, expiry, lastUsedAt."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from fluxolab.extensions import db
from fluxolab.models import ApiKey, WorkspaceMember, utcnow
from tests.api.test_workflows import create_workflow
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope
from tests.settings.test_api_keys import create_key, stored

ALL_SCOPES = [
    "workflows:read",
    "workflows:write",
    "executions:read",
    "executions:write",
    "webhooks:read",
    "webhooks:write",
    "credentials:read",
    "credentials:write",
]


@pytest.fixture()
def owner() -> Account:
    return make_account()


def key_headers(token: str) -> dict[str, str]:
    return {"X-API-Key": token}


def test_a_key_reads_workflows_with_its_scope(client: FlaskClient, owner: Account) -> None:
    create_workflow(client, owner, name="Pedidos")
    token = create_key(client, owner, scopes=["workflows:read"])["token"]
    response = client.get("/api/workflows", headers=key_headers(token))
    assert response.status_code == 200
    assert [w["name"] for w in response.get_json()["workflows"]] == ["Pedidos"]


def test_a_key_is_accepted_as_a_bearer_token(client: FlaskClient, owner: Account) -> None:
    token = create_key(client, owner, scopes=["workflows:read"])["token"]
    response = client.get("/api/workflows", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_a_key_without_the_scope_is_refused(client: FlaskClient, owner: Account) -> None:
    token = create_key(client, owner, scopes=["workflows:read"])["token"]
    response = client.post(
        "/api/workflows",
        json={"name": "x", "definition": {"nodes": []}},
        headers=key_headers(token),
    )
    assert_envelope(response, 403, "insufficient_scope")
    assert client.get("/api/workflows", headers=owner.headers).get_json()["total"] == 0


def test_a_key_writes_as_its_creator(client: FlaskClient, owner: Account) -> None:
    token = create_key(client, owner, scopes=["workflows:write"])["token"]
    body = {"name": "Via API", "definition": {"nodes": [], "connections": []}}
    response = client.post("/api/workflows", json=body, headers=key_headers(token))
    assert response.status_code == 201, response.get_json()
    created = client.get(
        f"/api/workflows/{response.get_json()['workflow']['id']}", headers=owner.headers
    )
    assert created.status_code == 200


def test_a_key_acts_with_its_creators_current_role(client: FlaskClient, owner: Account) -> None:
    admin = make_member(owner, "admin")
    token = create_key(client, admin, scopes=["workflows:read", "workflows:write"])["token"]
    membership = db.session.scalar(
        db.select(WorkspaceMember).where(
            WorkspaceMember.user_id == admin.user_id,
            WorkspaceMember.workspace_id == owner.workspace_id,
        )
    )
    assert membership is not None
    membership.role = "viewer"
    db.session.commit()
    body = {"name": "x", "definition": {"nodes": []}}
    response = client.post("/api/workflows", json=body, headers=key_headers(token))
    assert_envelope(response, 403, "forbidden")
    assert client.get("/api/workflows", headers=key_headers(token)).status_code == 200


def test_a_key_whose_creator_left_the_workspace_is_refused(
    client: FlaskClient, owner: Account
) -> None:
    admin = make_member(owner, "admin")
    token = create_key(client, admin, scopes=["workflows:read"])["token"]
    response = client.delete(f"/api/users/workspace-members/{admin.user_id}", headers=owner.headers)
    assert response.status_code == 200
    assert_envelope(
        client.get("/api/workflows", headers=key_headers(token)), 401, "api_key_orphaned"
    )
    summary = client.get("/api/settings/summary", headers=owner.headers).get_json()["summary"]
    assert [key["status"] for key in summary["apiKeys"]] == ["inactive"]


def test_revoked_rotated_expired_and_unknown_keys_are_refused(
    client: FlaskClient, owner: Account
) -> None:
    revoked = create_key(client, owner)
    client.delete(f"/api/settings/api/keys/{revoked['key']['id']}", headers=owner.headers)
    rotated = create_key(client, owner)
    client.put(f"/api/settings/api/keys/{rotated['key']['id']}/rotate", headers=owner.headers)
    expired = create_key(client, owner)
    row = stored(expired["key"]["id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    cases = {
        revoked["token"]: "api_key_invalid",
        rotated["token"]: "api_key_invalid",
        expired["token"]: "api_key_expired",
        "flx_" + "0" * 48: "api_key_invalid",
    }
    for token, code in cases.items():
        assert_envelope(client.get("/api/workflows", headers=key_headers(token)), 401, code)


def test_use_is_recorded_as_last_used_at(client: FlaskClient, owner: Account) -> None:
    body = create_key(client, owner)
    before = utcnow()
    assert client.get("/api/workflows", headers=key_headers(body["token"])).status_code == 200
    used = stored(body["key"]["id"]).last_used_at
    assert used is not None and used >= before
    listed = client.get("/api/settings/summary", headers=owner.headers).get_json()
    assert listed["summary"]["apiKeys"][0]["lastUsedAt"] is not None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/settings/summary"),
        ("POST", "/api/settings/api/keys"),
        ("GET", "/api/users/workspace-members"),
        ("GET", "/api/auth/me"),
        ("POST", "/api/settings/plans/upgrade"),
    ],
)
def test_keys_members_settings_and_billing_refuse_api_keys(
    client: FlaskClient, owner: Account, method: str, path: str
) -> None:
    token = create_key(client, owner, scopes=ALL_SCOPES)["token"]
    bodies = {"keys": {"scopes": ["workflows:read"]}, "upgrade": {"planCode": "full"}}
    body = bodies.get(path.rsplit("/", 1)[-1])
    response = client.open(path, method=method, json=body, headers=key_headers(token))
    assert_envelope(response, 403, "api_key_not_allowed")
    count = db.session.scalar(
        db.select(db.func.count())
        .select_from(ApiKey)
        .where(ApiKey.workspace_id == owner.workspace_id)
    )
    assert count == 1


def test_a_key_is_bound_to_its_workspace(client: FlaskClient, owner: Account) -> None:
    token = create_key(client, owner, scopes=ALL_SCOPES)["token"]
    other = make_account()
    workflow = create_workflow(client, other)
    response = client.get(f"/api/workflows/{workflow['id']}", headers=key_headers(token))
    assert_envelope(response, 404, "not_found")
    headers = {**key_headers(token), "X-Workspace-Id": str(other.workspace_id)}
    assert_envelope(client.get("/api/workflows", headers=headers), 404, "not_found")
    assert_envelope(
        client.get(
            "/api/workflows", headers={**key_headers(token), "X-Workspace-Id": str(uuid.uuid4())}
        ),
        404,
    )
