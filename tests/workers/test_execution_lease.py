"""One run, one worker: a node longer than the lease keeps its worker while the sweeper runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from flask import Flask

from fluxolab.executions import sweeper
from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStep
from tests.workers.conftest import FINISHED, WorkerProcess, wait_for_status
from tests.workers.test_execution_faults import sleep_then, task_results
from tests.workers.test_execution_worker import create_workflow, run

pytestmark = pytest.mark.worker

LEASE_SECONDS = 2


def sweep_until_finished(app: Flask, execution_id: uuid.UUID, timeout: float = 60) -> Execution:
    """Run the sweeper every half second, as beat does, until the execution finished."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            sweeper.sweep()
            execution = db.session.get(Execution, execution_id)
            assert execution is not None
            if execution.status in FINISHED:
                db.session.expunge(execution)
                return execution
        assert time.monotonic() < deadline, f"execution stuck in {execution.status}"
        time.sleep(0.5)


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_a_node_running_three_leases_finishes_once_on_its_first_worker_while_the_sweeper_runs(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    monkeypatch: pytest.MonkeyPatch,
    pool: str,
) -> None:
    lease = {"EXECUTION_LEASE_SECONDS": str(LEASE_SECONDS)}
    workers = [start_worker(pool=pool, **lease) for _ in range(2)]  # a free one to take it over
    monkeypatch.setitem(app.config, "EXECUTION_REPUBLISH_AFTER_SECONDS", 1)
    account, workflow_id = create_workflow(app, sleep_then(3 * LEASE_SECONDS, "end"))
    execution_id = run(app, account, workflow_id)
    wait_for_status(app, execution_id, {"running"})
    execution = sweep_until_finished(app, execution_id)
    assert execution.status == "succeeded", execution.error
    assert (execution.deliveries, execution.claim_token) == (1, 1)  # claimed once, never again
    with app.app_context():
        steps = db.session.query(ExecutionStep).filter_by(execution_id=execution_id)
        ran = [(step.node_id, step.attempt) for step in steps.order_by(ExecutionStep.seq)]
    assert ran == [("t", 1), ("slow", 1), ("end", 1)]
    results = [result for worker in workers for result in task_results(worker, 0, timeout=0)]
    assert results.count("succeeded") == 1, results
    assert "lost" not in results and "failed" not in results, results
