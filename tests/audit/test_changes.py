"""Credentials, API keys, workflows, webhook tokens, plans and settings: one entry per change."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

from tests.api.test_workflows import RUNNABLE, create_workflow
from tests.audit.trail import CANARY, as_text, mark, only, written_since
from tests.factories import Account, make_account
from tests.settings.test_api_keys import create_key
from tests.webhooks.test_admin import create_webhook

CREDENTIALS = "/api/workflows/credentials"
BEARER = {"name": "api", "type": "http-bearer", "secret": {"token": CANARY}}


def _credential(client: FlaskClient, account: Account, headers: Any = None) -> dict[str, Any]:
    response = client.post(CREDENTIALS, json=BEARER, headers=headers or account.headers)
    assert response.status_code == 201, response.get_json()
    credential: dict[str, Any] = response.get_json()["credential"]
    return credential


def test_a_credential_created_records_its_fields_and_only_its_secret_key_names(
    client: FlaskClient,
) -> None:
    owner = make_account()
    seen = mark()
    credential = _credential(client, owner)
    entry = only(seen, "credential.created")
    assert (entry.actor_type, entry.actor_user_id) == ("user", owner.user_id)
    assert (entry.target_type, entry.target_id) == ("credential", credential["id"])
    assert entry.after is not None and entry.before is None
    assert entry.after["name"] == "api" and entry.after["type"] == "http-bearer"
    assert "token" in entry.after["secretFields"]
    assert CANARY not in as_text(entry)


def test_a_credential_whose_commit_fails_writes_no_entry(client: FlaskClient) -> None:
    owner = make_account()
    _credential(client, owner)
    seen = mark()
    response = client.post(CREDENTIALS, json=BEARER, headers=owner.headers)
    assert response.status_code == 409  # the name is taken: the INSERT fails at the flush
    assert written_since(seen) == []


def test_a_credential_update_records_the_changed_fields_only(client: FlaskClient) -> None:
    owner = make_account()
    credential = _credential(client, owner)
    seen = mark()
    changes = {"name": "api-2", "secret": {"token": CANARY + "-new"}}
    response = client.put(
        f"/api/credentials/{credential['id']}", json=changes, headers=owner.headers
    )
    assert response.status_code == 200, response.get_json()
    entry = only(seen, "credential.updated")
    assert entry.before == {"name": "api"}
    assert entry.after == {"name": "api-2", "secretChanged": True}
    assert CANARY not in as_text(entry)


def test_a_credential_deletion_records_what_went(client: FlaskClient) -> None:
    owner = make_account()
    credential = _credential(client, owner)
    seen = mark()
    path = f"/api/credentials/{credential['id']}"
    assert client.delete(path, headers=owner.headers).status_code == 200
    entry = only(seen, "credential.deleted")
    assert entry.before == {"name": "api", "type": "http-bearer", "isActive": True}
    assert entry.after is None


def test_an_api_key_acting_is_the_actor(client: FlaskClient) -> None:
    owner = make_account()
    created = create_key(client, owner, scopes=["credentials:write"])
    seen = mark()
    _credential(client, owner, headers={"X-API-Key": created["token"]})
    entry = only(seen, "credential.created")
    assert entry.actor_type == "api_key"
    key_id = uuid.UUID(created["key"]["id"])
    assert (entry.actor_api_key_id, entry.actor_user_id) == (key_id, owner.user_id)
    assert created["token"] not in as_text(entry)


def test_api_key_creation_rotation_and_revocation_never_record_a_token(
    client: FlaskClient,
) -> None:
    owner = make_account()
    seen = mark()
    created = create_key(client, owner, label="CI", scopes=["workflows:read"])
    entry = only(seen, "api_key.created")
    key_id = created["key"]["id"]
    assert (entry.target_type, entry.target_id) == ("api_key", key_id)
    assert entry.after == {"label": "CI", "scopes": ["workflows:read"], "expiresAt": None}
    assert created["token"] not in as_text(entry)

    seen = mark()
    rotated = client.put(f"/api/settings/api/keys/{key_id}/rotate", headers=owner.headers)
    assert rotated.status_code == 200
    entry = only(seen, "api_key.rotated")
    assert rotated.get_json()["token"] not in as_text(entry)

    seen = mark()
    assert (
        client.delete(f"/api/settings/api/keys/{key_id}", headers=owner.headers).status_code == 200
    )
    entry = only(seen, "api_key.revoked")
    assert (entry.before, entry.after) == ({"status": "active"}, {"status": "revoked"})


def test_workflow_activation_deactivation_and_deletion(client: FlaskClient) -> None:
    owner = make_account()
    workflow = create_workflow(client, owner, definition=RUNNABLE)
    path = f"/api/workflows/{workflow['id']}"
    steps = (("draft", True, "workflow.activated"), ("active", False, "workflow.deactivated"))
    for old, active, action in steps:
        seen = mark()
        response = client.patch(f"{path}/status", json={"active": active}, headers=owner.headers)
        assert response.status_code == 200, response.get_json()
        entry = only(seen, action)
        assert (entry.target_type, entry.target_id) == ("workflow", workflow["id"])
        new = "active" if active else "inactive"
        assert (entry.before, entry.after) == ({"status": old}, {"status": new})
    seen = mark()
    assert client.delete(path, headers=owner.headers).status_code == 200
    entry = only(seen, "workflow.deleted")
    assert entry.before == {"name": workflow["name"], "status": "inactive"}


def test_a_refused_activation_writes_no_entry(client: FlaskClient) -> None:
    owner = make_account()
    workflow = create_workflow(client, owner, definition={"nodes": [], "connections": []})
    seen = mark()
    path = f"/api/workflows/{workflow['id']}/status"
    assert client.patch(path, json={"active": True}, headers=owner.headers).status_code == 422
    assert written_since(seen) == []


def test_a_webhook_token_rotation_never_records_the_token(client: FlaskClient) -> None:
    owner = make_account()
    hook = create_webhook(client, owner)
    seen = mark()
    response = client.post(f"/api/webhooks/{hook['id']}/rotate-token", headers=owner.headers)
    assert response.status_code == 200
    entry = only(seen, "webhook.token_rotated")
    assert (entry.target_type, entry.target_id) == ("webhook", hook["id"])
    text = as_text(entry)
    assert hook["token"] not in text and response.get_json()["webhook"]["token"] not in text


def test_a_plan_change_and_a_cancellation(client: FlaskClient) -> None:
    owner = make_account()
    seen = mark()
    body = {"planCode": "basico"}
    response = client.post("/api/settings/plans/upgrade", json=body, headers=owner.headers)
    assert response.status_code == 200, response.get_json()
    entry = only(seen, "plan.changed")
    assert (entry.target_type, entry.target_id) == ("workspace", str(owner.workspace_id))
    assert entry.before is not None and entry.after is not None
    assert (entry.before["planCode"], entry.after["planCode"]) == ("free", "basico")
    seen = mark()
    response = client.post("/api/settings/billing/cancel", json={}, headers=owner.headers)
    assert response.status_code == 200, response.get_json()
    entry = only(seen, "subscription.canceled")
    assert entry.before == {"subscriptionStatus": "active"}
    assert entry.after is not None and entry.after["subscriptionStatus"] == "canceled"


def test_usage_alert_changes(client: FlaskClient) -> None:
    owner = make_account()
    url = "/api/settings/usage/alerts"
    body = {"metric": "webhooks", "threshold": 100, "condition": "greater_than"}
    seen = mark()
    response = client.post(url, json=body, headers=owner.headers)
    assert response.status_code == 201
    alert_id = response.get_json()["alert"]["id"]
    entry = only(seen, "usage_alert.created")
    assert entry.after is not None and entry.after["threshold"] == 100
    seen = mark()
    changed = client.put(f"{url}/{alert_id}", json={"threshold": 250}, headers=owner.headers)
    assert changed.status_code == 200
    entry = only(seen, "usage_alert.updated")
    assert (entry.before, entry.after) == ({"threshold": 100}, {"threshold": 250})
    seen = mark()
    assert client.delete(f"{url}/{alert_id}", headers=owner.headers).status_code == 200
    assert only(seen, "usage_alert.deleted").target_id == alert_id


def test_workspace_settings_changes(client: FlaskClient) -> None:
    owner = make_account()
    seen = mark()
    body = {"featureId": "sso", "reason": "Okta"}
    response = client.post(
        "/api/settings/features/request-access", json=body, headers=owner.headers
    )
    assert response.status_code == 200
    assert only(seen, "settings.feature_requested").after == {"featureId": "sso"}
    summary = client.get("/api/settings/summary", headers=owner.headers).get_json()["summary"]
    sandbox = next(e for e in summary["environments"] if e["slug"] == "sandbox")
    seen = mark()
    path = f"/api/settings/environments/{sandbox['id']}/status"
    assert client.put(path, json={"status": "inactive"}, headers=owner.headers).status_code == 200
    entry = only(seen, "environment.status_changed")
    assert entry.after == {"status": "disabled"}
