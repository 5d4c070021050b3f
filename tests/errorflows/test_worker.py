"""A failing production run through a real Celery worker starts and finishes its error run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from fluxolab.executions import service as executions
from fluxolab.extensions import db
from fluxolab.models import Execution
from fluxolab.workflows import service as workflows
from tests.errorflows.test_error_runs import FAILING, HANDLER
from tests.factories import make_account
from tests.workers.conftest import WorkerProcess, wait_for_status

pytestmark = pytest.mark.worker

BASE_URL = "https://flows.example.test"


def error_run_of(app: Flask, handler_id: uuid.UUID, timeout: float = 30) -> uuid.UUID:
    """Wait until the error workflow has a run; return its id (there must be exactly one)."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            ids = list(
                db.session.execute(
                    select(Execution.id).where(Execution.workflow_id == handler_id)
                ).scalars()
            )
        if ids:
            assert len(ids) == 1
            return ids[0]
        assert time.monotonic() < deadline, "no error run was started"
        time.sleep(0.1)


def test_a_failing_webhook_run_leads_to_a_finished_error_run(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(PUBLIC_BASE_URL=BASE_URL)
    with app.app_context():
        account = make_account()
        handler = workflows.create_workflow(
            account.workspace_id, None, {"name": "Handler", "definition": HANDLER}
        )
        failing = workflows.create_workflow(
            account.workspace_id,
            None,
            {
                "name": "Orders",
                "definition": FAILING,
                "settings": {"error_workflow_id": handler.id},
            },
        )
        handler_id, failing_id = handler.id, failing.id
        failed_id = executions.create_execution(
            account.workspace_id, failing_id, [{"json": {"n": 1}}], mode="webhook", user_id=None
        ).id
    failed = wait_for_status(app, failed_id)
    assert failed.status == "failed"
    error_id = error_run_of(app, handler_id)
    done = wait_for_status(app, error_id)
    assert done.status == "succeeded", done.error
    assert done.mode == "error"
    assert done.trigger_node_id == "on-error"
    item = {
        "execution": {
            "id": str(failed_id),
            "url": f"{BASE_URL}/executions/{failed_id}",
            "error": failed.error["message"],  # type: ignore[index]
            "lastNodeExecuted": "Boom",
            "mode": "webhook",
        },
        "workflow": {"id": str(failing_id), "name": "Orders"},
    }
    assert "kaput" in item["execution"]["error"]
    assert done.input_items == [{"json": item}]
    assert done.output_items == [{"json": item}]
    time.sleep(1)  # nothing else follows: still exactly one error run
    assert error_run_of(app, handler_id) == error_id
