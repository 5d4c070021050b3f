"""Request ids: echoed when valid, replaced when not, made when absent, on every response;
carried by the task messages a request publishes, stored on its executions, shown in the
execution detail."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from fluxolab import dispatch, logs, requestid
from fluxolab.extensions import db
from fluxolab.models import Execution
from tests.api.test_executions import new_workflow, start
from tests.factories import make_account
from tests.webhooks.helpers import active_hook, hook_flow, url

GENERATED = re.compile(r"[0-9a-f]{32}")
MANUAL = {"nodes": [{"id": "t", "type": "manual"}], "connections": []}


@pytest.mark.parametrize(
    "value", ["abc", "A" * 128, "req-1.2_3:4", "0", "5f3c9d1e-7b7a-4d7e-9a38-0b0b6f1f2a11"]
)
def test_a_valid_request_id_is_echoed(client: FlaskClient, value: str) -> None:
    response = client.get("/api/health", headers={"X-Request-Id": value})
    assert response.headers["X-Request-Id"] == value


@pytest.mark.parametrize(
    "value", ["", "A" * 129, "has space", "semi;colon", 'quote"', "a/b", "é", "x\ty", "<script>"]
)
def test_an_invalid_request_id_is_replaced_never_reflected(client: FlaskClient, value: str) -> None:
    response = client.get("/api/health", headers={"X-Request-Id": value})
    answered = response.headers["X-Request-Id"]
    assert GENERATED.fullmatch(answered), answered
    assert answered != value
    assert response.headers.getlist("X-Request-Id") == [answered]


def test_a_request_id_is_made_when_absent_and_differs_per_request(client: FlaskClient) -> None:
    first = client.get("/api/health").headers["X-Request-Id"]
    second = client.get("/api/health").headers["X-Request-Id"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/no-such-route", 404),
        ("GET", "/api/workflows", 401),
        ("DELETE", "/api/health", 405),
        ("POST", "/api/auth/login", 400),  # no JSON body
        ("GET", f"/api/webhooks/execute/{'0' * 64}", 404),
    ],
)
def test_errors_carry_the_request_id(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method, headers={"X-Request-Id": "err-1"})
    assert response.status_code == status
    assert response.headers["X-Request-Id"] == "err-1"
    assert isinstance(response.get_json()["message"], str)


def test_a_body_too_large_is_a_413_with_the_request_id(app: Flask, client: FlaskClient) -> None:
    size = int(app.config["MAX_CONTENT_LENGTH"]) + 1
    response = client.post(
        "/api/auth/login",
        data=b"x" * size,
        content_type="application/json",
        headers={"X-Request-Id": "big-1"},
    )
    assert response.status_code == 413
    assert response.headers["X-Request-Id"] == "big-1"


def _queued_messages(redis_url: str, queue: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(redis_url)
    return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]


def _message_of(redis_url: str, execution_id: str) -> dict[str, Any]:
    found = [
        message
        for message in _queued_messages(redis_url, "executions")
        if execution_id in message["headers"].get("argsrepr", "")
    ]
    assert len(found) == 1, found
    return found[0]


def test_a_run_stores_the_request_id_shows_it_and_sends_it_to_the_worker(
    client: FlaskClient, redis_url: str
) -> None:
    account = make_account()
    workflow_id = new_workflow(client, account, MANUAL)
    response = client.post(
        f"/api/workflows/{workflow_id}/run",
        json={},
        headers={**account.headers, "X-Request-Id": "run-42"},
    )
    assert response.status_code == 202
    assert response.headers["X-Request-Id"] == "run-42"
    execution_id = response.get_json()["executionId"]

    execution = db.session.get(Execution, uuid.UUID(execution_id))
    assert execution is not None and execution.request_id == "run-42"
    assert _message_of(redis_url, execution_id)["headers"]["request_id"] == "run-42"
    detail = client.get(f"/api/executions/{execution_id}", headers=account.headers)
    assert detail.get_json()["execution"]["requestId"] == "run-42"
    assert detail.headers["X-Request-Id"] != "run-42"  # each request has its own


def test_a_run_without_a_header_stores_the_generated_id(client: FlaskClient) -> None:
    account = make_account()
    execution_id = start(client, account, new_workflow(client, account, MANUAL), {})
    execution = db.session.get(Execution, uuid.UUID(execution_id))
    assert execution is not None
    assert execution.request_id is not None and GENERATED.fullmatch(execution.request_id)


def test_a_webhook_call_answers_stores_and_publishes_its_request_id(
    client: FlaskClient, redis_url: str
) -> None:
    account = make_account()
    _, token = active_hook(client, account, hook_flow())
    response = client.post(url(token), json={"n": 1}, headers={"X-Request-Id": "hook-7"})
    assert response.status_code == 202, response.get_json()
    assert response.headers["X-Request-Id"] == "hook-7"
    execution_id = response.get_json()["executionId"]
    execution = db.session.get(Execution, uuid.UUID(execution_id))
    assert execution is not None and execution.request_id == "hook-7"
    assert _message_of(redis_url, execution_id)["headers"]["request_id"] == "hook-7"


def test_send_task_publishes_carry_the_current_request_id(app: Flask, redis_url: str) -> None:
    redis.Redis.from_url(redis_url).delete("maintenance")
    with app.app_context():
        with logs.bound(request_id="maint-1"):
            assert dispatch.enqueue_maintenance("maintenance.prune_node_tests")
        assert dispatch.enqueue_maintenance("maintenance.prune_node_tests")
    messages = _queued_messages(redis_url, "maintenance")
    redis.Redis.from_url(redis_url).delete("maintenance")
    assert sorted(str(m["headers"].get("request_id")) for m in messages) == ["None", "maint-1"]


def test_rules() -> None:
    assert requestid.accept(None) != requestid.accept(None)
    assert requestid.accept("ok") == "ok"
    assert not requestid.is_valid("")
    assert not requestid.is_valid("a\nb")
