"""SIGTERM of a real worker in the middle of a run: the run finishes, or is handed back and
finished by another worker; it is never lost and no recorded step runs twice.

The signal goes to the worker's main process only, as ``docker compose stop`` sends it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable

import pytest
from flask import Flask

from fluxolab.extensions import db
from fluxolab.models import Execution
from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_execution_worker import (
    SLOW_AFTER_SIDE_EFFECT,
    create_workflow,
    run,
    steps_of,
)

pytestmark = [pytest.mark.worker, pytest.mark.timeout(120)]

STEPS = ["t", "respond", "slow", "end"]


def _wait_in_slow_node(app: Flask, execution_id: uuid.UUID, timeout: float = 60) -> None:
    """Wait until the run checkpointed its side effect and sits in the 4 s code node."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if steps_of(app, execution_id) == STEPS[:2]:  # written by the respond checkpoint
            time.sleep(0.5)
            return
        time.sleep(0.05)
    raise AssertionError("the run never reached its slow node")


def _exit_code(worker: WorkerProcess, timeout: float) -> int | None:
    assert worker.proc is not None
    try:
        return worker.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # still running: the caller asserts
        return None


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_sigterm_mid_run_lets_the_run_finish_on_that_worker_then_exits(
    app: Flask, start_worker: Callable[..., WorkerProcess], pool: str
) -> None:
    worker = start_worker(pool=pool)
    account, workflow_id = create_workflow(app, SLOW_AFTER_SIDE_EFFECT)
    execution_id = run(app, account, workflow_id)
    _wait_in_slow_node(app, execution_id)
    assert worker.proc is not None
    os.kill(worker.proc.pid, signal.SIGTERM)  # warm shutdown: finish the task in hand
    assert _exit_code(worker, timeout=30) == 0, worker.log()[-3000:]
    execution = wait_for_status(app, execution_id, timeout=5)
    assert execution.status == "succeeded", execution.error
    assert execution.deliveries == 1
    assert steps_of(app, execution_id) == STEPS


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_a_second_sigterm_hands_the_run_back_and_another_worker_finishes_it_once(
    app: Flask, start_worker: Callable[..., WorkerProcess], pool: str
) -> None:
    worker = start_worker(pool=pool)
    account, workflow_id = create_workflow(app, SLOW_AFTER_SIDE_EFFECT)
    execution_id = run(app, account, workflow_id)
    _wait_in_slow_node(app, execution_id)
    assert worker.proc is not None
    os.kill(worker.proc.pid, signal.SIGTERM)
    time.sleep(0.3)
    os.kill(worker.proc.pid, signal.SIGQUIT)  # impatient: cold shutdown, the task is cut
    assert _exit_code(worker, timeout=30) is not None, worker.log()[-3000:]
    with app.app_context():
        cut = db.session.get(Execution, execution_id)
        assert cut is not None
        assert cut.status == "running", cut.error  # handed back, not finished
        db.session.remove()
    start_worker(pool=pool)
    execution = wait_for_status(app, execution_id, timeout=60)
    assert execution.status == "succeeded", execution.error
    assert execution.deliveries == 2
    # the steps recorded before the cut (trigger, respond) did not run again
    assert steps_of(app, execution_id) == STEPS
