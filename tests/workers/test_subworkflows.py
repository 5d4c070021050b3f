"""Execute Workflow through a real worker: linked sub-executions, inline or queued."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStep
from tests.factories import Account, make_account
from tests.workers.conftest import WorkerProcess, wait_for_status

pytestmark = pytest.mark.worker

CHILD = {
    "nodes": [
        {"id": "t", "type": "manual", "name": "Start"},
        {
            "id": "double",
            "type": "set",
            "name": "Double",
            "params": {"fields": [{"name": "doubled", "value": "{{ $json.n * 2 }}"}]},
        },
    ],
    "connections": [{"from": "t", "to": "double"}],
}
FAILING_CHILD = {
    "nodes": [
        {"id": "t", "type": "manual"},
        {"id": "stop", "type": "stop-and-error", "params": {"message": "child broke"}},
    ],
    "connections": [{"from": "t", "to": "stop"}],
}


def calling(workflow_id: Any, **params: Any) -> dict[str, Any]:
    """A parent: manual -> Execute Workflow(workflow_id) -> no-op."""
    return {
        "nodes": [
            {"id": "t", "type": "manual"},
            {
                "id": "call",
                "type": "execute-workflow",
                "name": "Call child",
                "params": {"workflowId": str(workflow_id), **params},
            },
            {"id": "end", "type": "no-op"},
        ],
        "connections": [{"from": "t", "to": "call"}, {"from": "call", "to": "end"}],
    }


def create(app: Flask, account: Account, definition: dict[str, Any]) -> uuid.UUID:
    with app.app_context():
        response = app.test_client().post(
            "/api/workflows", json={"name": "W", "definition": definition}, headers=account.headers
        )
        assert response.status_code == 201, response.get_json()
        return uuid.UUID(response.get_json()["workflow"]["id"])


def update(app: Flask, account: Account, workflow_id: uuid.UUID, definition: Any) -> None:
    with app.app_context():
        response = app.test_client().put(
            f"/api/workflows/{workflow_id}",
            json={"definition": definition},
            headers=account.headers,
        )
        assert response.status_code == 200, response.get_json()


def run(app: Flask, account: Account, workflow_id: uuid.UUID, body: Any = None) -> uuid.UUID:
    with app.app_context():
        response = app.test_client().post(
            f"/api/workflows/{workflow_id}/run", json=body, headers=account.headers
        )
        assert response.status_code == 202, response.get_json()
        return uuid.UUID(response.get_json()["executionId"])


def children(app: Flask, parent_id: uuid.UUID) -> list[Execution]:
    with app.app_context():
        found = db.session.execute(
            select(Execution).where(Execution.parent_execution_id == parent_id)
        ).scalars()
        rows = list(found)
        db.session.expunge_all()
        return rows


def step(app: Flask, execution_id: uuid.UUID, node_id: str) -> ExecutionStep:
    with app.app_context():
        found = db.session.execute(
            select(ExecutionStep).where(
                ExecutionStep.execution_id == execution_id, ExecutionStep.node_id == node_id
            )
        ).scalar_one()
        db.session.expunge(found)
        return found


def detail(app: Flask, account: Account, execution_id: uuid.UUID) -> dict[str, Any]:
    with app.app_context():
        response = app.test_client().get(f"/api/executions/{execution_id}", headers=account.headers)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()["execution"]
        return body


def test_wait_mode_runs_the_child_inline_on_a_single_worker(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")  # one worker: a queued child would never run while it waits
    account = make_account_committed(app)
    child_id = create(app, account, CHILD)
    parent_id = create(app, account, calling(child_id))
    execution_id = run(app, account, parent_id, [{"n": 2}, {"n": 5}])
    parent = wait_for_status(app, execution_id)
    assert parent.status == "succeeded", parent.error
    assert [item["json"] for item in parent.output_items or []] == [
        {"n": 2, "doubled": 4},
        {"n": 5, "doubled": 10},
    ]
    [child] = children(app, execution_id)
    assert (child.status, child.mode, child.depth) == ("succeeded", "subworkflow", 1)
    assert child.workflow_id == child_id
    assert child.workspace_id == parent.workspace_id
    call = step(app, execution_id, "call")
    assert call.logs == [f"Sub-execution {child.id}: succeeded"]
    assert step(app, child.id, "double").status == "succeeded"  # the child's own steps
    shown = detail(app, account, child.id)
    assert shown["parentExecutionId"] == str(execution_id)
    assert shown["depth"] == 1
    assert detail(app, account, execution_id)["parentExecutionId"] is None


def test_fire_and_forget_queues_the_child(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    account = make_account_committed(app)
    child_id = create(app, account, CHILD)
    parent_id = create(
        app,
        account,
        calling(child_id, mode="fireAndForget", inputSource="json", inputData={"n": 21}),
    )
    execution_id = run(app, account, parent_id)
    parent = wait_for_status(app, execution_id)
    assert parent.status == "succeeded", parent.error
    [child] = children(app, execution_id)
    assert parent.output_items == [{"json": {"executionId": str(child.id), "status": "queued"}}]
    child = wait_for_status(app, child.id)
    assert child.status == "succeeded", child.error
    assert child.output_items == [{"json": {"n": 21, "doubled": 42}}]
    assert child.depth == 1


def test_a_workflow_calling_itself_stops_at_the_depth_limit(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    account = make_account_committed(app)
    workflow_id = create(app, account, CHILD)
    update(app, account, workflow_id, calling(workflow_id))
    execution_id = run(app, account, workflow_id)
    top = wait_for_status(app, execution_id, timeout=60)
    assert top.status == "failed"
    chain = [execution_id]
    while True:
        found = children(app, chain[-1])
        if not found:
            break
        assert len(found) == 1
        chain.append(found[0].id)
    assert len(chain) == 6  # depths 0..5
    deepest = step(app, chain[-1], "call")
    assert (deepest.error or {})["message"] == "Sub-workflow depth limit (5) reached"
    assert "Sub-workflow depth limit (5) reached" in (top.error or {})["message"]


def test_another_workspaces_workflow_is_not_found(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    account, stranger = make_account_committed(app), make_account_committed(app)
    foreign_id = create(app, stranger, CHILD)
    parent_id = create(app, account, calling(foreign_id))
    execution_id = run(app, account, parent_id)
    parent = wait_for_status(app, execution_id)
    assert parent.status == "failed"
    assert (step(app, execution_id, "call").error or {})["message"] == (
        f"Workflow {foreign_id} not found"
    )
    assert children(app, execution_id) == []


def test_a_failing_child_fails_the_parent_step_with_its_message_and_id(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo")
    account = make_account_committed(app)
    child_id = create(app, account, FAILING_CHILD)
    parent_id = create(app, account, calling(child_id))
    execution_id = run(app, account, parent_id)
    parent = wait_for_status(app, execution_id)
    assert parent.status == "failed"
    [child] = children(app, execution_id)
    assert child.status == "failed"
    error = step(app, execution_id, "call").error or {}
    assert error["message"] == f"Sub-workflow execution {child.id} failed: child broke"
    assert error["executionId"] == str(child.id)


def make_account_committed(app: Flask) -> Account:
    with app.app_context():
        return make_account()


SLOW_CHILD = {
    "nodes": [
        {"id": "t", "type": "manual"},
        {
            "id": "slow",
            "type": "code-execute",
            "params": {"language": "python", "code": "import time\ntime.sleep(8)\nreturn items"},
        },
    ],
    "connections": [{"from": "t", "to": "slow"}],
}


def test_the_child_runs_within_the_parents_time(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo", EXECUTION_TIMEOUT_SECONDS="3")
    account = make_account_committed(app)
    child_id = create(app, account, SLOW_CHILD)
    parent_id = create(app, account, calling(child_id))
    execution_id = run(app, account, parent_id)
    parent = wait_for_status(app, execution_id, timeout=30)
    [child] = children(app, execution_id)
    assert child.status == "timed_out"
    assert parent.status in ("failed", "timed_out")
    assert parent.finished_at is not None and parent.started_at is not None
    assert (parent.finished_at - parent.started_at).total_seconds() < 6
