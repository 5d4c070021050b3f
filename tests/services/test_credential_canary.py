"""A canary secret used by a failing run (the worker's task body, in-process, committed rows)
is found nowhere in the database but, encrypted, in the credential row; nor in the API's
answers or the app log. ``last_used_at`` is written with the run's outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text

from fluxolab.credentials import service as credentials
from fluxolab.engine.registry import registry
from fluxolab.executions import service as executions
from fluxolab.executions.runner import run_execution
from fluxolab.extensions import db
from fluxolab.models import Credential, Execution
from fluxolab.workflows import service as workflows
from tests.factories import make_account
from tests.services.test_credential_resolver import CANARY, ECHO, definition


@pytest.fixture(autouse=True)
def echo_node() -> Iterator[None]:
    registry.add(ECHO)
    yield
    registry._types.pop(ECHO.type)
    registry._lookup.pop(ECHO.type)


def database_text() -> dict[str, str]:
    """Every row of every table as text, by table."""
    tables = [table.name for table in db.metadata.sorted_tables]
    dump = 'SELECT t::text FROM "{}" t'  # table names come from the metadata
    return {
        name: "\n".join(db.session.execute(text(dump.format(name))).scalars()) for name in tables
    }


def test_a_failing_run_leaves_the_canary_only_encrypted(
    app: Flask, committed_db: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        account = make_account()
        fields = {"name": "api", "type": "http-bearer", "secret": {"token": CANARY}}
        credential = credentials.create_credential(account.workspace_id, account.user_id, fields)
        workflow = workflows.create_workflow(
            account.workspace_id,
            account.user_id,
            {"name": "W", "definition": definition(credential.id, fail=True)},
        )
        execution_id = executions.create_execution(
            account.workspace_id, workflow.id, [{"json": {}}], mode="manual", user_id=None
        ).id
        db.session.commit()
        assert run_execution(execution_id) == "failed"
        db.session.remove()

        execution = db.session.get(Execution, execution_id)
        assert execution is not None and execution.error is not None
        assert execution.error["message"] == "upstream refused token ***"
        row = db.session.get(Credential, credential.id)
        assert row is not None and row.last_used_at is not None
        assert credentials.decrypt(row) == {"token": CANARY}  # it is there, encrypted
        stored = database_text()
        assert [name for name, rows in stored.items() if CANARY in rows] == []

        client = app.test_client()
        answers = [
            client.get(f"/api/executions/{execution_id}", headers=account.headers),
            client.get(f"/api/workflows/{workflow.id}/executions", headers=account.headers),
            client.get(f"/api/credentials/{credential.id}", headers=account.headers),
            client.get("/api/credentials", headers=account.headers),
        ]
        for answer in answers:
            assert answer.status_code == 200
            assert CANARY not in answer.get_data(as_text=True)
        assert "***" in answers[0].get_data(as_text=True)
    assert CANARY not in caplog.text


def test_a_run_without_credentials_writes_no_usage(app: Flask, committed_db: None) -> None:
    with app.app_context():
        account = make_account()
        fields = {"name": "api", "type": "http-bearer", "secret": {"token": CANARY}}
        credential = credentials.create_credential(account.workspace_id, account.user_id, fields)
        plain = {"nodes": [{"id": "t", "type": "manual"}], "connections": []}
        workflow = workflows.create_workflow(
            account.workspace_id, account.user_id, {"name": "W", "definition": plain}
        )
        execution_id = executions.create_execution(
            account.workspace_id, workflow.id, [{"json": {}}], mode="manual", user_id=None
        ).id
        db.session.commit()
        assert run_execution(execution_id) == "succeeded"
        db.session.remove()
        row = db.session.get(Credential, credential.id)
        assert row is not None and row.last_used_at is None
