"""``POST /api/webhooks/<id>/test``: a sample call through the real intake, mode ``test``."""

from __future__ import annotations

import base64
import uuid

from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Execution, Webhook, WebhookLog, Workspace
from tests.factories import make_account, make_member
from tests.webhooks.helpers import active_hook, credential, hook_flow


def _webhook_id(workflow_id: str) -> str:
    return str(
        db.session.scalar(select(Webhook.id).where(Webhook.workflow_id == uuid.UUID(workflow_id)))
    )


def test_a_test_call_runs_in_test_mode_with_the_webhooks_own_credentials(
    client: FlaskClient,
) -> None:
    owner = make_account()
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    credential_id = credential(client, owner, "webhook-hmac", {"secret": secret})
    flow = hook_flow({"authentication": "hmac", "credentialId": credential_id})
    workflow_id, _ = active_hook(client, owner, flow)
    used = db.session.scalar(
        select(Workspace.executions_used).where(Workspace.id == owner.workspace_id)
    )
    response = client.post(
        f"/api/webhooks/{_webhook_id(workflow_id)}/test",
        json={"body": {"hello": "world"}, "query": {"q": "1"}},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True and body["status"] == 202
    assert body["body"]["executionId"] == body["executionId"]
    execution = db.session.get(Execution, uuid.UUID(body["executionId"]))
    assert execution is not None and execution.mode == "test"
    assert execution.input_items[0]["json"]["body"] == {"hello": "world"}
    assert execution.input_items[0]["json"]["headers"]["webhook-signature"] == "[redacted]"
    log = db.session.scalar(select(WebhookLog).where(WebhookLog.execution_id == execution.id))
    assert log is not None and log.mode == "test"
    db.session.expire_all()
    after = db.session.scalar(
        select(Workspace.executions_used).where(Workspace.id == owner.workspace_id)
    )
    assert after == used  # not counted in the plan quota


def test_test_calls_need_an_editor_and_stay_in_the_workspace(client: FlaskClient) -> None:
    owner = make_account()
    workflow_id, _ = active_hook(client, owner, hook_flow())
    path = f"/api/webhooks/{_webhook_id(workflow_id)}/test"
    viewer = make_member(owner, "viewer")
    assert client.post(path, json={}, headers=viewer.headers).status_code == 403
    stranger = make_account()
    assert client.post(path, json={}, headers=stranger.headers).status_code == 404
    assert client.post(path, json={}).status_code == 401
    editor = make_member(owner, "editor")
    assert client.post(path, json={}, headers=editor.headers).status_code == 200
    unknown = f"/api/webhooks/{uuid.uuid4()}/test"
    assert client.post(unknown, json={}, headers=owner.headers).status_code == 404
