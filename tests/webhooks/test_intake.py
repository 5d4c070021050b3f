"""The public intake through the test client: auth modes, bodies, limits, logs, idempotency."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Execution, Webhook, WebhookLog
from fluxolab.triggers import tokens
from fluxolab.webhooks import auth
from tests.factories import Account, make_account
from tests.webhooks.helpers import active_hook, credential, hook_flow, url


@pytest.fixture()
def owner() -> Account:
    return make_account()


def _executions(workflow_id: str) -> list[Execution]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(Execution).where(Execution.workflow_id == uuid.UUID(workflow_id)))
    )


def _logs(workflow_id: str) -> list[WebhookLog]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(WebhookLog)
            .join(Webhook, Webhook.id == WebhookLog.webhook_id)
            .where(Webhook.workflow_id == uuid.UUID(workflow_id))
            .order_by(WebhookLog.created_at)
        )
    )


def test_immediate_acknowledgement_stores_the_run_and_its_log(
    client: FlaskClient, owner: Account
) -> None:
    workflow_id, token = active_hook(client, owner, hook_flow())
    response = client.post(
        url(token) + "?source=shop&tag=a&tag=b",
        json={"order": 7, "note": "{{ $json.order }}", "__proto__": {"x": 1}},
        headers={"Authorization": "Bearer not-checked", "X-Trace": "t1"},
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "accepted"
    assert body["statusUrl"].endswith(
        f"/api/webhooks/execute/{token}/executions/{body['executionId']}"
    )
    (execution,) = _executions(workflow_id)
    assert str(execution.id) == body["executionId"]
    assert (execution.mode, execution.status, execution.trigger_node_id) == (
        "webhook",
        "queued",
        "hook",
    )
    item = execution.input_items[0]["json"]
    assert item["body"] == {"order": 7, "note": "{{ $json.order }}", "__proto__": {"x": 1}}
    assert item["query"] == {"source": "shop", "tag": ["a", "b"]}
    assert item["method"] == "POST" and item["receivedAt"].endswith("Z")
    assert item["headers"]["authorization"] == "[redacted]"
    assert item["headers"]["x-trace"] == "t1"
    (log,) = _logs(workflow_id)
    assert (log.method, log.path, log.response_status, log.execution_id) == (
        "POST",
        "orders",
        202,
        execution.id,
    )
    masked = {**body, "statusUrl": body["statusUrl"].replace(token, tokens.mask(token))}
    assert log.response_body == masked and log.headers["authorization"] == "[redacted]"
    assert json.loads(log.body or "")["order"] == 7


def test_unknown_malformed_disabled_and_deleted_tokens_are_the_same_404(
    client: FlaskClient, owner: Account
) -> None:
    workflow_id, token = active_hook(client, owner, hook_flow())
    other = token[:-1] + ("B" if token.endswith("A") else "A")  # a different, well-formed one
    answers = [client.post(url(t), json={}) for t in ("x" * 43, "short", other)]
    client.patch(
        f"/api/workflows/{workflow_id}/status", json={"active": False}, headers=owner.headers
    )
    answers.append(client.post(url(token), json={}))
    bodies = {json.dumps(a.get_json(), sort_keys=True) for a in answers}
    assert {a.status_code for a in answers} == {404} and len(bodies) == 1
    assert _logs(workflow_id) == [] and _executions(workflow_id) == []


def test_method_size_and_content_type_refusals_are_logged(
    client: FlaskClient, owner: Account, app: Flask
) -> None:
    workflow_id, token = active_hook(client, owner, hook_flow())
    db.session.execute(
        Webhook.__table__.update()
        .where(Webhook.workflow_id == uuid.UUID(workflow_id))
        .values(max_body_bytes=100, content_types=["application/json"])
    )
    got = client.get(url(token))
    assert got.status_code == 405 and got.headers["Allow"] == "POST"
    assert client.post(url(token), json={"a": "x" * 200}).status_code == 413
    text = client.post(url(token), data="hi", content_type="text/plain")
    assert text.status_code == 415 and isinstance(text.get_json()["message"], str)
    bad = client.post(url(token), data="{nope", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid_json"
    statuses = [log.response_status for log in _logs(workflow_id)]
    assert statuses == [405, 413, 415, 400]
    assert _executions(workflow_id) == []


def test_bodies_form_multipart_text_and_bytes(client: FlaskClient, owner: Account) -> None:
    workflow_id, token = active_hook(client, owner, hook_flow())
    client.post(url(token), data={"a": "1", "b": "two"})
    client.post(
        url(token),
        data={
            "name": "doc",
            "file": (__import__("io").BytesIO(b"%PDF-1"), "a.pdf", "application/pdf"),
        },
        content_type="multipart/form-data",
    )
    client.post(url(token), data="hello", content_type="text/plain; charset=utf-8")
    client.post(url(token), data=b"\x00\xff\x10", content_type="application/octet-stream")
    runs = sorted(_executions(workflow_id), key=lambda e: e.created_at)
    items = [run.input_items[0] for run in runs]
    assert items[0]["json"]["body"] == {"a": "1", "b": "two"}
    assert items[1]["json"]["body"] == {"name": "doc"}
    upload = items[1]["binary"]["file"]
    assert (upload["fileName"], upload["mimeType"], upload["fileSize"]) == (
        "a.pdf",
        "application/pdf",
        6,
    )
    assert base64.b64decode(upload["data"]) == b"%PDF-1"
    assert items[2]["json"]["body"] == "hello"
    assert base64.b64decode(items[3]["binary"]["data"]["data"]) == b"\x00\xff\x10"


def _hook_with(
    client: FlaskClient, owner: Account, mode: str, kind: str, secret: dict[str, Any]
) -> str:
    credential_id = credential(client, owner, kind, secret)
    _, token = active_hook(
        client, owner, hook_flow({"authentication": mode, "credentialId": credential_id})
    )
    return token


@pytest.mark.parametrize(
    ("mode", "kind", "secret", "good", "bad"),
    [
        (
            "basic",
            "http-basic",
            {"user": "ana", "password": "s3cret-pass"},
            {"Authorization": "Basic " + base64.b64encode(b"ana:s3cret-pass").decode()},
            [
                {"Authorization": "Basic " + base64.b64encode(b"ana:wrong").decode()},
                {"Authorization": "Basic !!!not-base64"},
                {"Authorization": "Basic"},
                {},
            ],
        ),
        (
            "bearer",
            "http-bearer",
            {"token": "tok-0123456789"},
            {"Authorization": "Bearer tok-0123456789"},
            [{"Authorization": "Bearer tok-012345678"}, {"Authorization": "tok-0123456789"}, {}],
        ),
        (
            "api-key",
            "http-header",
            {"name": "X-Hook-Key", "value": "key-0123456789"},
            {"X-Hook-Key": "key-0123456789"},
            [{"X-Hook-Key": "key-bad"}, {"X-Other": "key-0123456789"}, {}],
        ),
    ],
)
def test_header_auth_modes(
    client: FlaskClient,
    owner: Account,
    mode: str,
    kind: str,
    secret: dict[str, Any],
    good: dict[str, str],
    bad: list[dict[str, str]],
) -> None:
    token = _hook_with(client, owner, mode, kind, secret)
    for headers in bad:
        refused = client.post(url(token), json={}, headers=headers)
        assert refused.status_code == 401, (headers, refused.get_json())
        assert isinstance(refused.get_json()["message"], str)
    accepted = client.post(url(token), json={}, headers=good)
    assert accepted.status_code == 202
    db.session.expire_all()
    logged = db.session.scalars(select(WebhookLog).order_by(WebhookLog.created_at)).all()
    assert [log.response_status for log in logged][-len(bad) - 1 :] == [401] * len(bad) + [202]
    for log in logged:
        for value in log.headers.values():
            assert "0123456789" not in value and "s3cret" not in value


def _signed(
    secret: str, body: bytes, msg_id: str = "msg_1", stamp: int | None = None
) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": auth.sign(secret, msg_id, stamp, body),
        "Content-Type": "application/json",
    }


def test_standard_webhooks_signatures(client: FlaskClient, owner: Account) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    previous = "an-older-secret-0123"
    token = _hook_with(
        client, owner, "hmac", "webhook-hmac", {"secret": secret, "previousSecret": previous}
    )
    body = b'{"event":"paid"}'
    assert client.post(url(token), data=body, headers=_signed(secret, body)).status_code == 202
    rotated = _signed(previous, body, "msg_2")
    rotated["webhook-signature"] = "v1,bogus " + rotated["webhook-signature"]
    assert client.post(url(token), data=body, headers=rotated).status_code == 202
    old = _signed(secret, body, "msg_3", int(time.time()) - 301)
    future = _signed(secret, body, "msg_4", int(time.time()) + 301)
    tampered = _signed(secret, body, "msg_5")
    cases = [
        (old, body),
        (future, body),
        (tampered, b'{"event":"refunded"}'),
        ({**_signed(secret, body, "msg_6"), "webhook-signature": "v1,%%%"}, body),
        ({**_signed(secret, body, "msg_7"), "webhook-timestamp": "12e3"}, body),
        ({**_signed(secret, body, "msg_8"), "webhook-signature": "v2,abc"}, body),
        ({"Content-Type": "application/json"}, body),
    ]
    for headers, data in cases:
        refused = client.post(url(token), data=data, headers=headers)
        assert refused.status_code == 401, headers
    # the webhook-id is the idempotency key: a redelivery gets the first execution
    first = client.post(url(token), data=body, headers=_signed(secret, body, "msg_9"))
    again = client.post(url(token), data=body, headers=_signed(secret, body, "msg_9"))
    assert first.status_code == again.status_code == 202
    assert first.get_json()["executionId"] == again.get_json()["executionId"]


def test_idempotency_key_returns_the_first_run_and_conflicts_on_another_body(
    client: FlaskClient, owner: Account
) -> None:
    workflow_id, token = active_hook(client, owner, hook_flow())
    headers = {"Idempotency-Key": "order-7"}
    first = client.post(url(token), json={"a": 1}, headers=headers)
    again = client.post(url(token), json={"a": 1}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.get_json()["executionId"] == again.get_json()["executionId"]
    other = client.post(url(token), json={"a": 2}, headers=headers)
    assert other.status_code == 409 and other.get_json()["code"] == "idempotency_conflict"
    assert len(_executions(workflow_id)) == 1
    statuses = [log.response_status for log in _logs(workflow_id)]
    assert statuses == [202, 202, 409]
    too_long = client.post(url(token), json={}, headers={"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 400


def test_never_mode_answers_204_and_still_runs(client: FlaskClient, owner: Account) -> None:
    workflow_id, token = active_hook(client, owner, hook_flow({"respondMode": "never"}))
    response = client.post(url(token), json={})
    assert response.status_code == 204 and response.data == b""
    assert len(_executions(workflow_id)) == 1


def test_immediate_alias_and_plan_quota(client: FlaskClient, owner: Account) -> None:
    workflow_id, token = active_hook(client, owner, hook_flow({"respondMode": "immediate"}))
    assert client.post(url(token), json={}).status_code == 202
    from fluxolab.models import Workspace

    db.session.execute(
        Workspace.__table__.update()
        .where(Workspace.id == owner.workspace_id)
        .values(executions_used=10**9)
    )
    refused = client.post(url(token), json={})
    assert refused.status_code == 402 and isinstance(refused.get_json()["message"], str)
    assert len(_executions(workflow_id)) == 1


def test_status_poll_requires_the_webhooks_credentials_and_its_own_runs(
    client: FlaskClient, owner: Account
) -> None:
    token = _hook_with(client, owner, "bearer", "http-bearer", {"token": "tok-0123456789"})
    auth_header = {"Authorization": "Bearer tok-0123456789"}
    accepted = client.post(url(token), json={}, headers=auth_header).get_json()
    status_path = accepted["statusUrl"].split("localhost", 1)[-1]
    assert client.get(status_path).status_code == 401
    polled = client.get(status_path, headers=auth_header)
    assert polled.status_code == 200
    assert polled.get_json()["status"] == "queued"
    assert polled.get_json()["executionId"] == accepted["executionId"]
    _, other_token = active_hook(client, owner, hook_flow())
    foreign = f"/api/webhooks/execute/{other_token}/executions/{accepted['executionId']}"
    assert client.get(foreign).status_code == 404
    random_run = f"/api/webhooks/execute/{token}/executions/{uuid.uuid4()}"
    assert client.get(random_run, headers=auth_header).status_code == 404
