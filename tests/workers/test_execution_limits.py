"""Limits of a run through a real worker: the Code sandbox, the workspace concurrency, timeouts.

The concurrency wake-up and FIFO cases are interleavings a worker cannot reproduce on demand,
so they run the task body in-process and nest the overlapping runs inside ``engine.run``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, update

from fluxolab import dispatch, engine
from fluxolab.executions import runner, service
from fluxolab.executions.runner import run_execution
from fluxolab.extensions import db
from fluxolab.models import Execution, Plan, Workspace, utcnow
from fluxolab.workflows import service as workflows
from tests.factories import make_account
from tests.workers.conftest import WorkerProcess, wait_for_status
from tests.workers.test_execution_worker import create_workflow, run, steps_of

LIMITS_ENV = {"CODE_CPU_SECONDS": "1", "CODE_WALL_SECONDS": "5", "CODE_MEMORY_MB": "64"}


def code_then_no_op(code: str) -> dict[str, Any]:
    """manual -> code-execute ``code`` -> no-op."""
    return {
        "nodes": [
            {"id": "t", "type": "manual"},
            {"id": "code", "type": "code-execute", "params": {"language": "python", "code": code}},
            {"id": "end", "type": "no-op"},
        ],
        "connections": [{"from": "t", "to": "code"}, {"from": "code", "to": "end"}],
    }


def add_workflow(app: Flask, account: Any, definition: dict[str, Any]) -> uuid.UUID:
    """Create another workflow for ``account`` over HTTP (committed)."""
    with app.app_context():
        response = app.test_client().post(
            "/api/workflows", json={"name": "W2", "definition": definition}, headers=account.headers
        )
        assert response.status_code == 201, response.get_json()
        return uuid.UUID(response.get_json()["workflow"]["id"])


def pool_pids(worker: WorkerProcess) -> set[int]:
    """Live child processes of the worker's main process (its prefork pool)."""
    assert worker.proc is not None and worker.proc.poll() is None
    children = set()
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == worker.proc.pid and fields[0] not in "ZX":
            children.add(int(entry.name))
    return children


def limit_concurrency(workspace_id: uuid.UUID, concurrency: int) -> uuid.UUID:
    """Move the workspace to a plan of its own with ``concurrency`` (plans are shared rows)."""
    workspace = db.session.get(Workspace, workspace_id)
    assert workspace is not None
    shared = db.session.get(Plan, workspace.plan_id)
    assert shared is not None
    plan = Plan(
        id=uuid.uuid4(),
        code=f"test-{uuid.uuid4().hex[:8]}",
        name="Test",
        limits={**shared.limits, "concurrency": concurrency},
        features=[],
    )
    db.session.add(plan)
    db.session.flush()
    workspace.plan_id = plan.id
    db.session.commit()
    return shared.id


@pytest.fixture()
def committed_plan(app: Flask) -> Iterator[Callable[[uuid.UUID, int], None]]:
    """``limit_concurrency`` with committed rows; the extra plan row is removed afterwards."""
    moved: list[tuple[uuid.UUID, uuid.UUID]] = []

    def limit(workspace_id: uuid.UUID, concurrency: int) -> None:
        with app.app_context():
            shared = limit_concurrency(workspace_id, concurrency)
            workspace = db.session.get(Workspace, workspace_id)
            assert workspace is not None
            moved.append((workspace.plan_id, shared))

    yield limit
    with app.app_context():
        for own, shared in moved:
            db.session.execute(
                update(Workspace).where(Workspace.plan_id == own).values(plan_id=shared)
            )
            db.session.execute(delete(Plan).where(Plan.id == own))
        db.session.commit()


BOMBS = {  # code -> what its error must say (the limit it hit)
    "while True:\n    pass": r"^Code exceeded its CPU time limit \(1 s\)$",
    "a = []\nwhile True:\n    a.append('x' * 10**6)": (
        r"^Code exceeded its memory limit \(64 MiB\)$"
    ),
    "import os\nwhile True:\n    os.fork()": r"(?i)process(es)? limit",
}


@pytest.mark.worker
def test_code_over_a_limit_fails_only_its_execution_and_the_worker_runs_on(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    """An infinite loop, a memory bomb and a fork bomb, one after the other on one worker."""
    worker = start_worker(**LIMITS_ENV)
    account, normal = create_workflow(app, code_then_no_op("return items"))
    assert wait_for_status(app, run(app, account, normal)).status == "succeeded"
    pool = pool_pids(worker)
    assert pool
    errors = {}
    for code in BOMBS:
        execution_id = run(app, account, add_workflow(app, account, code_then_no_op(code)))
        failed = wait_for_status(app, execution_id, timeout=20)
        assert (failed.status, steps_of(app, execution_id)) == ("failed", ["t", "code"]), code
        assert failed.error is not None
        assert (failed.error["nodeId"], failed.error["type"]) == ("code", "CodeError"), code
        errors[code] = failed.error["message"]
    assert wait_for_status(app, run(app, account, normal)).status == "succeeded"
    assert pool_pids(worker) == pool  # the same pool process ran every one of them
    unclear = {
        code: errors[code] for code, limit in BOMBS.items() if not re.search(limit, errors[code])
    }
    assert unclear == {}, "errors that do not name the limit"


SLEEP_ONE_SECOND = code_then_no_op("import time\ntime.sleep(1)\nreturn items")


@pytest.mark.worker
def test_concurrency_limit_keeps_the_rest_queued_and_runs_them_in_order(
    app: Flask,
    start_worker: Callable[..., WorkerProcess],
    committed_plan: Callable[[uuid.UUID, int], None],
) -> None:
    account, workflow_id = create_workflow(app, SLEEP_ONE_SECOND)
    committed_plan(account.workspace_id, 1)
    start_worker(concurrency=2)
    ids = [run(app, account, workflow_id)]
    wait_for_status(app, ids[0], {"running"})
    ids += [run(app, account, workflow_id) for _ in range(2)]  # both arrive while it runs
    runs = [wait_for_status(app, execution_id, timeout=20) for execution_id in ids]
    assert [execution.status for execution in runs] == ["succeeded"] * 3
    spans = []
    for execution in runs:
        assert execution.started_at is not None and execution.finished_at is not None
        spans.append((execution.started_at, execution.finished_at))
    assert sorted(spans) == spans  # FIFO: they started in creation order
    for (_, end), (start, _) in pairwise(spans):
        assert end <= start  # never two at once


@pytest.mark.worker
def test_run_timeout_inside_a_node_ends_the_execution_timed_out(
    app: Flask, start_worker: Callable[..., WorkerProcess]
) -> None:
    start_worker(EXECUTION_TIMEOUT_SECONDS="1")
    account, workflow_id = create_workflow(
        app, code_then_no_op("import time\ntime.sleep(2)\nreturn items")
    )
    execution_id = run(app, account, workflow_id)
    execution = wait_for_status(app, execution_id, timeout=20)
    assert execution.status == "timed_out", execution.error
    assert "end" not in steps_of(app, execution_id)


@pytest.mark.worker
@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_task_soft_time_limit_ends_the_execution_timed_out(
    app: Flask, start_worker: Callable[..., WorkerProcess], pool: str
) -> None:
    start_worker(pool=pool, CELERY_TASK_SOFT_TIME_LIMIT="1", CELERY_TASK_TIME_LIMIT="10")
    account, workflow_id = create_workflow(
        app, code_then_no_op("import time\ntime.sleep(2)\nreturn items")
    )
    execution_id = run(app, account, workflow_id)
    execution = wait_for_status(app, execution_id, timeout=20)
    assert execution.status == "timed_out", execution.error
    assert execution.error == {
        "message": "A execucao excedeu o tempo do worker.",
        "type": "timeout",
    }


# In-process: overlapping runs nested inside engine.run (task bodies as a worker would run them).


@pytest.fixture()
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Ids of published ``executions.run`` tasks (recorded instead of sent)."""
    ids: list[str] = []

    def record(task_name: str, *args: Any, countdown: float | None = None) -> bool:
        assert task_name == "executions.run"
        ids.append(str(args[0]))
        return True

    def record_runs(execution_ids: list[str]) -> bool:
        ids.extend(execution_ids)
        return True

    monkeypatch.setattr(dispatch, "send", record)
    monkeypatch.setattr(dispatch, "send_runs", record_runs)
    return ids


def overlap(monkeypatch: pytest.MonkeyPatch, during: dict[uuid.UUID, list[uuid.UUID]]) -> None:
    """While the execution K runs, deliver ``during[K]`` (in order) to other worker slots."""
    real_run = engine.run

    def run_with_overlap(*args: Any, **kwargs: Any) -> engine.RunResult:
        context: engine.RunContext = args[2]
        for other in during.get(uuid.UUID(context.execution_id), []):
            run_execution(other)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engine, "run", run_with_overlap)


def queue_of(count: int, concurrency: int) -> list[uuid.UUID]:
    """``count`` queued executions of one workflow in a workspace limited to ``concurrency``."""
    account = make_account()
    limit_concurrency(account.workspace_id, concurrency)
    definition = code_then_no_op("return items")
    workflow = workflows.create_workflow(
        account.workspace_id, account.user_id, {"name": "W", "definition": definition}
    )
    return [
        service.create_execution(
            account.workspace_id, workflow.id, [], mode="manual", user_id=None
        ).id
        for _ in range(count)
    ]


def deliver_all(sent: list[str]) -> None:
    """Deliver every published message, as the broker would, until none is left."""
    while sent:
        run_execution(uuid.UUID(sent.pop(0)))


def statuses(ids: list[uuid.UUID]) -> list[str]:
    db.session.expire_all()
    rows = [db.session.get(Execution, execution_id) for execution_id in ids]
    return [row.status if row else "missing" for row in rows]


def test_every_deferred_execution_runs_when_the_limit_is_above_one(
    monkeypatch: pytest.MonkeyPatch, sent: list[str]
) -> None:
    first, second, third, fourth = ids = queue_of(4, concurrency=2)
    sent.clear()
    # first runs; while it runs second starts; while both run, third and fourth are deferred
    overlap(monkeypatch, {first: [second], second: [third, fourth]})
    assert run_execution(first) == "succeeded"
    deliver_all(sent)
    assert statuses(ids) == ["succeeded"] * 4


def test_a_newer_execution_does_not_overtake_a_deferred_one(
    monkeypatch: pytest.MonkeyPatch, sent: list[str]
) -> None:
    first, second, third = ids = queue_of(3, concurrency=1)
    sent.clear()
    overlap(monkeypatch, {first: [second]})  # second is deferred while first runs
    assert run_execution(first) == "succeeded"  # ...which publishes second again
    assert run_execution(third) == "skipped"  # third's message arrives before second's
    deliver_all(sent)
    assert statuses(ids) == ["succeeded"] * 3


def _crash_while_deferring(
    monkeypatch: pytest.MonkeyPatch, crashing: uuid.UUID, deferred: uuid.UUID
) -> None:
    """``crashing`` dies inside the engine after ``deferred`` was delivered (and deferred)."""
    real_run = engine.run

    def run(*args: Any, **kwargs: Any) -> engine.RunResult:
        if args[2].execution_id == str(crashing):
            assert run_execution(deferred) == "skipped"
            raise RuntimeError("the worker itself failed")
        return real_run(*args, **kwargs)

    monkeypatch.setattr(engine, "run", run)


def test_a_run_the_worker_fails_frees_its_slot_for_the_deferred_one(
    monkeypatch: pytest.MonkeyPatch, sent: list[str]
) -> None:
    first, second = ids = queue_of(2, concurrency=1)
    sent.clear()
    _crash_while_deferring(monkeypatch, first, second)
    with pytest.raises(RuntimeError):
        run_execution(first)
    runner.fail_running(first, "failed", "Erro interno do worker ao executar.", "internal")
    assert sent == [str(second)]
    deliver_all(sent)
    assert statuses(ids) == ["failed", "succeeded"]


def test_canceling_a_run_whose_worker_died_frees_its_slot_for_the_deferred_one(
    monkeypatch: pytest.MonkeyPatch, sent: list[str]
) -> None:
    first, second = ids = queue_of(2, concurrency=1)
    sent.clear()
    _crash_while_deferring(monkeypatch, first, second)
    with pytest.raises(RuntimeError):
        run_execution(first)  # the worker died: first stays running until its lease expires
    db.session.rollback()
    db.session.execute(
        update(Execution)
        .where(Execution.id == first)
        .values(cancel_requested=True, lease_expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert run_execution(first) == "skipped"  # redelivered: canceled at the claim
    assert sent == [str(second)]
    deliver_all(sent)
    assert statuses(ids) == ["canceled", "succeeded"]
