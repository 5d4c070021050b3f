"""A canary secret used by a failing workflow run through a real Celery worker appears
nowhere but the encrypted column: not in the API's answers, the execution's steps, output
or error, the worker's log, the Redis keys and messages, or the app log.

The run's HTTP Request node sends the credential to a loopback echo server, which answers
with a 401 quoting the Authorization header it received, so the failed step's error carries
the secret unless it is masked.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import text

from fluxolab.extensions import db
from tests.factories import make_account
from tests.helpers import authorization_echo
from tests.workers.conftest import WorkerProcess, wait_for_status

pytestmark = pytest.mark.worker

CANARY = f"canary-{uuid.uuid4().hex}"


@pytest.fixture()
def echo_url() -> Iterator[str]:
    with authorization_echo(401) as url:
        yield url


def _bodies(value: Any) -> Iterator[bytes]:
    """Decode kombu's base64 message bodies found anywhere in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "body" and isinstance(item, str):
                try:
                    yield base64.b64decode(item, validate=True)
                except (binascii.Error, ValueError):
                    yield item.encode()
            else:
                yield from _bodies(item)
    elif isinstance(value, list):
        for item in value:
            yield from _bodies(item)


def redis_dump(url: str) -> bytes:
    """Every key and value of the broker's database, message bodies decoded."""
    client = redis.Redis.from_url(url)
    chunks: list[bytes] = []
    for key in client.scan_iter():
        chunks.append(key)
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"list":
            values = list(client.lrange(key, 0, -1))
        elif kind == b"hash":
            values = [v for pair in client.hgetall(key).items() for v in pair]
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = list(client.zrange(key, 0, -1))
        else:
            values = []
        for value in values:
            chunks.append(value)
            with contextlib.suppress(ValueError):
                chunks.extend(_bodies(json.loads(value)))
    return b"\n".join(chunks)


def test_canary_secret_of_a_failing_run_is_only_in_the_encrypted_column(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    redis_url: str,
    echo_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    worker = start_worker(EGRESS_ALLOW="127.0.0.1")
    with app.app_context():
        account = make_account()
        client = app.test_client()
        created = client.post(
            "/api/workflows/credentials",
            json={"name": "api", "type": "http-bearer", "secret": {"token": CANARY}},
            headers=account.headers,
        )
        assert created.status_code == 201
        credential_id = created.get_json()["credential"]["id"]
        definition = {
            "nodes": [
                {"id": "t", "type": "manual"},
                {
                    "id": "call",
                    "name": "Call API",
                    "type": "http-request",
                    "params": {"method": "GET", "url": echo_url, "credentialId": credential_id},
                },
                {
                    "id": "boom",
                    "type": "code-execute",
                    "params": {"language": "python", "code": "raise ValueError(str(items))"},
                },
            ],
            "connections": [{"from": "t", "to": "call"}, {"from": "call", "to": "boom"}],
        }
        workflow = client.post(
            "/api/workflows", json={"name": "W", "definition": definition}, headers=account.headers
        )
        assert workflow.status_code == 201, workflow.get_json()
        workflow_id = workflow.get_json()["workflow"]["id"]
        run = client.post(f"/api/workflows/{workflow_id}/run", json={}, headers=account.headers)
        assert run.status_code == 202, run.get_json()
        execution_id = uuid.UUID(run.get_json()["executionId"])
    execution = wait_for_status(app, execution_id)
    assert execution.status == "failed", execution.error
    with app.app_context():
        client = app.test_client()
        answers = [
            client.get(f"/api/executions/{execution_id}", headers=account.headers),
            client.get(f"/api/workflows/{workflow_id}/executions", headers=account.headers),
            client.get(f"/api/credentials/{credential_id}", headers=account.headers),
            client.get("/api/workflows/credentials", headers=account.headers),
        ]
        for answer in answers:
            assert answer.status_code == 200
            assert CANARY not in answer.get_data(as_text=True)
        tables = [table.name for table in db.metadata.sorted_tables]
        dump = 'SELECT t::text FROM "{}" t'  # table names come from the metadata
        leaked = [
            name
            for name in tables
            if CANARY in "".join(db.session.execute(text(dump.format(name))).scalars())
        ]
        assert leaked == []
    assert CANARY not in worker.log()
    assert CANARY.encode() not in redis_dump(redis_url)
    assert CANARY not in caplog.text
