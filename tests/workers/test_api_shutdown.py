"""SIGTERM of the API server with requests in flight: each gets its real answer before it exits.

The servers are real processes against the test PostgreSQL and Redis: gunicorn as compose
runs it, and the standalone waitress server (``python -m fluxolab.webserver``). The requests
are webhook calls in the ``on_last_node`` mode with no worker running: each waits
``WEBHOOK_WAIT_SECONDS`` for its run, then answers 202 with its ``executionId``. More calls
than the server has threads, so some still wait for a thread when the signal comes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fluxolab.extensions import db
from fluxolab.models import Execution
from tests.factories import make_account
from tests.webhooks.helpers import active_hook, hook_flow, url

pytestmark = [pytest.mark.worker, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 5.0
THREADS = {"gunicorn": 4, "waitress": 8}  # gunicorn 1 worker x 4 threads; waitress 8
CALLS = 12  # more than either server's threads


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _argv(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}",
            "--workers", "1", "--threads", str(THREADS["gunicorn"]),
        ]  # fmt: skip
    return [sys.executable, "-m", "fluxolab.webserver", "--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture()
def server(
    request: pytest.FixtureRequest, worker_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], int, Path]]:
    """The API server of ``request.param`` on a free port (stopped after the test)."""
    port = _free_port()
    env = {
        **worker_env,
        "WEBHOOK_WAIT_SECONDS": str(WAIT_S),
        "MAX_WAITERS_PER_PROCESS": str(CALLS * 2),
        "FLUXOLAB_VAR_DIR": str(tmp_path),
    }
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            _argv(request.param, port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        yield request.param, proc, port, log_path
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for_runs(app: Flask, count: int, log_path: Path) -> None:
    deadline = time.monotonic() + WAIT_S * 0.8
    while time.monotonic() < deadline:
        with app.app_context():
            stored = db.session.scalar(select(func.count()).select_from(Execution))
            db.session.remove()
        if stored is not None and stored >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{stored} calls reached the server:\n{log_path.read_text()[-2000:]}")


@pytest.mark.parametrize("server", ["gunicorn", "waitress"], indirect=True)
def test_sigterm_lets_requests_in_flight_finish_with_their_answers(
    app: Flask, committed_db: None, server: tuple[str, subprocess.Popen[bytes], int, Path]
) -> None:
    kind, proc, port, log_path = server
    with app.app_context():
        client: FlaskClient = app.test_client()
        owner = make_account()
        _, token = active_hook(client, owner, hook_flow({"respondMode": "on_last_node"}))
    endpoint = f"http://127.0.0.1:{port}{url(token)}"

    def call(index: int) -> httpx.Response:
        return httpx.post(endpoint, json={"n": index}, timeout=WAIT_S * 6)

    with ThreadPoolExecutor(CALLS) as pool:
        futures = [pool.submit(call, index) for index in range(CALLS)]
        # every thread holds a call waiting for its run; the others wait for a thread
        _wait_for_runs(app, THREADS[kind], log_path)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        answers = [future.result() for future in futures]
    assert proc.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    assert [answer.status_code for answer in answers] == [202] * CALLS, log_path.read_text()
    ids = {uuid.UUID(answer.json()["executionId"]) for answer in answers}
    assert len(ids) == CALLS
    with app.app_context():
        stored = set(db.session.scalars(select(Execution.id).where(Execution.id.in_(ids))))
    assert stored == ids
