"""Retention: ``sweeper.prune()`` deletes old finished executions in batches, never live ones.

Only days the stats rollup has sealed are pruned, so the tests roll first (``seal()``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fluxolab.executions import sweeper
from fluxolab.extensions import db
from fluxolab.models import FINISHED_STATUSES, Execution, ExecutionStep, Workflow, utcnow
from fluxolab.stats import rollup
from fluxolab.workflows import service as workflows
from tests.factories import make_account

DEFINITION = {
    "nodes": [{"id": "t", "type": "manual"}, {"id": "n", "type": "no-op"}],
    "connections": [{"from": "t", "to": "n"}],
}
UNFINISHED = ("queued", "running", "waiting")


def new_workflow() -> Workflow:
    """A workflow in a fresh workspace (committed in the test's rolled-back transaction)."""
    account = make_account()
    fields = {"name": "W", "definition": DEFINITION}
    return workflows.create_workflow(account.workspace_id, account.user_id, fields).workflow


def add_execution(workflow: Workflow, status: str, age: timedelta) -> uuid.UUID:
    """Insert an execution row created ``age`` ago, as if it had run then."""
    version = workflows.current_version(workflow)
    execution = Execution(
        id=uuid.uuid4(),
        workspace_id=workflow.workspace_id,
        workflow_id=workflow.id,
        workflow_version_id=version.id,
        version=version.version,
        mode="manual",
        status=status,
        input_items=[],
        created_at=utcnow() - age,
    )
    db.session.add(execution)
    db.session.commit()
    return execution.id


def add_step(execution_id: uuid.UUID, seq: int) -> None:
    now = utcnow()
    db.session.add(
        ExecutionStep(
            id=uuid.uuid4(),
            execution_id=execution_id,
            seq=seq,
            node_id=f"n{seq}",
            node_name=f"n{seq}",
            node_type="no-op",
            status="succeeded",
            started_at=now,
            finished_at=now,
        )
    )
    db.session.commit()


def seal() -> None:
    """Roll every day up to yesterday (days older than two are sealed, so prunable)."""
    rollup.catch_up()


def remaining() -> set[uuid.UUID]:
    return set(db.session.execute(select(Execution.id)).scalars())


def days(app: Flask, extra: float) -> timedelta:
    """The retention age plus ``extra`` days (negative: still within retention)."""
    return timedelta(days=int(app.config["EXECUTION_RETENTION_DAYS"]) + extra)


@pytest.mark.parametrize("status", FINISHED_STATUSES)
def test_prune_deletes_finished_executions_older_than_the_retention_age(
    app: Flask, status: str
) -> None:
    workflow = new_workflow()
    old = add_execution(workflow, status, days(app, 1))
    seal()
    assert sweeper.prune() == 1
    assert old not in remaining()


def test_prune_keeps_finished_executions_within_the_retention_age(app: Flask) -> None:
    workflow = new_workflow()
    recent = {
        add_execution(workflow, "succeeded", timedelta(minutes=1)),
        add_execution(workflow, "failed", days(app, -1)),
    }
    seal()
    assert sweeper.prune() == 0
    assert remaining() == recent


@pytest.mark.parametrize("status", UNFINISHED)
def test_prune_never_deletes_unfinished_executions_however_old(
    app: Flask, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    monkeypatch.setitem(app.config, "EXECUTION_RETENTION_MAX_PER_WORKSPACE", 0)
    workflow = new_workflow()
    ancient = add_execution(workflow, status, timedelta(days=3650))
    seal()
    assert sweeper.prune() == 0
    assert remaining() == {ancient}


def test_prune_keeps_only_the_newest_finished_executions_of_each_workspace(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "EXECUTION_RETENTION_MAX_PER_WORKSPACE", 2)
    busy, quiet = new_workflow(), new_workflow()
    by_age = [add_execution(busy, "succeeded", timedelta(days=age)) for age in (4, 5, 6, 7)]
    live = add_execution(busy, "queued", timedelta(days=8))
    quiet_ids = {add_execution(quiet, "failed", timedelta(days=age)) for age in (9, 10)}
    seal()
    assert sweeper.prune() == 2
    assert remaining() == {by_age[0], by_age[1], live, *quiet_ids}


def test_prune_deletes_in_batches_until_no_candidate_is_left(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "EXECUTION_PRUNE_BATCH", 2)
    statements: list[Any] = []
    real_delete = sweeper.delete

    def counting_delete(*args: Any) -> Any:
        statements.append(args)
        return real_delete(*args)

    monkeypatch.setattr(sweeper, "delete", counting_delete)
    workflow = new_workflow()
    for offset in range(5):
        add_execution(workflow, "succeeded", days(app, 1 + offset))
    seal()
    assert sweeper.prune() == 5
    assert remaining() == set()
    assert len(statements) == 3  # 2 + 2 + 1


def test_prune_deletes_the_steps_with_their_execution(app: Flask) -> None:
    workflow = new_workflow()
    old = add_execution(workflow, "succeeded", days(app, 1))
    recent = add_execution(workflow, "succeeded", timedelta(minutes=1))
    for seq, execution_id in enumerate((old, old, recent)):
        add_step(execution_id, seq)
    seal()
    assert sweeper.prune() == 1
    owners = db.session.execute(select(ExecutionStep.execution_id)).scalars().all()
    assert owners == [recent]


def test_prune_keeps_old_executions_of_days_not_sealed(app: Flask) -> None:
    workflow = new_workflow()
    old = add_execution(workflow, "succeeded", days(app, 1))
    assert sweeper.prune() == 0  # its day was never rolled: its stats would change
    assert remaining() == {old}
    seal()
    assert sweeper.prune() == 1
    assert remaining() == set()
