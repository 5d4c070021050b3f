"""Each webhook response mode end to end: the session app's intake and a real Celery worker.

The API waits on the completion signal over Redis pub/sub, as in production.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Execution
from tests.factories import Account, make_account
from tests.webhooks.helpers import active_hook, hook_flow, url
from tests.workers.conftest import WorkerProcess, wait_for_status

pytestmark = pytest.mark.worker

SET_NODE = {
    "id": "set",
    "type": "set",
    "name": "Shape",
    "params": {
        "fields": [
            {"name": "total", "value": "{{ $json.body.n * 2 }}"},
            {"name": "note", "value": "{{ $json.body.note }}"},
            {"name": "proto", "value": "{{ $json.body.payload }}"},
        ]
    },
}
RESPOND = {
    "id": "respond",
    "type": "respond-to-webhook",
    "name": "Answer",
    "params": {"status": 201, "json": {"ok": True}, "headers": {"X-Flow": "yes"}},
}


def code_node(seconds: float, fail: bool = False) -> dict[str, Any]:
    code = f"import time\ntime.sleep({seconds})\n" + ("raise ValueError('boom')\n" if fail else "")
    code += "return items"
    return {
        "id": f"code{uuid.uuid4().hex[:4]}",
        "type": "code-execute",
        "name": "Slow",
        "params": {"language": "python", "code": code},
    }


@pytest.fixture()
def api(app: Flask, committed_db: None, hub_reset: None) -> Iterator[FlaskClient]:
    with app.app_context():
        yield app.test_client()


@pytest.fixture()
def owner(api: FlaskClient) -> Account:
    return make_account()


def _timed(client: FlaskClient, token: str, body: dict[str, Any]) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.post(url(token), json=body)
    return response, time.monotonic() - started


def test_immediately_acknowledges_then_the_worker_runs_it(
    app: Flask, api: FlaskClient, owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    _, token = active_hook(api, owner, hook_flow(tail=[SET_NODE]))
    response, _ = _timed(api, token, {"n": 21})
    assert response.status_code == 202
    run_id = uuid.UUID(response.get_json()["executionId"])
    assert wait_for_status(app, run_id).status == "succeeded"
    status_path = f"/api/webhooks/execute/{token}/executions/{run_id}"
    polled = api.get(status_path).get_json()
    assert polled["status"] == "succeeded" and polled["data"][0]["total"] == 42


def test_when_complete_answers_the_last_nodes_items(
    api: FlaskClient, owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    flow = hook_flow({"respondMode": "on_last_node"}, tail=[SET_NODE])
    _, token = active_hook(api, owner, flow)
    _timed(api, token, {"n": 1})  # the worker's first task imports and connects
    payload = {"n": 21, "note": "{{ 7 * 6 }}", "payload": {"__proto__": {"polluted": 1}}}
    response, elapsed = _timed(api, token, payload)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "completed" and body["data"][0]["total"] == 42
    # the payload is data: expressions inside it come out as the text they were
    assert body["data"][0]["note"] == "{{ 7 * 6 }}"
    assert body["data"][0]["proto"] == {"__proto__": {"polluted": 1}}
    assert elapsed < 5, "woken by the completion signal"


def test_when_complete_of_a_failing_run_is_execution_failed(
    api: FlaskClient, owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    flow = hook_flow({"respondMode": "when_complete"}, tail=[code_node(0, fail=True)])
    _, token = active_hook(api, owner, flow)
    response, _ = _timed(api, token, {})
    assert response.status_code == 500
    body = response.get_json()
    assert body["code"] == "execution_failed" and body["executionStatus"] == "failed"
    assert isinstance(body["message"], str) and "boom" not in body["message"]


def test_when_complete_past_the_wait_falls_back_to_202(
    app: Flask,
    api: FlaskClient,
    owner: Account,
    start_worker: Callable[..., WorkerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "WEBHOOK_WAIT_SECONDS", 1.0)
    start_worker(pool="solo")
    flow = hook_flow({"respondMode": "when_complete"}, tail=[code_node(4)])
    _, token = active_hook(api, owner, flow)
    response, elapsed = _timed(api, token, {})
    assert response.status_code == 202 and 0.9 < elapsed < 3
    run_id = uuid.UUID(response.get_json()["executionId"])
    assert wait_for_status(app, run_id).status == "succeeded"


def test_via_node_answers_with_the_respond_node_before_the_run_ends(
    app: Flask, api: FlaskClient, owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    flow = hook_flow({"respondMode": "via_node"}, tail=[RESPOND, code_node(6)])
    workflow_id, token = active_hook(api, owner, flow)
    response, _ = _timed(api, token, {})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json() == {"ok": True} and response.headers["X-Flow"] == "yes"
    with app.app_context():
        run = db.session.scalars(
            select(Execution).where(Execution.workflow_id == uuid.UUID(workflow_id))
        ).one()
        assert run.status == "running", "answered when the node ran, not when the run ended"
    assert wait_for_status(app, run.id).status == "succeeded"


def test_waiting_modes_over_the_waiter_cap_answer_202_at_once(
    app: Flask,
    api: FlaskClient,
    owner: Account,
    start_worker: Callable[..., WorkerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "MAX_WAITERS_PER_PROCESS", 0)
    start_worker(pool="solo")
    flow = hook_flow({"respondMode": "when_complete"}, tail=[SET_NODE])
    _, token = active_hook(api, owner, flow)
    response, elapsed = _timed(api, token, {"n": 1})
    assert response.status_code == 202 and elapsed < 1
    run_id = uuid.UUID(response.get_json()["executionId"])
    assert wait_for_status(app, run_id).status == "succeeded"
