"""Beat's schedule tick through a real Celery worker: a due schedule becomes a succeeded run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select, update

from fluxolab import dispatch
from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStep, Schedule, ScheduleFire, utcnow
from tests.factories import make_account
from tests.schedules.helpers import create_flow, schedule_flow
from tests.workers.conftest import WorkerProcess, wait_for_status

pytestmark = pytest.mark.worker


def _wait_for_run(app: Flask, workflow_id: uuid.UUID, timeout: float = 30) -> uuid.UUID:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            found = db.session.execute(
                select(Execution.id).where(Execution.workflow_id == workflow_id)
            ).scalar_one_or_none()
            db.session.remove()
        if found is not None:
            return found
        time.sleep(0.1)
    raise AssertionError("the schedule never started a run")


def test_due_schedule_runs_through_beats_task_and_the_worker(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker()
    with app.app_context():
        owner = make_account()
        workflow_id = create_flow(
            app.test_client(),
            owner,
            schedule_flow(interval="minute", value=1, timezone="Asia/Tokyo"),
        )
        # the last minute's due time has come (as if beat had waited for it)
        due = utcnow().replace(second=0, microsecond=0)
        db.session.execute(
            update(Schedule).where(Schedule.workflow_id == workflow_id).values(next_due_at=due)
        )
        db.session.commit()
        assert dispatch.send("maintenance.fire_schedules")

    execution = wait_for_status(app, _wait_for_run(app, workflow_id))
    assert execution.status == "succeeded", execution.error
    assert (execution.mode, execution.trigger_node_id) == ("schedule", "tick")
    item = execution.input_items[0]
    assert item["scheduledFor"] == due.isoformat() and item["timezone"] == "Asia/Tokyo"
    with app.app_context():
        steps = db.session.scalars(
            select(ExecutionStep.node_id)
            .where(ExecutionStep.execution_id == execution.id)
            .order_by(ExecutionStep.seq)
        ).all()
        assert steps == ["tick", "end"]
        fire = db.session.execute(
            select(ScheduleFire).where(ScheduleFire.workflow_id == workflow_id)
        ).scalar_one()
        assert (fire.scheduled_for, fire.execution_id, fire.status) == (due, execution.id, "fired")
        schedule = db.session.execute(
            select(Schedule).where(Schedule.workflow_id == workflow_id)
        ).scalar_one()
        assert schedule.next_due_at is not None and schedule.next_due_at > utcnow()
        db.session.remove()
