"""Edge cases of the intake: replays, key scopes, header collisions, quota, hostile answers."""

from __future__ import annotations

import base64
import time
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Execution, Webhook, WebhookLog, Workspace
from fluxolab.triggers import tokens
from fluxolab.webhooks import auth
from fluxolab.webhooks.answers import node_reply
from tests.factories import make_account, make_member
from tests.webhooks.helpers import active_hook, credential, hook_flow, url

SECRET = "whsec_" + base64.b64encode(b"r" * 32).decode()


def _signed(body: bytes, msg_id: str, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp or str(int(time.time()))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": auth.sign(SECRET, msg_id, stamp, body),
        "Content-Type": "application/json",
    }


def test_a_signed_delivery_cannot_be_replayed_with_a_new_idempotency_key(
    client: FlaskClient,
) -> None:
    owner = make_account()
    credential_id = credential(client, owner, "webhook-hmac", {"secret": SECRET})
    _, token = active_hook(
        client, owner, hook_flow({"authentication": "hmac", "credentialId": credential_id})
    )
    body = b'{"paid": 1}'
    headers = _signed(body, "msg_replay")
    ids = {
        client.post(
            url(token), data=body, headers={**headers, "Idempotency-Key": f"k{n}"}
        ).get_json()["executionId"]
        for n in range(3)
    }
    assert len(ids) == 1
    odd = client.post(url(token), data=body, headers=_signed(body, "msg_odd", "\u00b2"))
    assert odd.status_code == 401


def test_viewers_never_read_the_token_in_call_logs(client: FlaskClient) -> None:
    owner = make_account()
    workflow_id, token = active_hook(client, owner, hook_flow())
    assert client.post(url(token), json={}).status_code == 202
    webhook_id = db.session.scalar(
        select(Webhook.id).where(Webhook.workflow_id == uuid.UUID(workflow_id))
    )
    viewer = make_member(owner, "viewer")
    logs = client.get(f"/api/webhooks/{webhook_id}/logs", headers=viewer.headers)
    assert logs.status_code == 200
    assert token not in logs.get_data(as_text=True)
    (row,) = db.session.scalars(select(WebhookLog)).all()
    assert token not in str(row.response_body) and tokens.mask(token) in str(row.response_body)


def test_a_test_call_never_stands_in_for_a_real_delivery(client: FlaskClient) -> None:
    owner = make_account()
    workflow_id, token = active_hook(client, owner, hook_flow())
    webhook_id = db.session.scalar(
        select(Webhook.id).where(Webhook.workflow_id == uuid.UUID(workflow_id))
    )
    key = {"Idempotency-Key": "order-42"}
    tested = client.post(
        f"/api/webhooks/{webhook_id}/test", json={"headers": key}, headers=owner.headers
    ).get_json()
    real = client.post(url(token), json=tested["body"] and {"test": True}, headers=key)
    assert real.status_code == 202
    assert real.get_json()["executionId"] != tested["executionId"]
    run = db.session.get(Execution, uuid.UUID(real.get_json()["executionId"]))
    assert run is not None and run.mode == "webhook"


def test_an_api_key_header_the_intake_owns_refuses_every_call(client: FlaskClient) -> None:
    owner = make_account()
    credential_id = credential(
        client, owner, "http-header", {"name": "Idempotency-Key", "value": "secret-value-1"}
    )
    _, token = active_hook(
        client, owner, hook_flow({"authentication": "api-key", "credentialId": credential_id})
    )
    headers = {"Idempotency-Key": "secret-value-1"}
    assert client.post(url(token), json={}, headers=headers).status_code == 401


def test_a_repeated_delivery_at_the_plan_limit_gets_the_first_run_and_refusals_are_logged(
    client: FlaskClient,
) -> None:
    owner = make_account()
    _, token = active_hook(client, owner, hook_flow())
    first = client.post(url(token), json={"a": 1}, headers={"Idempotency-Key": "once"})
    db.session.execute(
        Workspace.__table__.update()
        .where(Workspace.id == owner.workspace_id)
        .values(executions_used=10**9)
    )
    db.session.commit()
    again = client.post(url(token), json={"a": 1}, headers={"Idempotency-Key": "once"})
    assert again.status_code == 202
    assert again.get_json()["executionId"] == first.get_json()["executionId"]
    refused = client.post(url(token), json={"a": 2})
    assert refused.status_code == 402
    db.session.expire_all()
    statuses = [
        log.response_status
        for log in db.session.scalars(select(WebhookLog).order_by(WebhookLog.created_at))
    ]
    assert statuses == [202, 202, 402]


def test_head_only_when_listed_and_no_automatic_options(client: FlaskClient, app: Flask) -> None:
    owner = make_account()
    _, token = active_hook(client, owner, hook_flow({"methods": ["GET"]}))
    assert client.head(url(token)).status_code == 405
    # OPTIONS says nothing about a token: the same answer for a live and an unknown one
    live, unknown = client.options(url(token)), client.options(url("u" * 43))
    same = [dict(r.headers) | {"X-Request-Id": "-"} for r in (live, unknown)]  # ids differ
    assert (live.status_code, same[0]) == (unknown.status_code, same[1])
    assert client.get(url(token)).status_code == 202


def test_a_respond_node_cannot_set_unsafe_or_malformed_headers() -> None:
    reply = node_reply(
        {
            "status": 200,
            "headers": {
                "X-Ok": "fine",
                "Set-Cookie": "session=stolen",
                "Access-Control-Allow-Origin": "*",
                "X-Split": "a\r\nInjected: yes",
                "Bad Name": "x",
                "X-Control": "a\x01b",
                "Content-Security-Policy": "default-src *",
                "Content-Length": "1",
            },
            "body": "<script>alert(1)</script>",
        }
    )
    assert set(reply.headers) == {"X-Ok", "X-Content-Type-Options", "Content-Security-Policy"}
    assert reply.headers["Content-Security-Policy"] == "sandbox"


def test_a_cron_with_no_such_date_is_refused_at_activation(client: FlaskClient) -> None:
    owner = make_account()
    flow = {
        "nodes": [
            {
                "id": "s",
                "type": "schedule",
                "params": {"interval": "day", "value": 1, "cron": "0 0 30 2 *"},
            }
        ],
        "connections": [],
    }
    created = client.post(
        "/api/workflows", json={"name": "Feb", "definition": flow}, headers=owner.headers
    )
    workflow_id = created.get_json()["workflow"]["id"]
    response = client.patch(
        f"/api/workflows/{workflow_id}/status", json={"active": True}, headers=owner.headers
    )
    assert response.status_code == 422 and "never comes due" in response.get_json()["message"]


def test_tokens_are_masked_also_behind_doubled_slashes() -> None:
    token = "T" * 43
    for path in (
        f"/api/webhooks/execute//{token}",
        f"/api//webhooks/execute/{token}",
        f"//forms/{token}",
        f"/forms//{token}",
        f"GET /api/forms/{token}/x HTTP/1.1",
    ):
        assert token not in tokens.mask_in_path(path), path


def test_more_files_than_allowed_is_a_413_and_logged(client: FlaskClient) -> None:
    import io

    from fluxolab.webhooks.bodies import MAX_FILES

    owner = make_account()
    workflow_id, token = active_hook(client, owner, hook_flow())
    files = {f"f{n}": (io.BytesIO(b"x"), f"{n}.txt", "text/plain") for n in range(MAX_FILES + 1)}
    response = client.post(url(token), data=files, content_type="multipart/form-data")
    assert response.status_code == 413 and isinstance(response.get_json()["message"], str)
    statuses = [
        row.response_status
        for row in db.session.scalars(
            select(WebhookLog)
            .join(Webhook, Webhook.id == WebhookLog.webhook_id)
            .where(Webhook.workflow_id == uuid.UUID(workflow_id))
        )
    ]
    runs = db.session.scalars(
        select(Execution).where(Execution.workflow_id == uuid.UUID(workflow_id))
    ).all()
    assert statuses == [413] and runs == []
