"""Run a claimed execution with the engine and persist its steps and outcome (worker side)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy import Table, bindparam, insert, select, update

from fluxolab import completion, dispatch, engine
from fluxolab.engine.sandbox import SandboxLimits
from fluxolab.engine.storage import store_items
from fluxolab.errorflows import service as errorflows
from fluxolab.executions import heartbeat
from fluxolab.executions.claim import (
    DEFERRED_IN_WORKSPACE,
    OWNED,
    Claim,
    ClaimedExecution,
    Held,
    claim,
    deferred_runs,
    lock_workspace,
    set_values,
    wake_deferred,
)
from fluxolab.executions.services import record_usage, run_services
from fluxolab.extensions import db
from fluxolab.metrics import instruments
from fluxolab.models import (
    Execution,
    ExecutionStep,
    Workflow,
    WorkflowVersion,
    utcnow,
)

log = logging.getLogger(__name__)
# modes whose caller may be waiting for the run's answer (webhooks and forms, webhook tests)
ANSWERED_MODES = ("webhook", "form", "test")


@lru_cache(maxsize=512)
def _definition(version_id: uuid.UUID) -> dict[str, Any]:
    """Workflow versions are immutable, so their definitions are cached per process."""
    definition = db.session.execute(
        select(WorkflowVersion.definition).where(WorkflowVersion.id == version_id)
    ).scalar_one()
    return dict(definition)


def engine_limits() -> engine.Limits:
    """Build the engine's limits from the app configuration."""
    config = current_app.config
    return engine.Limits(
        run_timeout_s=float(config["EXECUTION_TIMEOUT_SECONDS"]),
        max_items_per_step=int(config["EXECUTION_MAX_ITEMS_PER_STEP"]),
        max_step_bytes=int(config["EXECUTION_MAX_STEP_BYTES"]),
        code=SandboxLimits(
            cpu_seconds=int(config["CODE_CPU_SECONDS"]),
            wall_seconds=float(config["CODE_WALL_SECONDS"]),
            memory_bytes=int(config["CODE_MEMORY_MB"]) * 1024 * 1024,
            require_isolation=bool(config["CODE_SANDBOX_REQUIRE_ISOLATION"]),
        ),
    )


_WF = cast(Table, Workflow.__table__)
_STEPS = cast(Table, ExecutionStep.__table__)
# With RETURNING, SQLAlchemy sends the rows as one multi-row INSERT ("insertmanyvalues")
# instead of one INSERT per step.
_INSERT_STEP = insert(_STEPS).returning(_STEPS.c.id)
# A run is not an edit: ``updated_at`` keeps its value (its column would bump it).
_COUNT_RUN = (
    update(_WF)
    .where(_WF.c.id == bindparam("workflow_id", type_=_WF.c.id.type))
    .values(
        execution_count=_WF.c.execution_count + 1,
        last_executed_at=bindparam("now", type_=_WF.c.last_executed_at.type),
        updated_at=_WF.c.updated_at,
    )
)


class StepWriter:
    """Appends step rows with a running sequence number (bulk insert per batch)."""

    def __init__(self, execution_id: uuid.UUID, first_seq: int) -> None:
        self.execution_id = execution_id
        self.seq = first_seq

    def write(self, steps: list[engine.StepRecord]) -> None:
        if not steps:
            return
        rows = []
        for step in steps:
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "execution_id": self.execution_id,
                    "seq": self.seq,
                    "node_id": step.node_id[:128],
                    "node_name": step.node_name[:255],
                    "node_type": step.node_type[:64],
                    "status": step.status,
                    "attempt": step.attempt,
                    "started_at": step.started_at,
                    "finished_at": step.finished_at,
                    "input_items": step.input_items,
                    "output": step.output,
                    "error": step.error,
                    "truncated": step.truncated,
                    "logs": step.logs,
                }
            )
            self.seq += 1
        db.session.connection().execute(_INSERT_STEP, rows)  # one batch (insertmanyvalues)


def run_execution(execution_id: uuid.UUID) -> str | Held:
    """Claim and run one execution; every delivery of the same id after the first is a no-op.

    Returns the resulting status (or "skipped") for the task log, or ``Held`` when a live
    worker holds the run (the task retries after the lease).
    """
    claimed = claim(execution_id)
    if claimed is None or isinstance(claimed, Held):
        return claimed or "skipped"
    result = run_claimed(claimed)
    return "lost" if result is None else result.status


def run_claimed(claimed: Claim, timeout_s: float | None = None) -> engine.RunResult | None:
    """Run a claimed execution to its end (or its wait) and persist it; ``None`` when lost.

    The lease is renewed in the background while the engine runs, and no longer once it
    returned or raised. ``timeout_s`` shortens the run's time limit (a sub-execution gets
    what is left of its parent's).
    """
    execution = claimed.execution
    state = execution.state or {}
    writer = StepWriter(execution.id, int(state.get("seq", 0)))
    resume = None
    if state.get("engine") is not None:
        resume = engine.Resume(state=state["engine"], payload=state.get("resume"))
    definition = _definition(execution.workflow_version_id)
    lease = heartbeat.hold(execution.id, execution.token)
    try:
        context = _run_context(claimed, writer, lease, timeout_s)
        result = engine.run(definition, execution.input_items, context, resume)
    except BaseException:
        db.session.rollback()  # a renewal in flight may be waiting for this row's lock
        raise
    finally:
        lease.release()
    if not _finish(claimed, result, writer, context.services):
        return None
    return result


def _run_context(
    claimed: Claim, writer: StepWriter, lease: heartbeat.Lease, timeout_s: float | None
) -> engine.RunContext:
    """The engine's view of the run: its identity, limits, cancel check and checkpoints."""
    execution = claimed.execution
    limits = engine_limits()
    if timeout_s is not None:
        limits = replace(limits, run_timeout_s=max(0.001, min(limits.run_timeout_s, timeout_s)))
    return engine.RunContext(
        execution_id=str(execution.id),
        workflow={"id": str(execution.workflow_id), "name": claimed.workflow_name},
        mode=execution.mode,
        limits=limits,
        trigger_node_id=execution.trigger_node_id,
        should_cancel=lease,
        fatal=(SoftTimeLimitExceeded,),
        on_checkpoint=_checkpointer(execution, writer),
        on_response=_responder(execution) if execution.mode in ANSWERED_MODES else None,
        services=run_services(
            execution.workspace_id, execution_id=execution.id, depth=execution.depth
        ),
    )


def _checkpointer(
    execution: ClaimedExecution, writer: StepWriter
) -> Callable[[engine.Checkpoint], None]:
    def save(checkpoint: engine.Checkpoint) -> None:
        saved = set_values(
            OWNED,
            {"state": {"engine": checkpoint.state, "seq": writer.seq + len(checkpoint.steps)}},
            {"execution_id": execution.id, "token": execution.token},
        )
        if saved != 1:
            db.session.rollback()
            raise LeaseLost(f"execution {execution.id} was taken over by another worker")
        writer.write(checkpoint.steps)
        db.session.commit()

    return save


def _responder(execution: ClaimedExecution) -> Callable[[dict[str, Any]], None]:
    """Store a Respond to Webhook answer at once and wake the caller waiting for it.

    The run goes on; a run taken over meanwhile stores nothing (the new owner answers).
    """

    def answer(response: dict[str, Any]) -> None:
        params = {"execution_id": execution.id, "token": execution.token}
        if set_values(OWNED, {"response": response}, params) != 1:
            db.session.rollback()
            return
        db.session.commit()
        completion.notify(completion.execution_key(execution.id))

    return answer


def _final_values(claimed: Claim, result: engine.RunResult, seq: int) -> dict[str, Any]:
    now = utcnow()
    values: dict[str, Any] = {
        "status": result.status,
        "lease_expires_at": None,
        "error": result.error,
        "cancel_requested": False,
    }
    if result.response is not None:
        values["response"] = result.response
    if result.status == "waiting":
        wait = result.wait or {}
        values.update(
            state={"engine": result.state, "seq": seq},
            wait_until=_parse_time(wait.get("until")),
            waiting_node_id=wait.get("nodeId"),
            wait_kind=wait.get("kind"),
            deliveries=0,
        )
    else:
        budget = int(current_app.config["EXECUTION_MAX_STEP_BYTES"])
        values.update(
            state=None,
            finished_at=now,
            output_items=store_items(result.output, budget)[0],
            duration_ms=_duration_ms(claimed.execution.started_at, now),
        )
    return values


def _finish(
    claimed: Claim, result: engine.RunResult, writer: StepWriter, services: Mapping[str, Any]
) -> bool:
    """Persist the outcome if this worker still owns the run; return whether it did.

    Steps, the workflow's counters and the credentials' ``last_used_at`` are written first
    (a run taken over rolls them back),
    then the workspace lock is taken for the final UPDATE only: a claim that deferred a run
    because this one was still running has committed before its RETURNING looks for one.
    """
    execution = claimed.execution
    pending = result.steps[result.checkpointed :]
    values = _final_values(claimed, result, writer.seq + len(pending))
    writer.write(pending)
    if result.status != "waiting":
        run_ended = {"workflow_id": execution.workflow_id, "now": values["finished_at"]}
        db.session.connection().execute(_COUNT_RUN, run_ended)
    record_usage(services)
    lock_workspace(execution.workspace_id)
    params = {"execution_id": execution.id, "token": execution.token}
    deferred = set_values(OWNED, values, params, returning=DEFERRED_IN_WORKSPACE)
    if deferred is None:
        db.session.rollback()
        log.warning("execution %s was taken over; dropping this worker's result", execution.id)
        return False
    waiting = deferred_runs(execution.workspace_id) if deferred else []
    db.session.commit()
    if result.status != "waiting":
        duration_ms = values["duration_ms"]
        seconds = None if duration_ms is None else duration_ms / 1000
        instruments.execution_finished(execution.mode, result.status, seconds)
    if execution.mode in ANSWERED_MODES and result.status != "waiting":
        completion.notify(completion.execution_key(execution.id))
    dispatch.send_runs([str(execution_id) for execution_id in waiting])
    if result.status in errorflows.ERROR_STATUSES:
        errorflows.start_after_end(execution.id)
    return True


def _duration_ms(started: datetime | None, finished: datetime) -> int | None:
    return int((finished - started).total_seconds() * 1000) if started else None


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class LeaseLost(RuntimeError):
    """Another worker took this run over (its lease had expired); stop writing."""


def fail_running(execution_id: uuid.UUID, status: str, message: str, kind: str) -> None:
    """End a running execution with ``status`` after the worker itself failed (not the flow).

    Its slot is free again, so runs the concurrency limit deferred are published, and a
    production run's error workflow is started.
    """
    db.session.rollback()
    ended = db.session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status == "running")
        .values(
            status=status,
            finished_at=utcnow(),
            lease_expires_at=None,
            state=None,
            error={"message": message, "type": kind},
        )
        .returning(Execution.workspace_id, Execution.mode, Execution.started_at)
    ).first()
    db.session.commit()
    if ended is not None:
        workspace_id, mode, started_at = ended
        seconds = _duration_ms(started_at, utcnow())
        instruments.execution_finished(mode, status, None if seconds is None else seconds / 1000)
        completion.notify(completion.execution_key(execution_id))
        wake_deferred(workspace_id)
        if status in errorflows.ERROR_STATUSES:
            errorflows.start_after_end(execution_id)
