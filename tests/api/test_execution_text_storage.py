"""Execution data holding NUL or unpaired surrogates is stored and served as U+FFFD, on both
databases: node output (Code, Set with expressions), run input and trigger data."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from fluxolab.executions import service as executions
from fluxolab.executions.runner import run_execution
from fluxolab.extensions import db
from tests.conftest import make_test_config
from tests.factories import Account, make_account
from tests.helpers import fresh_app

BAD = "\ud800\u0000"  # an unpaired surrogate, then NUL
STORED = "\ufffd\ufffd"
# The API refuses request bodies holding a NUL escape, so the definitions build NUL at run time.
CODE = """
bad = chr(0xD800) + chr(0)
return [{"json": {"value": bad, bad + "key": 1, "deep": [{"x": "a" + chr(0) + "b"}]}}]
"""
SET_FROM_EXPRESSIONS = {
    "mode": "raw",
    "jsonOutput": r"""{{ JSON.parse('{"k\\u' + '0000": "\\ud800", "pair": "\\ud83d\\ude00"}') }}""",
}
DEFINITION = {
    "nodes": [
        {"id": "t", "type": "manual"},
        {"id": "code", "type": "code-execute", "params": {"language": "python", "code": CODE}},
        {"id": "set", "type": "set", "params": SET_FROM_EXPRESSIONS},
    ],
    "connections": [{"from": "t", "to": "code"}, {"from": "code", "to": "set"}],
}


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(
    request: pytest.FixtureRequest, app: Flask, redis_url: str, tmp_path: Path
) -> Iterator[FlaskClient]:
    """Yield a client inside an app context on the test PostgreSQL or on a fresh SQLite file."""
    if request.param == "postgresql":
        with app.app_context():
            yield app.test_client()
        return
    config = make_test_config(f"sqlite:///{tmp_path / 'fluxolab.db'}", redis_url, tmp_path)
    with fresh_app(config) as scratch, scratch.app_context():
        upgrade()
        try:
            yield scratch.test_client()
        finally:
            db.session.remove()


def _strings(value: Any) -> Iterator[str]:
    """Yield every key and string value inside ``value``."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _served(client: FlaskClient, account: Account, execution_id: str) -> dict[str, Any]:
    """GET the execution; assert the body is strict UTF-8 JSON holding only storable text."""
    response = client.get(f"/api/executions/{execution_id}", headers=account.headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = json.loads(response.get_data().decode("utf-8", errors="strict"))
    for text in _strings(body):
        assert "\x00" not in text
        assert not any(0xD800 <= ord(char) <= 0xDFFF for char in text), repr(text)
    execution = body["execution"]
    assert isinstance(execution, dict)
    return execution


def _workflow(client: FlaskClient, account: Account, definition: dict[str, Any]) -> str:
    response = client.post(
        "/api/workflows", json={"name": "W", "definition": definition}, headers=account.headers
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["workflow"]["id"])


def _step(execution: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(step for step in execution["steps"] if step["nodeId"] == node_id)


def test_node_output_with_nul_and_lone_surrogates_is_stored_and_served(
    backend: FlaskClient,
) -> None:
    account = make_account()
    workflow_id = _workflow(backend, account, DEFINITION)
    response = backend.post(f"/api/workflows/{workflow_id}/run", headers=account.headers)
    assert response.status_code == 202, response.get_json()
    execution_id = response.get_json()["executionId"]
    assert run_execution(uuid.UUID(execution_id)) == "succeeded"
    execution = _served(backend, account, execution_id)
    assert execution["status"] == "succeeded"
    code_out = _step(execution, "code")["output"]["main"][0]["json"]
    assert code_out == {"value": STORED, f"{STORED}key": 1, "deep": [{"x": "a\ufffdb"}]}
    assert _step(execution, "set")["inputItems"][0]["json"] == code_out
    expected = {**code_out, "k\ufffd": "\ufffd", "pair": "\U0001f600"}
    assert _step(execution, "set")["output"]["main"][0]["json"] == expected
    assert execution["outputItems"] == [{"json": expected}]


def test_trigger_data_not_parsed_from_a_request_body_is_stored_safely(
    backend: FlaskClient,
) -> None:
    account = make_account()
    workflow_id = _workflow(backend, account, {"nodes": [{"id": "t", "type": "manual"}]})
    items = [{"json": {BAD: BAD, "error": {"message": f"upstream said {BAD}"}}}]
    execution = executions.create_execution(
        account.workspace_id, uuid.UUID(workflow_id), items, mode="schedule", user_id=None
    )
    assert run_execution(execution.id) == "succeeded"
    served = _served(backend, account, str(execution.id))
    stored = {STORED: STORED, "error": {"message": f"upstream said {STORED}"}}
    assert served["inputItems"] == [{"json": stored}]
    assert served["outputItems"] == [{"json": stored}]


def test_failed_step_error_and_logs_with_nul_and_lone_surrogates_are_stored(
    backend: FlaskClient,
) -> None:
    code = 'print("log" + chr(0))\nraise ValueError(chr(0xD800) + chr(0))'
    definition = {
        "nodes": [
            {"id": "t", "type": "manual"},
            {"id": "code", "type": "code-execute", "params": {"language": "python", "code": code}},
        ],
        "connections": [{"from": "t", "to": "code"}],
    }
    account = make_account()
    workflow_id = _workflow(backend, account, definition)
    response = backend.post(f"/api/workflows/{workflow_id}/run", headers=account.headers)
    execution_id = response.get_json()["executionId"]
    assert run_execution(uuid.UUID(execution_id)) == "failed"
    execution = _served(backend, account, execution_id)
    step = _step(execution, "code")
    assert step["status"] == "failed"
    assert STORED in step["error"]["message"]
    assert STORED in execution["error"]["message"]
    assert any("log\ufffd" in line for line in step["logs"])
