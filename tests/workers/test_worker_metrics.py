"""A real worker's own metrics port: its pool processes summed, counters moved by real runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from flask import Flask

from tests.engine.fakes import free_port
from tests.factories import make_account
from tests.metrics.scrape import value
from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_execution_worker import create_workflow, run

pytestmark = pytest.mark.worker

WITH_CODE = {
    "nodes": [
        {"id": "t", "type": "manual"},
        {
            "id": "code",
            "type": "code-execute",
            "params": {"language": "python", "code": "return items"},
        },
        {"id": "end", "type": "no-op"},
    ],
    "connections": [{"from": "t", "to": "code"}, {"from": "code", "to": "end"}],
}


def scrape(port: int, worker: WorkerProcess, timeout: float = 30) -> str:
    """The worker's exposition, once its port answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
            response.raise_for_status()
            return response.text
        except httpx.HTTPError:
            assert worker.proc is not None and worker.proc.poll() is None, worker.log()[-3000:]
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_finished_run_moves_the_counters_on_the_worker_port(
    app: Flask, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"left by an earlier run")
    port = free_port()
    worker = start_worker(
        concurrency=2,
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        WORKER_METRICS_PORT=str(port),
        WORKER_METRICS_ADDRESS="127.0.0.1",
    )
    before = scrape(port, worker)
    assert not (folder / "counter_999999.db").exists()  # emptied before the pool started
    assert value(before, "fluxolab_executions_finished_total") == 0
    account, workflow_id = create_workflow(app, WITH_CODE)
    runs = [run(app, account, workflow_id, [{"n": n}]) for n in range(3)]
    for execution_id in runs:
        assert wait_for_status(app, execution_id).status == "succeeded"
    after = scrape(port, worker)
    labels = {"mode": "manual"}
    assert value(after, "fluxolab_executions_started_total", **labels) == 3
    assert value(after, "fluxolab_executions_finished_total", status="succeeded", **labels) == 3
    assert value(after, "fluxolab_execution_duration_seconds_count", **labels) == 3
    assert value(after, "fluxolab_execution_queue_wait_seconds_count", **labels) == 3
    sandbox = value(after, "fluxolab_sandbox_runs_total", outcome="ok")
    refused = value(after, "fluxolab_sandbox_refusals_total")
    assert (sandbox, refused) in {(3, 0), (0, 3)}
    # two pool processes took the runs; the port sums every process's file
    assert len(list(folder.glob("counter_*.db"))) >= 2


def test_a_failed_run_is_counted_by_its_status(
    app: Flask, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    port = free_port()
    worker = start_worker(
        pool="solo",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        WORKER_METRICS_PORT=str(port),
    )
    failing = {
        "nodes": [
            {"id": "t", "type": "manual"},
            {"id": "stop", "type": "stop-and-error", "params": {"message": "no"}},
        ],
        "connections": [{"from": "t", "to": "stop"}],
    }
    account, workflow_id = create_workflow(app, failing)
    execution_id: uuid.UUID = run(app, account, workflow_id)
    assert wait_for_status(app, execution_id).status == "failed"
    text = scrape(port, worker)
    assert value(text, "fluxolab_executions_finished_total", status="failed", mode="manual") == 1
    assert value(text, "fluxolab_executions_finished_total", status="succeeded") == 0


def test_a_node_test_is_counted_by_the_worker_that_ran_it(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "NODE_TEST_WAIT_SECONDS", 20)
    port = free_port()
    worker = start_worker(
        pool="solo",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        WORKER_METRICS_PORT=str(port),
    )
    with app.app_context():
        account = make_account()
    body = {"nodeType": "set", "config": {"fields": [{"name": "b", "value": "1"}]}}
    response = app.test_client().post(
        "/api/workflows/nodes/test", json=body, headers=account.headers
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "succeeded"
    text = scrape(port, worker)
    assert value(text, "fluxolab_node_tests_total", status="succeeded") == 1
    assert value(text, "fluxolab_node_test_duration_seconds_count", status="succeeded") == 1
