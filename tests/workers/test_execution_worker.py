"""Executions through a real Celery worker process, Redis and PostgreSQL."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from bench._support import WORKFLOW
from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStep, Workflow
from tests.factories import make_account
from tests.workers.conftest import WorkerProcess, wait_for_status

pytestmark = pytest.mark.worker

# The 5-node benchmark workflow (manual -> set -> if -> set -> no-op), defined once.
FIVE_NODES = WORKFLOW

SLOW_AFTER_SIDE_EFFECT = {
    "nodes": [
        {"id": "t", "type": "manual"},
        {
            "id": "respond",
            "type": "respond-to-webhook",
            "params": {"status": 200, "json": {"ok": 1}},
        },
        {
            "id": "slow",
            "type": "code-execute",
            "params": {"language": "python", "code": "import time\ntime.sleep(4)\nreturn items"},
        },
        {"id": "end", "type": "no-op"},
    ],
    "connections": [
        {"from": "t", "to": "respond"},
        {"from": "respond", "to": "slow"},
        {"from": "slow", "to": "end"},
    ],
}


def create_workflow(app: Flask, definition: dict[str, Any]) -> tuple[Any, uuid.UUID]:
    """Register an account and create a workflow over HTTP (committed)."""
    with app.app_context():
        account = make_account()
        client = app.test_client()
        response = client.post(
            "/api/workflows", json={"name": "W", "definition": definition}, headers=account.headers
        )
        assert response.status_code == 201, response.get_json()
        return account, uuid.UUID(response.get_json()["workflow"]["id"])


def run(app: Flask, account: Any, workflow_id: uuid.UUID, body: Any = None) -> uuid.UUID:
    with app.app_context():
        response = app.test_client().post(
            f"/api/workflows/{workflow_id}/run", json=body, headers=account.headers
        )
        assert response.status_code == 202, response.get_json()
        return uuid.UUID(response.get_json()["executionId"])


def steps_of(app: Flask, execution_id: uuid.UUID) -> list[str]:
    with app.app_context():
        rows = db.session.query(ExecutionStep).filter_by(execution_id=execution_id)
        return [step.node_id for step in rows.order_by(ExecutionStep.seq)]


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_manual_run_succeeds_through_the_worker(
    app: Flask, start_worker: Callable[..., WorkerProcess], pool: str
) -> None:
    start_worker(pool=pool)
    account, workflow_id = create_workflow(app, FIVE_NODES)
    with app.app_context():
        edited = db.session.get(Workflow, workflow_id).updated_at  # type: ignore[union-attr]
    execution_id = run(app, account, workflow_id, {"n": 5})
    execution = wait_for_status(app, execution_id)
    assert execution.status == "succeeded", execution.error
    assert steps_of(app, execution_id) == ["t", "s1", "if", "s2", "end"]
    assert execution.output_items == [{"json": {"n": 5, "big": "yes"}}]
    with app.app_context():
        workflow = db.session.get(Workflow, workflow_id)
        assert workflow is not None and workflow.execution_count == 1
        assert workflow.last_executed_at == execution.finished_at
        assert workflow.updated_at == edited  # a run is not an edit


def test_second_delivery_of_a_finished_execution_is_a_no_op(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker()
    account, workflow_id = create_workflow(app, FIVE_NODES)
    execution_id = run(app, account, workflow_id, {"n": 5})
    wait_for_status(app, execution_id)
    with app.app_context():
        app.extensions["celery"].send_task("executions.run", args=[str(execution_id)])
    time.sleep(1.5)
    assert steps_of(app, execution_id) == ["t", "s1", "if", "s2", "end"]
    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        assert execution is not None and execution.deliveries == 1


def _wait_running(app: Flask, execution_id: uuid.UUID, deliveries: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with app.app_context():
            execution = db.session.get(Execution, execution_id)
            assert execution is not None
            if execution.status == "running" and execution.deliveries == deliveries:
                return
            db.session.remove()
        time.sleep(0.05)
    raise AssertionError(f"execution never ran delivery {deliveries}")


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_worker_killed_mid_run_finishes_exactly_once_after_redelivery(
    app: Flask, start_worker: Callable[..., WorkerProcess], pool: str
) -> None:
    first = start_worker(pool=pool)
    account, workflow_id = create_workflow(app, SLOW_AFTER_SIDE_EFFECT)
    execution_id = run(app, account, workflow_id)
    _wait_running(app, execution_id, 1)
    time.sleep(1.0)  # inside the slow code node, after the side effect was checkpointed
    first.kill(signal.SIGKILL)
    start_worker(pool=pool)
    execution = wait_for_status(app, execution_id, timeout=45)
    assert execution.status == "succeeded", execution.error
    assert execution.deliveries == 2
    assert steps_of(app, execution_id) == ["t", "respond", "slow", "end"]
    assert execution.response is not None
    assert (execution.response["status"], execution.response["body"]) == (200, {"ok": 1})


def test_execution_that_kills_every_worker_fails_after_max_deliveries(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    account, workflow_id = create_workflow(app, SLOW_AFTER_SIDE_EFFECT)
    execution_id = run(app, account, workflow_id)
    for delivery in (1, 2):
        worker = start_worker(EXECUTION_MAX_DELIVERIES="2")
        _wait_running(app, execution_id, delivery)
        worker.kill(signal.SIGKILL)
    start_worker(EXECUTION_MAX_DELIVERIES="2")
    execution = wait_for_status(app, execution_id, timeout=45)
    assert execution.status == "failed"
    assert execution.error is not None and execution.error["type"] == "poison"
