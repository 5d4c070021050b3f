"""Error runs started when a production execution fails (task bodies run in-process).

Rows are committed (``committed_db``): the runner's lease keeper reads them on its own
connection. Published tasks go to the test Redis, where no worker consumes them; each test
runs what it needs itself with ``run_execution``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from fluxolab.errorflows import service as errorflows
from fluxolab.executions import runner
from fluxolab.executions import service as executions
from fluxolab.executions.claim import Claim, claim
from fluxolab.extensions import db
from fluxolab.models import Execution, Plan, Workflow, Workspace
from fluxolab.workflows import service as workflows
from tests.factories import Account, make_account

BASE_URL = "https://flows.example.test"
FAILING = {
    "nodes": [
        {"id": "hook", "type": "webhook", "name": "Hook", "params": {"path": "p", "method": "GET"}},
        {"id": "ok", "type": "no-op", "name": "Fine"},
        {"id": "boom", "type": "stop-and-error", "name": "Boom", "params": {"message": "kaput"}},
    ],
    "connections": [{"from": "hook", "to": "ok"}, {"from": "ok", "to": "boom"}],
}
HANDLER = {
    "nodes": [
        {"id": "m", "type": "manual", "name": "Click"},
        {"id": "on-error", "type": "error-trigger", "name": "On error"},
        {"id": "log", "type": "no-op", "name": "Log"},
    ],
    "connections": [{"from": "on-error", "to": "log"}],
}
FAILING_HANDLER = {
    "nodes": [
        {"id": "on-error", "type": "error-trigger", "name": "On error"},
        {"id": "boom", "type": "stop-and-error", "name": "Boom", "params": {"message": "again"}},
    ],
    "connections": [{"from": "on-error", "to": "boom"}],
}


@pytest.fixture()
def ctx(app: Flask, committed_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", BASE_URL)
    with app.app_context():
        yield app
        db.session.remove()


def make_workflow(
    account: Account, definition: dict[str, Any], name: str, error_workflow: uuid.UUID | None
) -> uuid.UUID:
    fields: dict[str, Any] = {"name": name, "definition": definition}
    if error_workflow is not None:
        fields["settings"] = {"error_workflow_id": error_workflow}
    return uuid.UUID(str(workflows.create_workflow(account.workspace_id, None, fields).id))


def setup_pair(handler: dict[str, Any] = HANDLER) -> tuple[Account, uuid.UUID, uuid.UUID]:
    """An account, its error workflow (a draft) and a failing workflow naming it."""
    account = make_account()
    handler_id = make_workflow(account, handler, "Handler", None)
    failing_id = make_workflow(account, FAILING, "Orders", handler_id)
    return account, handler_id, failing_id


def start(account: Account, workflow_id: uuid.UUID, mode: str) -> uuid.UUID:
    execution = executions.create_execution(
        account.workspace_id, workflow_id, [{"json": {"n": 1}}], mode=mode, user_id=None
    )
    return execution.id


def runs_of(workflow_id: uuid.UUID) -> list[Execution]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(Execution)
            .where(Execution.workflow_id == workflow_id)
            .execution_options(populate_existing=True)
        ).scalars()
    )


def expected_item(failed_id: uuid.UUID, failing_id: uuid.UUID, mode: str, error: str) -> Any:
    return {
        "json": {
            "execution": {
                "id": str(failed_id),
                "url": f"{BASE_URL}/executions/{failed_id}",
                "error": error,
                "lastNodeExecuted": "Boom",
                "mode": mode,
            },
            "workflow": {"id": str(failing_id), "name": "Orders"},
        }
    }


@pytest.mark.parametrize("mode", ["webhook", "schedule", "form"])
def test_a_failed_production_run_starts_one_error_run(ctx: Flask, mode: str) -> None:
    account, handler_id, failing_id = setup_pair()
    failed_id = start(account, failing_id, mode)
    assert runner.run_execution(failed_id) == "failed"
    failed = db.session.get(Execution, failed_id)
    assert failed is not None
    [error_run] = runs_of(handler_id)
    assert error_run.mode == "error"
    assert error_run.status == "queued"
    assert error_run.trigger_node_id == "on-error"
    assert error_run.idempotency_key == f"error:{failed_id}"
    item = expected_item(failed_id, failing_id, mode, failed.error["message"])  # type: ignore[index]
    assert "kaput" in item["json"]["execution"]["error"]
    assert error_run.input_items == [item]
    # the handler is a draft: like n8n, an error workflow runs without being active
    assert db.session.get(Workflow, handler_id).status == "draft"  # type: ignore[union-attr]
    assert runner.run_execution(error_run.id) == "succeeded"
    [done] = runs_of(handler_id)
    assert done.output_items == [item]


@pytest.mark.parametrize("mode", ["manual", "test", "retry"])
def test_runs_outside_production_start_nothing(ctx: Flask, mode: str) -> None:
    account, handler_id, failing_id = setup_pair()
    failed_id = start(account, failing_id, mode)
    assert runner.run_execution(failed_id) == "failed"
    assert errorflows.start_after_end(failed_id) is None
    assert runs_of(handler_id) == []


def test_a_run_that_succeeds_starts_nothing(ctx: Flask) -> None:
    account, handler_id, _ = setup_pair()
    fine = {**FAILING, "nodes": FAILING["nodes"][:2]}
    fine["connections"] = FAILING["connections"][:1]
    watched = make_workflow(account, fine, "Fine", handler_id)
    execution_id = start(account, watched, "webhook")
    assert runner.run_execution(execution_id) == "succeeded"
    assert errorflows.start_after_end(execution_id) is None
    assert runs_of(handler_id) == []


def test_a_worker_time_out_starts_the_error_run(ctx: Flask) -> None:
    account, handler_id, failing_id = setup_pair()
    execution_id = start(account, failing_id, "schedule")
    claimed = claim(execution_id)
    assert isinstance(claimed, Claim)
    runner.fail_running(execution_id, "timed_out", "A execucao excedeu o tempo.", "timeout")
    [error_run] = runs_of(handler_id)
    item = error_run.input_items[0]["json"]
    assert item["execution"] == {
        "id": str(execution_id),
        "url": f"{BASE_URL}/executions/{execution_id}",
        "error": "A execucao excedeu o tempo.",
        "lastNodeExecuted": None,
        "mode": "schedule",
    }
    # a second end of the same run (a redelivered task) changes nothing
    runner.fail_running(execution_id, "timed_out", "again", "timeout")
    assert len(runs_of(handler_id)) == 1


def test_repeated_ends_start_exactly_one_error_run(ctx: Flask) -> None:
    account, handler_id, failing_id = setup_pair()
    failed_id = start(account, failing_id, "webhook")
    assert runner.run_execution(failed_id) == "failed"
    first = runs_of(handler_id)[0].id
    assert runner.run_execution(failed_id) == "skipped"  # a redelivery of the finished run
    again = errorflows.start_after_end(failed_id)
    assert again is not None and again.id == first
    runner.fail_running(failed_id, "failed", "late", "internal")  # not running: no-op
    assert [run.id for run in runs_of(handler_id)] == [first]


def test_an_error_run_failing_starts_nothing_even_in_a_cycle(ctx: Flask) -> None:
    account = make_account()
    first = make_workflow(account, FAILING_HANDLER, "First", None)
    second = make_workflow(account, FAILING_HANDLER, "Second", first)
    names_second = update(Workflow).where(Workflow.id == first).values(error_workflow_id=second)
    db.session.execute(names_second)
    db.session.commit()
    failing = make_workflow(account, FAILING, "Orders", first)
    failed_id = start(account, failing, "webhook")
    assert runner.run_execution(failed_id) == "failed"
    [error_run] = runs_of(first)
    assert runner.run_execution(error_run.id) == "failed"
    assert errorflows.start_after_end(error_run.id) is None
    assert runs_of(second) == []
    assert len(runs_of(first)) == 1


def test_a_sub_execution_of_a_production_run_counts(ctx: Flask) -> None:
    account, handler_id, failing_id = setup_pair()
    parent_id = start(account, failing_id, "webhook")
    child = executions.create_execution(
        account.workspace_id,
        failing_id,
        [{"json": {}}],
        mode="subworkflow",
        user_id=None,
        parent_id=parent_id,
        depth=1,
    )
    assert runner.run_execution(child.id) == "failed"
    [error_run] = runs_of(handler_id)
    assert error_run.input_items[0]["json"]["execution"]["id"] == str(child.id)
    assert error_run.input_items[0]["json"]["execution"]["mode"] == "subworkflow"


def test_a_handler_without_error_trigger_is_logged_and_skipped(
    ctx: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    account, handler_id, failing_id = setup_pair({"nodes": [{"id": "m", "type": "manual"}]})
    failed_id = start(account, failing_id, "webhook")
    with caplog.at_level(logging.WARNING, logger="fluxolab.errorflows.service"):
        assert runner.run_execution(failed_id) == "failed"
    assert "has no live error-trigger node" in caplog.text
    assert runs_of(handler_id) == []


def test_over_the_plan_quota_the_error_run_is_logged_and_skipped(
    ctx: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    account, handler_id, failing_id = setup_pair()
    failed_id = start(account, failing_id, "webhook")
    limit = db.session.execute(
        select(Plan.limits["executions"].as_integer())
        .join(Workspace, Workspace.plan_id == Plan.id)
        .where(Workspace.id == account.workspace_id)
    ).scalar_one()
    assert limit is not None
    db.session.execute(
        update(Workspace).where(Workspace.id == account.workspace_id).values(executions_used=limit)
    )
    db.session.commit()
    with caplog.at_level(logging.WARNING, logger="fluxolab.errorflows.service"):
        assert runner.run_execution(failed_id) == "failed"
    assert "not started" in caplog.text
    assert runs_of(handler_id) == []
    total = db.session.execute(select(func.count()).select_from(Execution)).scalar_one()
    assert total == 1


def test_a_run_given_up_after_its_deliveries_starts_the_error_run(ctx: Flask) -> None:
    account, handler_id, failing_id = setup_pair()
    execution_id = start(account, failing_id, "webhook")
    deliveries = int(ctx.config["EXECUTION_MAX_DELIVERIES"])
    db.session.execute(
        update(Execution).where(Execution.id == execution_id).values(deliveries=deliveries)
    )
    db.session.commit()
    assert runner.run_execution(execution_id) == "skipped"
    [error_run] = runs_of(handler_id)
    item = error_run.input_items[0]["json"]
    assert item["execution"]["id"] == str(execution_id)
    assert "tentativas de entrega" in item["execution"]["error"]


def test_a_node_time_out_starts_the_error_run(ctx: Flask) -> None:
    account = make_account()
    handler_id = make_workflow(account, HANDLER, "Handler", None)
    slow = {
        "id": "slow",
        "type": "code-execute",
        "name": "Slow",
        "params": {"language": "python", "code": "import time\ntime.sleep(3)\nreturn items"},
        "settings": {"timeoutMs": 200},
    }
    definition = {
        "nodes": [FAILING["nodes"][0], slow],
        "connections": [{"from": "hook", "to": "slow"}],
    }
    watched = make_workflow(account, definition, "Orders", handler_id)
    execution_id = start(account, watched, "form")
    assert runner.run_execution(execution_id) == "timed_out"
    [error_run] = runs_of(handler_id)
    item = error_run.input_items[0]["json"]
    assert item["execution"]["id"] == str(execution_id)
    assert item["execution"]["mode"] == "form"
    assert item["execution"]["lastNodeExecuted"] == "Slow"
    assert item["execution"]["error"]
