"""Faults around webhook-started runs: the broker or the database down during intake,
50 concurrent duplicate deliveries, and a worker killed mid-run. Nothing acknowledged is lost,
nothing runs twice.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fluxolab.executions import sweeper
from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStep, WebhookLog, utcnow
from tests.conftest import make_test_config
from tests.factories import Account, make_account
from tests.helpers import fresh_app
from tests.webhooks.helpers import active_hook, hook_flow, url
from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_execution_faults import broker_down, change, stale_age


@pytest.fixture()
def api(app: Flask, committed_db: None) -> Iterator[FlaskClient]:
    with app.app_context():
        yield app.test_client()


@pytest.fixture()
def owner(api: FlaskClient) -> Account:
    return make_account()


def _slow(seconds: float) -> dict[str, Any]:
    code = f"import time\ntime.sleep({seconds})\nreturn items"
    return {"id": "slow", "type": "code-execute", "params": {"language": "python", "code": code}}


def _steps(app: Flask, execution_id: uuid.UUID) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(
            select(ExecutionStep.node_id)
            .where(ExecutionStep.execution_id == execution_id)
            .order_by(ExecutionStep.seq)
        )
        return list(rows)


@pytest.mark.worker
def test_broker_down_during_intake_still_acknowledges_and_runs_once_it_is_back(
    app: Flask,
    api: FlaskClient,
    owner: Account,
    start_worker: Callable[..., WorkerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, token = active_hook(api, owner, hook_flow())
    real = app.extensions["celery"]
    monkeypatch.setitem(app.extensions, "celery", broker_down(max_retries=0))
    started = time.monotonic()
    response = api.post(url(token), json={"n": 1})
    assert response.status_code == 202 and time.monotonic() - started < 2
    execution_id = uuid.UUID(response.get_json()["executionId"])
    with app.app_context():
        execution = db.session.get(Execution, execution_id)
        assert execution is not None and execution.status == "queued"
    monkeypatch.setitem(app.extensions, "celery", real)  # the broker is back
    start_worker(pool="solo")
    long_ago = utcnow() - stale_age(app)
    change(app, execution_id, created_at=long_ago, queued_at=long_ago)
    with app.app_context():
        assert sweeper.republish_stale() == 1
    execution = wait_for_status(app, execution_id)
    assert (execution.status, execution.deliveries) == ("succeeded", 1)
    assert _steps(app, execution_id) == ["hook", "end"]


def test_database_down_answers_503_with_retry_after_and_publishes_nothing(
    app: Flask, redis_url: str, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    dead = f"postgresql+psycopg://fluxolab@127.0.0.1:{port}/fluxolab"
    broker = redis.Redis.from_url(redis_url)
    before = broker.llen("executions")
    config = {**make_test_config(dead, redis_url, tmp_path), "SQLALCHEMY_DATABASE_URI": dead}
    with fresh_app(config) as down:
        started = time.monotonic()
        response = down.test_client().post(url("t" * 43), json={"n": 1})
        elapsed = time.monotonic() - started
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert isinstance(response.get_json()["message"], str) and elapsed < 5
    assert broker.llen("executions") == before


def test_fifty_concurrent_duplicates_get_the_first_execution(
    app: Flask, api: FlaskClient, owner: Account
) -> None:
    workflow_id, token = active_hook(api, owner, hook_flow())
    barrier = threading.Barrier(50)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def call() -> None:
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            response = client.post(
                url(token), json={"order": 1}, headers={"Idempotency-Key": "dup"}
            )
            with lock:
                answers.append((response.status_code, response.get_json()["executionId"]))
            db.session.remove()

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 50
    assert {status for status, _ in answers} == {202}
    assert len({execution_id for _, execution_id in answers}) == 1
    with app.app_context():
        runs = db.session.scalar(
            select(func.count())
            .select_from(Execution)
            .where(Execution.workflow_id == uuid.UUID(workflow_id))
        )
        logs = db.session.scalar(select(func.count()).select_from(WebhookLog))
    assert runs == 1 and logs == 50


@pytest.mark.worker
def test_a_worker_killed_mid_run_hands_the_webhook_run_over_and_it_finishes_once(
    app: Flask, api: FlaskClient, owner: Account, start_worker: Callable[..., WorkerProcess]
) -> None:
    first = start_worker(pool="solo")
    _, token = active_hook(api, owner, hook_flow(tail=[_slow(3), {"id": "end", "type": "no-op"}]))
    response = api.post(url(token), json={})
    assert response.status_code == 202
    execution_id = uuid.UUID(response.get_json()["executionId"])
    wait_for_status(app, execution_id, {"running"})
    first.kill(signal.SIGKILL)
    start_worker(pool="solo")
    execution = wait_for_status(app, execution_id, timeout=60)
    assert execution.status == "succeeded" and execution.deliveries == 2
    assert _steps(app, execution_id) == ["hook", "slow", "end"]
