"""Real Celery worker processes against the test PostgreSQL and Redis (committed data)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from fluxolab.extensions import db
from fluxolab.models import Execution

ROOT = Path(__file__).resolve().parents[2]
FINISHED = {"succeeded", "failed", "canceled", "timed_out", "waiting"}


class WorkerProcess:
    """A ``celery -A workers worker`` subprocess in its own process group."""

    def __init__(
        self, env: dict[str, str], log_path: Path, concurrency: int = 1, pool: str = "prefork"
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.concurrency = concurrency
        self.pool = pool
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers",
                "worker",
                "--pool",
                self.pool,
                "--concurrency",
                str(self.concurrency),
                "-Q",
                "executions,node_tests,maintenance",
                "--hostname",
                f"test-{uuid.uuid4().hex[:8]}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture()
def worker_env(database_url: str, redis_url: str) -> dict[str, str]:
    """Environment for worker subprocesses: test DB, own Redis db, short leases."""
    env = {key: value for key, value in os.environ.items()}
    env.update(
        FLUXOLAB_ENV="test",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=redis_url,
        REDIS_URL=redis_url,
        RATELIMIT_STORAGE_URI=redis_url,
        CELERY_VISIBILITY_TIMEOUT="4",
        CELERY_UNACKED_RESTORE_INTERVAL="1",
        EXECUTION_LEASE_SECONDS="3",
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture()
def start_worker(
    worker_env: dict[str, str], redis_url: str, tmp_path: Path, committed_db: None
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes; all are stopped and the broker db flushed afterwards."""
    redis.Redis.from_url(redis_url).flushdb()
    started: list[WorkerProcess] = []

    def start(concurrency: int = 1, pool: str = "prefork", **extra_env: str) -> WorkerProcess:
        env = {**worker_env, **extra_env}
        log_path = tmp_path / f"worker{len(started)}.log"
        worker = WorkerProcess(env, log_path, concurrency, pool).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- {worker.log_path.name} ---\n{worker.log()[-4000:]}")  # shown on failure
    redis.Redis.from_url(redis_url).flushdb()


def wait_for_status(
    app: Flask, execution_id: uuid.UUID, statuses: set[str] = FINISHED, timeout: float = 30
) -> Execution:
    """Poll the database until the execution reaches one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            execution = db.session.get(Execution, execution_id)
            assert execution is not None
            if execution.status in statuses:
                db.session.expunge(execution)
                return execution
            db.session.remove()
        if time.monotonic() > deadline:
            raise AssertionError(f"execution {execution_id} stuck in {execution.status}")
        time.sleep(0.1)


@pytest.fixture()
def hub_reset(app: Flask) -> Iterator[None]:
    """A fresh completion hub for the session app before and after (cap read from config)."""

    def drop() -> None:
        entry = app.extensions.pop("completion", None)
        if entry is not None:
            entry[1].close()

    drop()
    yield
    drop()
