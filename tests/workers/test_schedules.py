"""Schedules with real processes: beat's task through a worker, and two beat processes at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from fluxolab import dispatch
from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStep, Schedule, ScheduleFire, utcnow
from tests.factories import make_account
from tests.schedules.helpers import create_flow, schedule_flow
from tests.workers.conftest import ROOT, WorkerProcess, wait_for_status

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
    # a minute may turn before the worker ticks: catch-up ``one`` then fires the newer due time
    fired_for = datetime.fromisoformat(item["scheduledFor"])
    assert due <= fired_for <= due + timedelta(minutes=1) and item["timezone"] == "Asia/Tokyo"
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
        assert (fire.scheduled_for, fire.execution_id, fire.status) == (
            fired_for,
            execution.id,
            "fired",
        )
        schedule = db.session.execute(
            select(Schedule).where(Schedule.workflow_id == workflow_id)
        ).scalar_one()
        assert schedule.next_due_at is not None and schedule.next_due_at > utcnow()
        db.session.remove()


BEAT_SCRIPT = """
import json, sys, time
from datetime import datetime
from fluxolab import create_app
from fluxolab.extensions import db
from fluxolab.schedules.scheduler import fire_due

app = create_app()
clocks = [datetime.fromisoformat(text) for text in json.loads(sys.argv[1])]
with app.app_context():
    db.session.execute(db.select(1))  # connected before the start signal
    db.session.rollback()
    while time.time() < float(sys.argv[2]):
        time.sleep(0.002)
    print(sum(fire_due(now=now).fired for now in clocks))
"""


def test_two_beat_processes_fire_each_due_time_exactly_once(
    app: Flask, committed_db: None, worker_env: dict[str, str]
) -> None:
    due_times = 30
    with app.app_context():
        owner = make_account()
        workflow_ids = [
            create_flow(app.test_client(), owner, schedule_flow(interval="minute", value=1))
            for _ in range(3)
        ]
        first = db.session.execute(
            select(Schedule.next_due_at).where(Schedule.workflow_id == workflow_ids[0])
        ).scalar_one()
        db.session.remove()
    assert first is not None
    clocks = json.dumps([(first + k * timedelta(minutes=1)).isoformat() for k in range(due_times)])
    start_at = str(time.time() + 4)
    # the two processes' clocks are not in step (one may be a whole minute ahead of the other
    # and skip the row the other holds): with ``all`` no due time counts as missed
    env = {**worker_env, "SCHEDULE_CATCH_UP": "all"}
    beats = [
        subprocess.Popen(
            [sys.executable, "-c", BEAT_SCRIPT, clocks, start_at],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [beat.communicate(timeout=120) for beat in beats]
    assert [beat.returncode for beat in beats] == [0, 0], [err[-2000:] for _, err in outputs]
    print("fired per beat:", [int(out.split()[-1]) for out, _ in outputs])
    assert sum(int(out.split()[-1]) for out, _ in outputs) == 3 * due_times
    with app.app_context():
        for workflow_id in workflow_ids:
            scheduled = db.session.scalars(
                select(ScheduleFire.scheduled_for)
                .where(ScheduleFire.workflow_id == workflow_id)
                .order_by(ScheduleFire.scheduled_for)
            ).all()
            assert scheduled == [first + k * timedelta(minutes=1) for k in range(due_times)]
            runs = db.session.execute(
                select(func.count()).where(
                    Execution.workflow_id == workflow_id, Execution.mode == "schedule"
                )
            ).scalar_one()
            assert runs == due_times
        db.session.remove()
