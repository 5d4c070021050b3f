"""The lease of a running execution: renewed in the background while a node runs, never after.

The task body (``runner.run_execution``) runs in-process with committed rows, on PostgreSQL and
on SQLite (standalone), so the renewal thread's own connection sees what the run's session wrote.
Renewals are counted from the statements the database driver is handed.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Engine, event

from bench._support import RUN_INPUT, WORKFLOW
from fluxolab.executions import heartbeat, runner, service
from fluxolab.executions.claim import Claim, Held, claim
from fluxolab.executions.runner import run_execution
from fluxolab.extensions import db
from fluxolab.models import Execution, ExecutionStep
from fluxolab.workflows import service as workflows
from tests.conftest import make_test_config
from tests.factories import make_account
from tests.helpers import fresh_app

LEASE_SECONDS = 1
RENEWAL = "UPDATE executions SET lease_expires_at="


def slow_then_end(seconds: float) -> dict[str, Any]:
    """manual -> code sleeping ``seconds`` -> no-op."""
    code = f"import time\ntime.sleep({seconds})\nreturn items"
    ids = ["t", "slow", "end"]
    nodes = [
        {"id": "t", "type": "manual"},
        {"id": "slow", "type": "code-execute", "params": {"language": "python", "code": code}},
        {"id": "end", "type": "no-op"},
    ]
    return {"nodes": nodes, "connections": [{"from": a, "to": b} for a, b in pairwise(ids)]}


class Renewals:
    """Lease renewals sent to the database: (monotonic time, thread name)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[float, str]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(RENEWAL):
            self.seen.append((time.monotonic(), threading.current_thread().name))

    def by_keeper(self) -> list[float]:
        return [moment for moment, thread in self.seen if thread == "lease-keeper"]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture(params=["postgresql", "sqlite"])
def committed_app(
    request: pytest.FixtureRequest, app: Flask, committed_db: None, tmp_path: Path
) -> Iterator[Flask]:
    """An app with a short lease whose rows are committed, on either database."""
    if request.param == "postgresql":
        previous = app.config["EXECUTION_LEASE_SECONDS"]
        app.config["EXECUTION_LEASE_SECONDS"] = LEASE_SECONDS
        yield app
        app.config["EXECUTION_LEASE_SECONDS"] = previous
        return
    redis_url = request.getfixturevalue("redis_url")
    config = make_test_config(f"sqlite:///{tmp_path / 'fluxolab.db'}", redis_url, tmp_path)
    with fresh_app({**config, "EXECUTION_LEASE_SECONDS": LEASE_SECONDS}) as standalone:
        with standalone.app_context():
            upgrade()
            db.session.remove()
        yield standalone


def queued(definition: dict[str, Any], body: Any = None, count: int = 1) -> list[uuid.UUID]:
    """Create an account, a workflow and ``count`` queued manual executions of it (committed)."""
    account = make_account()
    fields = {"name": "W", "definition": definition}
    workflow = workflows.create_workflow(account.workspace_id, account.user_id, fields)
    ids = [
        service.create_execution(
            account.workspace_id, workflow.id, [{"json": body or {}}], mode="manual", user_id=None
        ).id
        for _ in range(count)
    ]
    db.session.commit()
    return ids


def reload(execution_id: uuid.UUID) -> Execution:
    db.session.expire_all()
    execution = db.session.get(Execution, execution_id)
    assert execution is not None
    return execution


@pytest.fixture()
def keeper_after_a_default_lease(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh keeper already keeping a 60 s lease, as in a worker that ran such a run."""
    monkeypatch.setattr(heartbeat, "_keeper_instance", None)
    engine = cast(Engine, None)  # never used: not due within the test
    other = heartbeat.Lease(uuid.uuid4(), 1, timedelta(seconds=60), engine)
    heartbeat._keeper().hold(other)
    time.sleep(0.1)  # the thread is now waiting a sixth of that lease
    yield
    other.release()


def test_lease_is_renewed_while_a_long_node_runs_and_never_after_the_run(
    committed_app: Flask, keeper_after_a_default_lease: None
) -> None:
    with committed_app.app_context():
        (execution_id,) = queued(slow_then_end(3 * LEASE_SECONDS))
        renewals = Renewals(db.engine)
        try:
            assert run_execution(execution_id) == "succeeded"
            returned = time.monotonic()
            time.sleep(2 * LEASE_SECONDS)  # several keeper ticks after the run
        finally:
            renewals.close()
        execution = reload(execution_id)
        steps = db.session.query(ExecutionStep.node_id).filter_by(execution_id=execution_id)
        assert [step for (step,) in steps.order_by(ExecutionStep.seq)] == ["t", "slow", "end"]
    assert (execution.status, execution.deliveries, execution.claim_token) == ("succeeded", 1, 1)
    assert execution.lease_expires_at is None
    during = renewals.by_keeper()
    assert len(during) >= 3, renewals.seen  # every third of the lease or so, inside the node
    assert max(later - earlier for earlier, later in pairwise(during)) < LEASE_SECONDS
    assert all(moment < returned for moment, _ in renewals.seen), "renewed after the run"


def test_a_run_that_raises_stops_renewing_before_the_worker_handles_the_error(
    committed_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: Any) -> None:
        time.sleep(2 * LEASE_SECONDS)  # long enough for background renewals
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(runner.engine, "run", crash)
    with committed_app.app_context():
        (execution_id,) = queued(slow_then_end(0))
        renewals = Renewals(db.engine)
        try:
            with pytest.raises(RuntimeError, match="the engine broke"):
                run_execution(execution_id)
            raised = time.monotonic()
            time.sleep(2 * LEASE_SECONDS)
        finally:
            renewals.close()
        assert reload(execution_id).status == "running"  # the task then fails it
    assert len(renewals.by_keeper()) >= 2, renewals.seen
    assert all(moment < raised for moment, _ in renewals.seen), "renewed after the run"


def hold_claimed(execution_id: uuid.UUID) -> tuple[Claim, heartbeat.Lease]:
    claimed = claim(execution_id)
    assert isinstance(claimed, Claim)
    return claimed, heartbeat.hold(execution_id, claimed.execution.token)


def wait_until(condition: Any, timeout: float = 5 * LEASE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def test_redeliveries_while_the_lease_is_kept_are_held_and_never_counted_as_deaths(
    committed_app: Flask,
) -> None:
    with committed_app.app_context():
        (execution_id,) = queued(slow_then_end(0))
        _, lease = hold_claimed(execution_id)
        try:
            answers = []
            ends = time.monotonic() + 3 * LEASE_SECONDS  # more redeliveries than the poison cap
            while time.monotonic() < ends:
                answers.append(claim(execution_id))  # what each redelivered message tries
                time.sleep(0.2)
        finally:
            lease.release()
        execution = reload(execution_id)
    assert answers and all(isinstance(answer, Held) for answer in answers), answers
    assert (execution.status, execution.deliveries, execution.claim_token) == ("running", 1, 1)


def test_a_worker_whose_run_was_taken_over_stops_renewing_and_stops_the_run(
    committed_app: Flask,
) -> None:
    with committed_app.app_context():
        (execution_id,) = queued(slow_then_end(0))
        claimed, lease = hold_claimed(execution_id)
        renewals = Renewals(db.engine)
        try:
            wait_until(lambda: len(renewals.by_keeper()) >= 1)
            taken_over = reload(execution_id)  # what another worker's claim leaves
            taken_over.claim_token = claimed.execution.token + 1
            db.session.commit()
            theirs = reload(execution_id).lease_expires_at
            wait_until(lambda: lease.lost)
            count = len(renewals.seen)
            time.sleep(2 * LEASE_SECONDS)
            assert len(renewals.seen) == count, "kept renewing a lost lease"
            assert lease() is True  # the engine stops at its next node
            assert reload(execution_id).lease_expires_at == theirs
        finally:
            lease.release()
            renewals.close()


def test_a_cancel_seen_by_a_background_renewal_stops_the_run_at_its_next_node(
    committed_app: Flask,
) -> None:
    with committed_app.app_context():
        (execution_id,) = queued(slow_then_end(0))
        _, lease = hold_claimed(execution_id)
        try:
            reload(execution_id).cancel_requested = True
            db.session.commit()
            wait_until(lambda: lease.canceled)
            assert lease() is True
        finally:
            lease.release()


def test_a_five_node_run_issues_no_lease_statement(app: Flask) -> None:
    """The hot path keeps its statements: the lease is only renewed after a third of it."""
    with app.app_context():
        first, second = queued(WORKFLOW, RUN_INPUT, count=2)
        assert run_execution(first) == "succeeded"  # caches the workflow definition
        statements: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):  # test harness
                statements.append(" ".join(statement.split()[:3]))

        engine = db.session.connection().engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert run_execution(second) == "succeeded"
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert statements == [
        "SELECT pg_advisory_xact_lock(hashtextextended(CAST(executions.workspace_id AS",  # claim
        "UPDATE executions SET",
        "INSERT INTO execution_steps",  # finish
        "UPDATE workflows SET",
        "SELECT pg_advisory_xact_lock(hashtextextended(CAST(%(workspace_id)s::UUID AS",
        "UPDATE executions SET",
    ]
