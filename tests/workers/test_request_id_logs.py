"""One request id follows a run from the API call to the worker's log lines, the execution
row and the execution detail; the worker writes one JSON line per task."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask

from fluxolab import dispatch
from fluxolab.extensions import db
from fluxolab.models import Execution
from tests.factories import make_account
from tests.webhooks.helpers import active_hook, hook_flow, url
from tests.workers.conftest import WorkerProcess, wait_for_status

pytestmark = pytest.mark.worker

GENERATED_TASK_ID = re.compile(r"[0-9a-f-]{36}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
FLOW = {
    "nodes": [{"id": "t", "type": "manual"}, {"id": "end", "type": "no-op", "name": "End"}],
    "connections": [{"from": "t", "to": "end"}],
}


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines of a process's output (Celery's banner is plain text)."""
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def task_line(worker: WorkerProcess, execution_id: str, timeout: float = 15) -> dict[str, Any]:
    """The worker's ``fluxolab.task`` line of the run (it follows the run's commit)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            line
            for line in json_lines(worker.log())
            if line["logger"] == "fluxolab.task" and line.get("execution_id") == execution_id
        ]
        if found or time.monotonic() > deadline:
            assert len(found) == 1, worker.log()[-3000:]
            return found[0]
        time.sleep(0.1)


def test_the_request_id_reaches_the_worker_log_the_row_and_the_detail(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(LOG_FORMAT="json")
    with app.app_context():
        account = make_account()
        client = app.test_client()
        created = client.post(
            "/api/workflows", json={"name": "W", "definition": FLOW}, headers=account.headers
        )
        workflow_id = created.get_json()["workflow"]["id"]
        run = client.post(
            f"/api/workflows/{workflow_id}/run",
            json={},
            headers={**account.headers, "X-Request-Id": "trace-run-1"},
        )
        assert run.status_code == 202 and run.headers["X-Request-Id"] == "trace-run-1"
        execution_id = run.get_json()["executionId"]
    execution = wait_for_status(app, uuid.UUID(execution_id))
    assert execution.status == "succeeded" and execution.request_id == "trace-run-1"

    line = task_line(worker, execution_id)
    assert TIMESTAMP.fullmatch(line.pop("timestamp"))
    assert isinstance(line.pop("duration_ms"), float)
    assert GENERATED_TASK_ID.fullmatch(line.pop("task_id"))
    assert line == {
        "level": "INFO",
        "logger": "fluxolab.task",
        "message": "task executions.run success",
        "request_id": "trace-run-1",
        "workspace_id": str(account.workspace_id),
        "task": "executions.run",
        "execution_id": execution_id,
        "queue": "executions",
        "retries": 0,
        "redelivered": False,
        "delivery_count": 1,
        "state": "SUCCESS",
    }
    outcome = [
        entry
        for entry in json_lines(worker.log())
        if entry["message"] == f"execution {execution_id}: succeeded"
    ]
    assert outcome and outcome[0]["request_id"] == "trace-run-1"
    with app.app_context():
        detail = app.test_client().get(f"/api/executions/{execution_id}", headers=account.headers)
        assert detail.get_json()["execution"]["requestId"] == "trace-run-1"


def test_a_webhook_call_is_followed_to_the_worker_by_its_generated_id(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(LOG_FORMAT="json")
    with app.app_context():
        account = make_account()
        client = app.test_client()
        _, token = active_hook(client, account, hook_flow())
        called = client.post(url(token), json={"n": 1})
        assert called.status_code == 202, called.get_json()
        request_id = called.headers["X-Request-Id"]
        execution_id = called.get_json()["executionId"]
    execution = wait_for_status(app, uuid.UUID(execution_id))
    assert execution.status == "succeeded" and execution.request_id == request_id
    assert task_line(worker, execution_id)["request_id"] == request_id
    assert token not in worker.log()


def test_a_run_the_sweeper_republishes_keeps_its_stored_request_id(
    app: Flask, start_worker: Callable[..., WorkerProcess], redis_url: str
) -> None:
    """A queued run whose message was lost is published again without a header: the
    worker logs the request id stored on the row."""
    with app.app_context():
        account = make_account()
        client = app.test_client()
        created = client.post(
            "/api/workflows", json={"name": "W", "definition": FLOW}, headers=account.headers
        )
        workflow_id = created.get_json()["workflow"]["id"]
        run = client.post(
            f"/api/workflows/{workflow_id}/run",
            json={},
            headers={**account.headers, "X-Request-Id": "trace-swept"},
        )
        execution_id = run.get_json()["executionId"]
        # the message of the request is dropped; a publish outside any request replaces it
        redis.Redis.from_url(redis_url).delete("executions")
        assert dispatch.send_runs([execution_id])
    worker = start_worker(LOG_FORMAT="json")
    execution = wait_for_status(app, uuid.UUID(execution_id))
    assert execution.status == "succeeded"
    with app.app_context():
        assert db.session.get(Execution, uuid.UUID(execution_id)) is not None
    assert task_line(worker, execution_id)["request_id"] == "trace-swept"
