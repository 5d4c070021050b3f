"""Node and run timeouts interrupt a busy node in the worker, next to the task's own limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from flask import Flask

from fluxolab import engine
from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_execution_worker import FIVE_NODES, create_workflow, run, steps_of
from workers.executions import time_limits

# One render of this expression is well inside the expression limits (about 10 ms), but a
# Set node evaluates it once per item: 1,000 items keep the node busy for about 10 seconds.
HEAVY_EXPRESSION = "{{ [" + ",".join(["$json.n*2+1"] * 750) + "].length }}"
HEAVY_ITEMS = [{"n": index} for index in range(1_000)]
SLACK_S = 1.0


def heavy_workflow(**settings: Any) -> dict[str, Any]:
    """manual -> set (a heavy expression on every item, with ``settings``) -> no-op."""
    heavy = {
        "id": "heavy",
        "name": "Heavy",
        "type": "set",
        "params": {"fields": [{"name": "x", "value": HEAVY_EXPRESSION}]},
        "settings": settings,
    }
    return {
        "nodes": [{"id": "t", "type": "manual"}, heavy, {"id": "end", "type": "no-op"}],
        "connections": [{"from": "t", "to": "heavy"}, {"from": "heavy", "to": "end"}],
    }


def context() -> engine.RunContext:
    """A run context like the worker's: the soft time limit escapes the engine."""
    return engine.RunContext(execution_id="e", workflow={}, fatal=(SoftTimeLimitExceeded,))


def test_a_node_deadline_inside_the_task_limits_leaves_them_armed() -> None:
    items = [{"json": item} for item in HEAVY_ITEMS]
    started = time.monotonic()
    with pytest.raises(SoftTimeLimitExceeded), time_limits(1.5, 30) as soft, soft:
        result = engine.run(heavy_workflow(timeoutMs=300), items, context())
        took = time.monotonic() - started
        time.sleep(5)  # the task's soft limit still ends this at its own time
    assert took < 0.3 + SLACK_S
    assert result.status == "timed_out"
    assert 1.5 <= time.monotonic() - started < 1.5 + SLACK_S


def test_the_task_soft_limit_still_interrupts_a_node_with_a_longer_timeout() -> None:
    items = [{"json": item} for item in HEAVY_ITEMS]
    started = time.monotonic()
    with pytest.raises(SoftTimeLimitExceeded), time_limits(0.5, 30) as soft, soft:
        engine.run(heavy_workflow(timeoutMs=20_000), items, context())
    assert time.monotonic() - started < 0.5 + SLACK_S


@pytest.mark.worker
@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_a_busy_node_ends_timed_out_at_its_limit_and_the_worker_runs_the_next_execution(
    app: Flask, start_worker: Callable[..., WorkerProcess], pool: str
) -> None:
    worker = start_worker(pool=pool)
    account, slow_id = create_workflow(app, heavy_workflow(timeoutMs=1000))
    execution = wait_for_status(app, run(app, account, slow_id, HEAVY_ITEMS), timeout=40)
    assert execution.status == "timed_out", execution.error
    assert execution.error == {
        "message": "Node timed out after 1000 ms",
        "nodeId": "heavy",
        "nodeName": "Heavy",
        "type": "NodeTimeout",
    }
    assert execution.started_at is not None and execution.finished_at is not None
    assert (execution.finished_at - execution.started_at).total_seconds() < 1.0 + SLACK_S
    assert steps_of(app, execution.id) == ["t", "heavy"]

    other, quick_id = create_workflow(app, FIVE_NODES)
    started = time.monotonic()
    after = wait_for_status(app, run(app, other, quick_id, {"n": 5}), timeout=20)
    assert after.status == "succeeded", after.error
    assert time.monotonic() - started < 5
    assert worker.proc is not None and worker.proc.poll() is None  # the same worker, alive


@pytest.mark.worker
def test_the_run_timeout_interrupts_a_busy_node_in_a_solo_worker(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(pool="solo", EXECUTION_TIMEOUT_SECONDS="1")
    account, slow_id = create_workflow(app, heavy_workflow())
    execution = wait_for_status(app, run(app, account, slow_id, HEAVY_ITEMS), timeout=40)
    assert execution.status == "timed_out", execution.error
    assert execution.error is not None
    assert execution.error["nodeId"] == "heavy"
    assert execution.error["message"] == "Execution timed out after 1 s (in node 'Heavy')"
    assert execution.started_at is not None and execution.finished_at is not None
    assert (execution.finished_at - execution.started_at).total_seconds() < 1.0 + SLACK_S
