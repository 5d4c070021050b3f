"""Node tests through real Celery workers: the bounded wait, 202 and polling, the waiter cap.

The API is the session app (Redis broker, the listener thread of ``fluxolab.completion``)
or, for standalone, an app on the filesystem broker and the Unix-socket signals.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from fluxolab import completion
from fluxolab.extensions import db
from tests.conftest import make_test_config
from tests.factories import Account, make_account
from tests.helpers import fresh_app
from tests.workers.conftest import WorkerProcess

pytestmark = pytest.mark.worker

URL = "/api/workflows/nodes/test"
SET_NODE = {
    "nodeType": "set",
    "config": {"fields": [{"name": "b", "value": "{{ $json.a * 2 }}"}]},
    "inputData": {"a": 21},
}


def slow_node(seconds: float) -> dict[str, Any]:
    code = f"import time\ntime.sleep({seconds})\nreturn items"
    return {"nodeType": "code-execute", "config": {"language": "python", "code": code}}


@pytest.fixture()
def account(app: Flask, committed_db: None) -> Account:
    with app.app_context():
        return make_account()


def post(app: Flask, account: Account, body: dict[str, Any]) -> tuple[Any, float]:
    started = time.monotonic()
    response = app.test_client().post(URL, json=body, headers=account.headers)
    return response, time.monotonic() - started


def poll(app: Flask, account: Account, status_url: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = app.test_client().get(status_url, headers=account.headers)
        if response.status_code == 200:
            return response
        assert response.status_code == 202, response.get_json()
        time.sleep(0.2)
    raise AssertionError(f"{status_url} never finished")


def test_a_set_node_answers_200_within_the_wait(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "NODE_TEST_WAIT_SECONDS", 10)
    start_worker(pool="solo")
    post(app, account, SET_NODE)  # the worker's first task imports and connects
    response, elapsed = post(app, account, SET_NODE)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "succeeded"
    assert body["result"]["success"] is True
    assert body["result"]["output"] == {"main": [{"json": {"a": 21, "b": 42}}]}
    assert elapsed < 5, "woken by the completion signal, not by the end of the wait"


def test_past_the_wait_it_answers_202_and_polling_gets_the_result(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "NODE_TEST_WAIT_SECONDS", 0.5)
    start_worker(pool="solo")
    response, elapsed = post(app, account, {**slow_node(2), "inputData": {"a": 1}})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] in {"queued", "running"}
    assert 0.4 < elapsed < 2
    done = poll(app, account, body["statusUrl"]).get_json()
    assert done["testId"] == body["testId"]
    assert done["result"]["success"] is True, done
    assert done["result"]["output"] == {"main": [{"json": {"a": 1}}]}


def test_the_node_test_time_limit_interrupts_the_node(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "NODE_TEST_WAIT_SECONDS", 15)
    start_worker(pool="solo", NODE_TEST_TIMEOUT_SECONDS="1")
    response, elapsed = post(app, account, slow_node(30))
    assert response.status_code == 200, response.get_json()
    result = response.get_json()["result"]
    assert result["success"] is False
    assert "timed out" in result["error"]["message"]
    assert elapsed < 12


def _running(database_url: str, test_status: str = "running") -> bool:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM node_tests WHERE status = %s", [test_status])
        return bool(row.fetchone()[0])  # type: ignore[index]


def _in_thread(app: Flask, account: Account, body: dict[str, Any]) -> tuple[threading.Thread, list]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(post(app, account, body)))
    thread.start()
    return thread, answers


def _until(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_no_database_connection_is_held_while_waiting(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    account: Account,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "NODE_TEST_WAIT_SECONDS", 15)
    start_worker(pool="solo")
    with app.app_context():
        pool = db.engine.pool
    thread, answers = _in_thread(app, account, slow_node(2))
    _until(lambda: _running(database_url))
    time.sleep(0.3)  # the request is past its reads and waiting
    assert thread.is_alive()
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    thread.join(30)
    response, _elapsed = answers[0]
    assert response.status_code == 200, response.get_json()


def test_past_the_waiter_cap_a_request_answers_202_at_once(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    account: Account,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    hub_reset: None,
) -> None:
    monkeypatch.setitem(app.config, "NODE_TEST_WAIT_SECONDS", 15)
    monkeypatch.setitem(app.config, "MAX_WAITERS_PER_PROCESS", 1)
    start_worker(pool="solo")
    thread, answers = _in_thread(app, account, slow_node(2))
    _until(lambda: _running(database_url))
    response, elapsed = post(app, account, SET_NODE)
    assert response.status_code == 202, response.get_json()
    assert elapsed < 0.5
    assert thread.is_alive(), "the first caller is still waiting"
    thread.join(30)
    assert answers[0][0].status_code == 200
    done = poll(app, account, response.get_json()["statusUrl"]).get_json()
    assert done["result"]["output"] == {"main": [{"json": {"a": 21, "b": 42}}]}


def test_standalone_filesystem_broker_wakes_the_api_through_its_socket(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    committed_db: None,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    folder = var / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True)
    start_worker(pool="solo", CELERY_BROKER_URL="filesystem://", FLUXOLAB_VAR_DIR=str(var))
    transport = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }
    config = {
        **make_test_config(database_url, redis_url, tmp_path),
        "VAR_DIR": str(var),
        "CELERY": {"broker_url": "filesystem://", "broker_transport_options": transport},
        "NODE_TEST_WAIT_SECONDS": 20,
    }
    with fresh_app(config) as standalone:
        with standalone.app_context():
            owner = make_account()
        try:
            post(standalone, owner, SET_NODE)  # warm-up: the worker's first task
            response, elapsed = post(standalone, owner, SET_NODE)
            assert list((var / "signals").glob("*.sock")), "the API's listener socket"
        finally:
            completion.hub(standalone).close()
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["result"]["output"] == {"main": [{"json": {"a": 21, "b": 42}}]}
    assert elapsed < 10, "woken by the datagram, not by the end of the wait"
    assert uuid.UUID(response.get_json()["testId"])
