"""A real Redis stopped while webhooks arrive: calls are still acknowledged (persisted), the
rate limiter fails open, waiting modes fall back to 202, and every accepted call runs exactly
once after Redis is back and the sweeper re-publishes.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from fluxolab.executions import sweeper
from fluxolab.extensions import db
from fluxolab.models import utcnow
from tests.conftest import make_test_config
from tests.factories import make_account
from tests.helpers import fresh_app
from tests.webhooks.helpers import active_hook, hook_flow, url
from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_execution_faults import change, stale_age

pytestmark = pytest.mark.worker


class PrivateRedis:
    """A redis-server of this test's own, on a fixed loopback port, that can be stopped."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture()
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_down_during_intake_still_acknowledges_and_runs_each_call_once(
    app: Flask,
    committed_db: None,
    database_url: str,
    private_redis: PrivateRedis,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    config = {
        **make_test_config(database_url, private_redis.url, tmp_path),
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": private_redis.url,
        "WEBHOOK_WAIT_SECONDS": 1.0,
    }
    with fresh_app(config) as down_app, down_app.app_context():
        client = down_app.test_client()
        owner = make_account()
        _, token = active_hook(client, owner, hook_flow())
        _, waiting = active_hook(client, owner, hook_flow({"respondMode": "when_complete"}))
        private_redis.stop()
        accepted: list[uuid.UUID] = []
        for target in (token, waiting, token):
            started = time.monotonic()
            response = client.post(url(target), json={"n": 1})
            assert response.status_code == 202, response.get_data(as_text=True)
            assert time.monotonic() - started < 4
            accepted.append(uuid.UUID(response.get_json()["executionId"]))
        db.session.remove()
        private_redis.start()  # Redis is back, empty: the messages were never published
        start_worker(pool="solo", CELERY_BROKER_URL=private_redis.url, REDIS_URL=private_redis.url)
        long_ago = utcnow() - stale_age(down_app)
        for execution_id in accepted:
            change(down_app, execution_id, created_at=long_ago, queued_at=long_ago)
        assert sweeper.republish_stale() == len(accepted)
        for execution_id in accepted:
            execution = wait_for_status(down_app, execution_id)
            assert (execution.status, execution.deliveries) == ("succeeded", 1)
