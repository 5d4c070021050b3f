"""Faults around a real worker: cancellation, lost messages, expired leases, a broker outage and
duplicate deliveries. Nothing accepted is lost and nothing runs twice.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
import redis
from celery import Celery
from flask import Flask
from flask.testing import FlaskClient

from fluxolab import dispatch
from fluxolab.executions import sweeper
from fluxolab.extensions import db
from fluxolab.models import Execution, utcnow
from tests.factories import make_account
from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_execution_worker import FIVE_NODES, create_workflow, run, steps_of

FIVE_NODE_IDS = ["t", "s1", "if", "s2", "end"]


def sleep_then(seconds: float, *after: str) -> dict[str, Any]:
    """manual -> code sleeping ``seconds`` -> one no-op per name in ``after``."""
    code = f"import time\ntime.sleep({seconds})\nreturn items"
    ids = ["t", "slow", *after]
    nodes = [
        {"id": "t", "type": "manual"},
        {"id": "slow", "type": "code-execute", "params": {"language": "python", "code": code}},
        *({"id": node_id, "type": "no-op"} for node_id in after),
    ]
    connections = [{"from": a, "to": b} for a, b in pairwise(ids)]
    return {"nodes": nodes, "connections": connections}


def change(app: Flask, execution_id: uuid.UUID, **values: Any) -> None:
    """Set columns of an execution directly (simulating what a crash or an old age leaves)."""
    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        assert execution is not None
        for name, value in values.items():
            setattr(execution, name, value)
        db.session.commit()


def task_results(worker: WorkerProcess, count: int, timeout: float = 15) -> list[str]:
    """Wait until the worker logged ``count`` finished tasks; return their results in order."""
    deadline = time.monotonic() + timeout
    while True:
        results = [
            line.rsplit(": ", 1)[1].strip("'")
            for line in worker.log().splitlines()
            if "celery.app.trace: Task executions.run[" in line and " succeeded in " in line
        ]
        if len(results) >= count or time.monotonic() > deadline:
            return results
        time.sleep(0.1)


def stale_age(app: Flask) -> timedelta:
    """Older than the sweeper's republish interval."""
    return timedelta(seconds=int(app.config["EXECUTION_REPUBLISH_AFTER_SECONDS"]) + 5)


@pytest.mark.worker
def test_cancel_stops_a_running_execution_before_its_next_node(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker()
    account, workflow_id = create_workflow(app, sleep_then(2, "a", "b"))
    execution_id = run(app, account, workflow_id)
    wait_for_status(app, execution_id, {"running"})
    time.sleep(0.5)  # inside the code node's 2 s sleep
    with app.app_context():
        response = app.test_client().post(
            f"/api/executions/{execution_id}/cancel", headers=account.headers
        )
    assert response.status_code == 200
    assert response.get_json()["execution"]["status"] == "running"  # stops at the next node
    execution = wait_for_status(app, execution_id, timeout=15)
    assert execution.status == "canceled"
    assert execution.error is not None and execution.error["nodeId"] == "a"
    assert steps_of(app, execution_id) == ["t", "slow"]


@pytest.mark.worker
def test_canceled_queued_execution_never_starts_when_its_message_arrives(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    account, workflow_id = create_workflow(app, FIVE_NODES)
    execution_id = run(app, account, workflow_id)  # published; no worker yet
    with app.app_context():
        response = app.test_client().post(
            f"/api/executions/{execution_id}/cancel", headers=account.headers
        )
    assert response.get_json()["execution"]["status"] == "canceled"
    worker = start_worker()
    assert task_results(worker, 1) == ["skipped"]
    execution = wait_for_status(app, execution_id)
    assert (execution.status, execution.deliveries, execution.started_at) == ("canceled", 0, None)
    assert steps_of(app, execution_id) == []


@pytest.mark.worker
def test_queued_execution_whose_message_was_lost_runs_after_the_sweep(
    app: Flask, start_worker: Callable[..., WorkerProcess], redis_url: str
) -> None:
    account, workflow_id = create_workflow(app, FIVE_NODES)
    execution_id = run(app, account, workflow_id, {"n": 5})
    redis.Redis.from_url(redis_url).flushdb()  # the broker lost the message
    start_worker()
    with app.app_context():
        assert sweeper.republish_stale() == 0  # too young to be called lost
    long_ago = utcnow() - stale_age(app)
    change(app, execution_id, created_at=long_ago, queued_at=long_ago)
    with app.app_context():
        assert sweeper.republish_stale() == 1
    execution = wait_for_status(app, execution_id)
    assert (execution.status, execution.deliveries) == ("succeeded", 1)
    assert steps_of(app, execution_id) == FIVE_NODE_IDS


@pytest.mark.worker
def test_running_execution_with_an_expired_lease_is_republished_and_completes_once(
    app: Flask, start_worker: Callable[..., WorkerProcess], redis_url: str
) -> None:
    account, workflow_id = create_workflow(app, FIVE_NODES)
    execution_id = run(app, account, workflow_id, {"n": 5})
    redis.Redis.from_url(redis_url).flushdb()
    now = utcnow()  # as a worker that died mid-run leaves it: running, lease run out
    change(
        app,
        execution_id,
        status="running",
        deliveries=1,
        claim_token=1,
        queued_at=now - stale_age(app),
        started_at=now - timedelta(seconds=20),
        lease_expires_at=now - timedelta(seconds=1),
    )
    start_worker()
    with app.app_context():
        assert sweeper.republish_stale() == 1
    execution = wait_for_status(app, execution_id)
    assert (execution.status, execution.deliveries) == ("succeeded", 2)
    assert steps_of(app, execution_id) == FIVE_NODE_IDS
    with app.app_context():
        assert sweeper.republish_stale() == 0


def broker_down(max_retries: int | None = None) -> Celery:
    """The project's Celery settings pointed at a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    down = Celery("broker-down", set_as_current=False)
    down.config_from_object("celeryconfig")
    down.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    if max_retries is not None:
        down.conf.broker_transport_options = {"max_retries": max_retries}
    return down


def test_run_answers_202_and_persists_the_execution_while_the_broker_is_down(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.extensions, "celery", broker_down(max_retries=0))  # fail at once
    results: list[bool] = []
    real_send = dispatch.send_runs

    def spy(*args: Any, **kwargs: Any) -> bool:
        results.append(real_send(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(dispatch, "send_runs", spy)
    account = make_account()
    response = client.post(
        "/api/workflows", json={"name": "W", "definition": FIVE_NODES}, headers=account.headers
    )
    workflow_id = response.get_json()["workflow"]["id"]
    response = client.post(f"/api/workflows/{workflow_id}/run", headers=account.headers)
    assert response.status_code == 202, response.get_json()
    assert results == [False]
    execution = db.session.get(Execution, uuid.UUID(response.get_json()["executionId"]))
    assert execution is not None and execution.status == "queued"


def test_publish_to_a_down_broker_gives_up_within_the_connection_timeout(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = broker_down()  # the project's settings as they are
    monkeypatch.setitem(app.extensions, "celery", down)
    started = time.monotonic()
    assert dispatch.send("executions.run", str(uuid.uuid4())) is False
    assert dispatch.send_runs([str(uuid.uuid4()), str(uuid.uuid4())]) is False
    elapsed = time.monotonic() - started
    limit = float(down.conf.broker_connection_timeout)
    assert elapsed < limit, f"a request would wait {elapsed:.1f} s on the dead broker"


@pytest.mark.worker
def test_two_deliveries_at_once_run_the_execution_once(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker(concurrency=2, EXECUTION_LEASE_SECONDS="2")  # held: retried after it
    account, workflow_id = create_workflow(app, sleep_then(1, "end"))
    execution_id = run(app, account, workflow_id)
    with app.app_context():
        app.extensions["celery"].send_task("executions.run", args=[str(execution_id)])
    execution = wait_for_status(app, execution_id)
    assert sorted(task_results(worker, 2)) == ["skipped", "succeeded"]
    assert (execution.status, execution.deliveries) == ("succeeded", 1)
    assert steps_of(app, execution_id) == ["t", "slow", "end"]
