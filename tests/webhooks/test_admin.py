"""The webhook management API: shapes, validation, node-bound rows, rotation, credentials."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Credential, Webhook
from fluxolab.triggers import lookup, tokens
from tests.factories import Account, make_account
from tests.helpers import assert_envelope

FLOW: dict[str, Any] = {
    "nodes": [{"id": "t", "type": "manual"}, {"id": "n", "type": "no-op"}],
    "connections": [{"from": "t", "to": "n"}],
}
HOOK_FLOW: dict[str, Any] = {
    "nodes": [
        {
            "id": "hook",
            "type": "webhook",
            "name": "Orders",
            "params": {"path": "orders", "method": "POST", "respondMode": "immediately"},
        },
        {"id": "n", "type": "no-op", "params": {}},
    ],
    "connections": [{"from": "hook", "to": "n"}],
}
ENTITY_KEYS = {
    "id",
    "workspaceId",
    "workflowId",
    "kind",
    "nodeId",
    "name",
    "path",
    "method",
    "methods",
    "authentication",
    "credentialId",
    "respondMode",
    "rateLimitPerMinute",
    "maxBodyBytes",
    "contentTypes",
    "isActive",
    "token",
    "url",
    "tokenRotatedAt",
    "callCount",
    "lastCallAt",
    "successRate",
    "createdAt",
    "updatedAt",
}
BASIC_SECRET = {"user": "ana", "password": "pw-basic-123"}


@pytest.fixture()
def owner() -> Account:
    return make_account()


def make_workflow(client: FlaskClient, account: Account, definition: Any = None) -> str:
    body = {"name": "Pedidos", "definition": definition or FLOW}
    response = client.post("/api/workflows", json=body, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["workflow"]["id"])


def make_credential(client: FlaskClient, account: Account, kind: str, secret: Any) -> str:
    body = {"name": f"{kind}-{uuid.uuid4().hex[:6]}", "type": kind, "secret": secret}
    response = client.post("/api/workflows/credentials", json=body, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["credential"]["id"])


def create_webhook(client: FlaskClient, account: Account, **fields: Any) -> dict[str, Any]:
    """POST /api/webhooks (a fresh workflow unless ``workflowId`` is given); the entity."""
    body = {"name": "Pedidos", "path": "orders", **fields}
    body.setdefault("workflowId", make_workflow(client, account))
    response = client.post("/api/webhooks", json=body, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    entity: dict[str, Any] = response.get_json()["webhook"]
    return entity


def node_bound_webhook(client: FlaskClient, account: Account) -> Webhook:
    """Activate a workflow with a webhook trigger node; return the row trigger sync made."""
    workflow_id = make_workflow(client, account, HOOK_FLOW)
    path = f"/api/workflows/{workflow_id}/status"
    assert client.patch(path, json={"active": True}, headers=account.headers).status_code == 200
    row = db.session.scalars(
        select(Webhook).where(Webhook.workflow_id == uuid.UUID(workflow_id))
    ).one()
    return row


def stored(webhook_id: str) -> Webhook:
    db.session.expire_all()
    row = db.session.get(Webhook, uuid.UUID(webhook_id))
    assert row is not None
    return row


def test_create_answers_201_with_the_entity_and_its_full_token(
    client: FlaskClient, owner: Account
) -> None:
    workflow_id = make_workflow(client, owner)
    response = client.post(
        "/api/webhooks",
        json={
            "name": "Pedidos",
            "path": "orders",
            "method": "PUT",
            "respondMode": "immediate",
            "workflowId": workflow_id,
            "rateLimitPerMinute": 120,
            "maxBodyBytes": 2048,
            "contentTypes": ["application/JSON", "text/plain"],
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "created"
    hook = body["webhook"]
    assert set(hook) == ENTITY_KEYS
    assert hook["workflowId"] == workflow_id
    assert hook["workspaceId"] == str(owner.workspace_id)
    assert (hook["kind"], hook["nodeId"], hook["name"], hook["path"]) == (
        "webhook",
        None,
        "Pedidos",
        "orders",
    )
    assert (hook["method"], hook["methods"]) == ("PUT", ["PUT"])
    assert (hook["authentication"], hook["credentialId"]) == ("none", None)
    assert hook["respondMode"] == "immediately"  # stored as the canonical name
    assert (hook["rateLimitPerMinute"], hook["maxBodyBytes"]) == (120, 2048)
    assert hook["contentTypes"] == ["application/json", "text/plain"]
    assert hook["isActive"] is True
    assert (hook["callCount"], hook["lastCallAt"], hook["successRate"]) == (0, None, None)
    token = hook["token"]
    assert tokens.well_formed(token) and len(token) >= 43
    assert hook["url"] == f"http://localhost/api/webhooks/execute/{token}"
    row = stored(hook["id"])
    assert row.token_hash == tokens.token_hash(token)
    assert token not in row.token_encrypted and tokens.decrypt(row.token_encrypted) == token


def test_methods_list_and_on_last_node_alias(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner, methods=["POST", "GET"], respondMode="on_last_node")
    assert hook["methods"] == ["GET", "POST"]
    assert hook["method"] == "POST"
    assert hook["respondMode"] == "when_complete"


def test_detail_and_list_answer_the_contract_shapes(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner)
    detail = client.get(f"/api/webhooks/{hook['id']}", headers=owner.headers)
    assert detail.status_code == 200
    assert detail.get_json() == {"status": "ok", "webhook": hook}
    listed = client.get("/api/webhooks", headers=owner.headers).get_json()
    assert listed == {
        "status": "ok",
        "webhooks": {"webhooks": [hook], "total": 1, "limit": 50, "offset": 0},
    }


def test_list_is_newest_first_paginated_and_filtered_by_workflow(
    client: FlaskClient, owner: Account
) -> None:
    workflow_id = make_workflow(client, owner)
    ids = [
        create_webhook(client, owner, name=f"h{i}", workflowId=workflow_id)["id"] for i in range(3)
    ]
    other = create_webhook(client, owner, name="other")["id"]
    page = client.get("/api/webhooks?limit=2&offset=1", headers=owner.headers).get_json()
    assert page["webhooks"]["total"] == 4
    assert [h["id"] for h in page["webhooks"]["webhooks"]] == [ids[2], ids[1]]
    assert page["webhooks"]["limit"] == 2 and page["webhooks"]["offset"] == 1
    mine = client.get(f"/api/webhooks?workflowId={workflow_id}", headers=owner.headers)
    assert [h["id"] for h in mine.get_json()["webhooks"]["webhooks"]] == ids[::-1]
    assert other not in {h["id"] for h in mine.get_json()["webhooks"]["webhooks"]}


def test_list_leaves_out_form_rows(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner)
    row = stored(hook["id"])
    row.kind = "form"
    db.session.commit()
    listed = client.get("/api/webhooks", headers=owner.headers).get_json()
    assert listed["webhooks"]["total"] == 0
    assert_envelope(client.get(f"/api/webhooks/{hook['id']}", headers=owner.headers), 404)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"method": "BREW"}, "method"),
        ({"methods": []}, "methods"),
        ({"authentication": "digest"}, "authentication"),
        ({"respondMode": "later"}, "respondMode"),
        ({"rateLimitPerMinute": 0}, "rateLimitPerMinute"),
        ({"rateLimitPerMinute": 100_001}, "rateLimitPerMinute"),
        ({"maxBodyBytes": 0}, "maxBodyBytes"),
        ({"maxBodyBytes": 10**9}, "maxBodyBytes"),
        ({"contentTypes": ["json"]}, "contentTypes"),
        ({"workflowId": "not-a-uuid"}, "workflowId"),
        ({"workspaceId": "00000000-0000-4000-8000-000000000001"}, "workspaceId"),
        ({"token": "a" * 43}, "token"),
        ({"authentication": "basic"}, "credentialId"),
    ],
    ids=lambda value: str(value)[:40] if isinstance(value, dict) else value,
)
def test_invalid_bodies_are_422_naming_the_field_and_store_nothing(
    client: FlaskClient, owner: Account, changes: dict[str, Any], field: str
) -> None:
    body = {"name": "Pedidos", "workflowId": make_workflow(client, owner), **changes}
    response = client.post("/api/webhooks", json=body, headers=owner.headers)
    error = assert_envelope(response, 422, "validation_error")
    assert field in error["errors"], error
    assert client.get("/api/webhooks", headers=owner.headers).get_json()["webhooks"]["total"] == 0


def test_workflow_of_another_workspace_looks_missing(client: FlaskClient, owner: Account) -> None:
    stranger = make_account()
    theirs = make_workflow(client, stranger)
    for workflow_id in (theirs, str(uuid.uuid4())):
        body = {"name": "x", "workflowId": workflow_id}
        response = client.post("/api/webhooks", json=body, headers=owner.headers)
        error = assert_envelope(response, 422, "validation_error")
        assert error["errors"] == {"workflowId": ["Workflow nao encontrado."]}
    body = {"name": "x"}
    error = assert_envelope(client.post("/api/webhooks", json=body, headers=owner.headers), 422)
    assert "workflowId" in error["errors"]


@pytest.mark.parametrize(
    ("mode", "kind", "secret"),
    [
        ("basic", "http-basic", BASIC_SECRET),
        ("bearer", "http-bearer", {"token": "tok-123"}),
        ("api-key", "http-header", {"name": "X-Api-Key", "value": "key-123"}),
    ],
)
def test_auth_mode_takes_a_credential_of_its_type(
    client: FlaskClient, owner: Account, mode: str, kind: str, secret: dict[str, Any]
) -> None:
    credential_id = make_credential(client, owner, kind, secret)
    hook = create_webhook(client, owner, authentication=mode, credentialId=credential_id)
    assert (hook["authentication"], hook["credentialId"]) == (mode, credential_id)
    wrong = make_credential(
        client,
        owner,
        "smtp",
        {"host": "h", "port": 25, "secure": False, "user": "", "password": ""},
    )
    body = {
        "name": "x",
        "workflowId": hook["workflowId"],
        "authentication": mode,
        "credentialId": wrong,
    }
    error = assert_envelope(client.post("/api/webhooks", json=body, headers=owner.headers), 422)
    assert list(error["errors"]) == ["credentialId"]
    assert kind in error["message"]


def test_hmac_takes_a_webhook_hmac_credential(client: FlaskClient, owner: Account) -> None:
    credential = Credential(
        id=uuid.uuid4(),
        workspace_id=owner.workspace_id,
        name="assinatura",
        type="webhook-hmac",
        data_encrypted="x",
        key_id="k",
        is_active=True,
    )
    db.session.add(credential)
    db.session.commit()
    hook = create_webhook(client, owner, authentication="hmac", credentialId=str(credential.id))
    assert hook["authentication"] == "hmac"
    basic = make_credential(client, owner, "http-basic", BASIC_SECRET)
    body = {
        "name": "x",
        "workflowId": hook["workflowId"],
        "authentication": "hmac",
        "credentialId": basic,
    }
    assert_envelope(client.post("/api/webhooks", json=body, headers=owner.headers), 422)


def test_credential_of_another_workspace_looks_missing(client: FlaskClient, owner: Account) -> None:
    stranger = make_account()
    theirs = make_credential(client, stranger, "http-basic", BASIC_SECRET)
    body = {
        "name": "x",
        "workflowId": make_workflow(client, owner),
        "authentication": "basic",
        "credentialId": theirs,
    }
    error = assert_envelope(client.post("/api/webhooks", json=body, headers=owner.headers), 422)
    assert error["errors"] == {"credentialId": ["Credencial nao encontrada."]}


def test_update_changes_only_what_is_sent(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner)
    other_workflow = make_workflow(client, owner)
    response = client.put(
        f"/api/webhooks/{hook['id']}",
        json={
            "name": "Novo",
            "methods": ["GET"],
            "respondMode": "never",
            "isActive": False,
            "workflowId": other_workflow,
            "rateLimitPerMinute": None,
        },
        headers=owner.headers,
    )
    assert response.status_code == 200, response.get_json()
    updated = response.get_json()["webhook"]
    assert (updated["name"], updated["methods"], updated["respondMode"]) == (
        "Novo",
        ["GET"],
        "never",
    )
    assert (updated["isActive"], updated["workflowId"]) == (False, other_workflow)
    assert updated["path"] == "orders" and updated["token"] == hook["token"]
    assert stored(hook["id"]).updated_by == owner.user_id


def test_update_revalidates_auth_against_the_stored_credential(
    client: FlaskClient, owner: Account
) -> None:
    hook = create_webhook(client, owner)
    path = f"/api/webhooks/{hook['id']}"
    error = assert_envelope(
        client.put(path, json={"authentication": "bearer"}, headers=owner.headers), 422
    )
    assert "credentialId" in error["errors"]
    bearer = make_credential(client, owner, "http-bearer", {"token": "t-1"})
    assert client.put(path, json={"credentialId": bearer}, headers=owner.headers).status_code == 200
    response = client.put(path, json={"authentication": "bearer"}, headers=owner.headers)
    assert response.get_json()["webhook"]["authentication"] == "bearer"
    error = assert_envelope(
        client.put(path, json={"authentication": "basic"}, headers=owner.headers), 422
    )
    assert "http-basic" in error["message"]
    assert stored(hook["id"]).auth_mode == "bearer"


def test_unknown_webhook_is_404(client: FlaskClient, owner: Account) -> None:
    missing = uuid.uuid4()
    for method, suffix in (
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("POST", "/rotate-token"),
        ("GET", "/logs"),
    ):
        response = client.open(
            f"/api/webhooks/{missing}{suffix}",
            method=method,
            json={} if method == "PUT" else None,
            headers=owner.headers,
        )
        assert_envelope(response, 404, "not_found")


def test_delete_removes_the_webhook_and_its_token(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner)
    response = client.delete(f"/api/webhooks/{hook['id']}", headers=owner.headers)
    assert response.get_json() == {"status": "ok", "message": "Webhook excluido."}
    assert db.session.get(Webhook, uuid.UUID(hook["id"])) is None
    assert_envelope(client.get(f"/api/webhooks/{hook['id']}", headers=owner.headers), 404)


def test_rotation_replaces_the_token_at_once(client: FlaskClient, owner: Account) -> None:
    hook = create_webhook(client, owner)
    old = hook["token"]
    response = client.post(f"/api/webhooks/{hook['id']}/rotate-token", headers=owner.headers)
    assert response.status_code == 200
    rotated = response.get_json()["webhook"]
    new = rotated["token"]
    assert new != old and tokens.well_formed(new)
    assert rotated["url"].endswith(f"/api/webhooks/execute/{new}")
    assert rotated["tokenRotatedAt"] is not None
    found = db.session.scalars(
        select(Webhook.id).where(Webhook.token_hash == tokens.token_hash(old))
    )
    assert found.all() == []
    row = stored(hook["id"])
    assert row.token_hash == tokens.token_hash(new) and tokens.decrypt(row.token_encrypted) == new


def test_rotation_works_for_form_rows_and_the_old_token_stops_resolving(
    client: FlaskClient, owner: Account
) -> None:
    row = node_bound_webhook(client, owner)
    old = tokens.decrypt(row.token_encrypted)
    assert lookup.find_active(old, "webhook") is not None
    row.kind = "form"
    db.session.commit()
    response = client.post(f"/api/webhooks/{row.id}/rotate-token", headers=owner.headers)
    assert response.status_code == 200, response.get_json()
    form = response.get_json()["webhook"]
    assert form["kind"] == "form" and form["url"].endswith(f"/forms/{form['token']}")
    assert lookup.find_active(old, "form") is None
    assert lookup.find_active(form["token"], "form") is not None


def test_node_bound_webhook_takes_only_server_settings(client: FlaskClient, owner: Account) -> None:
    row = node_bound_webhook(client, owner)
    path = f"/api/webhooks/{row.id}"
    detail = client.get(path, headers=owner.headers).get_json()["webhook"]
    assert (detail["nodeId"], detail["path"], detail["name"]) == ("hook", "orders", "Orders")
    settings = {
        "rateLimitPerMinute": 30,
        "maxBodyBytes": 4096,
        "contentTypes": ["application/json"],
    }
    response = client.put(path, json=settings, headers=owner.headers)
    assert response.status_code == 200, response.get_json()
    assert {k: response.get_json()["webhook"][k] for k in settings} == settings
    response = client.put(
        path, json={"name": "x", "isActive": False, "maxBodyBytes": 1}, headers=owner.headers
    )
    error = assert_envelope(response, 409, "webhook_managed_by_workflow")
    assert set(error["errors"]) == {"name", "isActive"}
    assert "name" in error["message"] and "isActive" in error["message"]
    after = stored(str(row.id))
    assert (after.name, after.is_active, after.max_body_bytes) == ("Orders", True, 4096)


def test_node_bound_webhook_cannot_be_deleted(client: FlaskClient, owner: Account) -> None:
    row = node_bound_webhook(client, owner)
    response = client.delete(f"/api/webhooks/{row.id}", headers=owner.headers)
    assert_envelope(response, 409, "webhook_managed_by_workflow")
    assert stored(str(row.id)).is_active


def test_credential_used_by_a_webhook_cannot_be_deleted(
    client: FlaskClient, owner: Account
) -> None:
    credential_id = make_credential(client, owner, "http-basic", BASIC_SECRET)
    create_webhook(
        client, owner, name="Cobranca", authentication="basic", credentialId=credential_id
    )
    response = client.delete(f"/api/credentials/{credential_id}", headers=owner.headers)
    error = assert_envelope(response, 409, "credential_in_use")
    assert error["errors"] == {"webhooks": ["Cobranca"]}
    assert "Cobranca" in error["message"]
    assert db.session.get(Credential, uuid.UUID(credential_id)) is not None
    unused = make_credential(client, owner, "http-basic", BASIC_SECRET)
    assert client.delete(f"/api/credentials/{unused}", headers=owner.headers).status_code == 200


def test_server_settings_of_a_node_bound_webhook_survive_workflow_edits(
    client: FlaskClient, owner: Account
) -> None:
    row = node_bound_webhook(client, owner)
    settings = {"rateLimitPerMinute": 7, "maxBodyBytes": 512, "contentTypes": ["text/plain"]}
    assert (
        client.put(f"/api/webhooks/{row.id}", json=settings, headers=owner.headers).status_code
        == 200
    )
    edited = {**HOOK_FLOW, "nodes": [dict(HOOK_FLOW["nodes"][0]), HOOK_FLOW["nodes"][1]]}
    edited["nodes"][0]["params"] = {**edited["nodes"][0]["params"], "path": "pedidos-v2"}
    response = client.put(
        f"/api/workflows/{row.workflow_id}", json={"definition": edited}, headers=owner.headers
    )
    assert response.status_code == 200, response.get_json()
    after = client.get(f"/api/webhooks/{row.id}", headers=owner.headers).get_json()["webhook"]
    assert after["path"] == "pedidos-v2"  # from the node
    assert {key: after[key] for key in settings} == settings  # kept
