"""Wait nodes: a run parks as ``waiting`` (no worker held) and beat's resume_due_waits re-queues it.

The task body (``runner.run_execution``) and the sweeper run in-process, as a worker and beat
would; ``dispatch.send`` is recorded instead of publishing.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fluxolab import dispatch
from fluxolab.executions import service
from fluxolab.executions.runner import run_execution
from fluxolab.executions.sweeper import resume_due_waits
from fluxolab.extensions import db
from fluxolab.models import Execution, utcnow
from fluxolab.workflows import service as workflows
from tests.factories import Account, make_account

WAIT_ONE_SECOND: dict[str, Any] = {
    "id": "w",
    "type": "wait",
    "params": {"amount": 1, "unit": "seconds"},
}
WAIT_THEN_NO_OP = {
    "nodes": [{"id": "t", "type": "manual"}, WAIT_ONE_SECOND, {"id": "n", "type": "no-op"}],
    "connections": [{"from": "t", "to": "w"}, {"from": "w", "to": "n"}],
}


def waits_in_a_row(count: int) -> dict[str, Any]:
    """manual -> wait 1 s (x count) -> no-op."""
    ids = ["t", *(f"w{i}" for i in range(count)), "n"]
    nodes = [{"id": "t", "type": "manual"}]
    nodes += [{**WAIT_ONE_SECOND, "id": node_id} for node_id in ids[1:-1]]
    nodes.append({"id": "n", "type": "no-op"})
    connections = [{"from": a, "to": b} for a, b in pairwise(ids)]
    return {"nodes": nodes, "connections": connections}


@pytest.fixture()
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Record published tasks instead of sending them to the broker."""
    calls: list[tuple[Any, ...]] = []

    def record(task_name: str, *args: Any, countdown: float | None = None) -> bool:
        calls.append((task_name, *args))
        return True

    def record_runs(execution_ids: list[str]) -> bool:
        calls.extend(("executions.run", execution_id) for execution_id in execution_ids)
        return True

    monkeypatch.setattr(dispatch, "send", record)
    monkeypatch.setattr(dispatch, "send_runs", record_runs)
    return calls


def queued(account: Account, definition: dict[str, Any]) -> uuid.UUID:
    """Create a workflow and a queued manual execution of it."""
    fields = {"name": "W", "definition": definition}
    workflow = workflows.create_workflow(account.workspace_id, account.user_id, fields)
    execution = service.create_execution(
        account.workspace_id, workflow.id, [{"json": {"k": 1}}], mode="manual", user_id=None
    )
    return execution.id


def reload(execution_id: uuid.UUID) -> Execution:
    db.session.expire_all()
    execution = db.session.get(Execution, execution_id)
    assert execution is not None
    return execution


def make_due(execution_id: uuid.UUID) -> None:
    """Move the wait's resume time into the past (instead of sleeping through it)."""
    reload(execution_id).wait_until = utcnow() - timedelta(seconds=1)
    db.session.commit()


def step_nodes(execution_id: uuid.UUID) -> list[str]:
    return [step.node_id for step in service.get_steps(execution_id)]


def test_wait_node_parks_the_execution_without_holding_a_worker(sent: list[Any]) -> None:
    execution_id = queued(make_account(), WAIT_THEN_NO_OP)
    before = utcnow()
    assert run_execution(execution_id) == "waiting"
    execution = reload(execution_id)
    assert (execution.status, execution.wait_kind, execution.waiting_node_id) == (
        "waiting",
        "wait",
        "w",
    )
    assert execution.wait_until is not None
    assert before + timedelta(seconds=0.5) < execution.wait_until < utcnow() + timedelta(seconds=1)
    assert execution.lease_expires_at is None
    assert execution.state is not None and execution.finished_at is None
    assert step_nodes(execution_id) == ["t"]


def test_resume_due_waits_leaves_a_wait_that_is_not_due(sent: list[Any]) -> None:
    execution_id = queued(make_account(), WAIT_THEN_NO_OP)
    run_execution(execution_id)
    sent.clear()
    assert resume_due_waits() == 0
    assert reload(execution_id).status == "waiting"
    assert sent == []


def test_due_wait_is_requeued_and_the_run_finishes_after_it(sent: list[Any]) -> None:
    execution_id = queued(make_account(), WAIT_THEN_NO_OP)
    run_execution(execution_id)
    make_due(execution_id)
    sent.clear()
    assert resume_due_waits() == 1
    execution = reload(execution_id)
    assert (execution.status, execution.wait_until) == ("queued", None)
    assert sent == [("executions.run", str(execution_id))]
    assert run_execution(execution_id) == "succeeded"
    execution = reload(execution_id)
    assert execution.status == "succeeded"
    assert execution.output_items == [{"json": {"k": 1}}]
    assert step_nodes(execution_id) == ["t", "w", "n"]


def test_canceling_a_waiting_execution_stops_it_and_resume_does_nothing(
    client: FlaskClient, sent: list[Any]
) -> None:
    account = make_account()
    execution_id = queued(account, WAIT_THEN_NO_OP)
    run_execution(execution_id)
    response = client.post(f"/api/executions/{execution_id}/cancel", headers=account.headers)
    assert response.status_code == 200
    assert response.get_json()["execution"]["status"] == "canceled"
    sent.clear()
    assert resume_due_waits() == 0
    assert run_execution(execution_id) == "skipped"
    assert sent == []
    assert reload(execution_id).status == "canceled"
    assert step_nodes(execution_id) == ["t"]


def test_an_execution_can_wait_more_times_than_the_delivery_limit(
    app: Flask, monkeypatch: pytest.MonkeyPatch, sent: list[Any]
) -> None:
    monkeypatch.setitem(app.config, "EXECUTION_MAX_DELIVERIES", 2)
    execution_id = queued(make_account(), waits_in_a_row(2))
    status = run_execution(execution_id)
    while status == "waiting":
        make_due(execution_id)
        assert resume_due_waits() == 1
        status = run_execution(execution_id)
    execution = reload(execution_id)
    assert (execution.status, execution.error) == ("succeeded", None)
    assert step_nodes(execution_id) == ["t", "w0", "w1", "n"]
