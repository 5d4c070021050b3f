"""Create, read, cancel, retry and delete executions (the API side of the state machine)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from typing import cast as typed

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers, defer, make_transient_to_detached

from fluxolab import dispatch, requestid
from fluxolab.common.pagination import Page, paginate
from fluxolab.errors import Conflict, NotFound, ValidationFailed
from fluxolab.executions import inserts
from fluxolab.executions.inserts import USAGE_PERIOD, WORKSPACE_ID
from fluxolab.extensions import db
from fluxolab.metrics import instruments
from fluxolab.models import (
    FINISHED_STATUSES,
    Execution,
    ExecutionStep,
    Plan,
    Workflow,
    WorkflowVersion,
    Workspace,
    utcnow,
)
from fluxolab.workflows import service as workflows

RETRYABLE = ("failed", "canceled", "timed_out", "succeeded")


@dataclass(frozen=True)
class ExecutionFilters:
    """Filters of the execution lists (all optional)."""

    workflow_id: uuid.UUID | None = None
    status: str | None = None
    mode: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class RunTarget(NamedTuple):
    """What starting a run reads: the current version, the usage period, the plan's limit."""

    version_id: uuid.UUID
    version: int
    checksum: str
    period_start: datetime
    limit: int | None


_E = typed(Table, Execution.__table__)
_WS = typed(Table, Workspace.__table__)
# What a run request needs, in one query: the live workflow's current version and the
# workspace's usage against its plan.
_RUN_TARGET = (
    select(
        WorkflowVersion.id,
        WorkflowVersion.version,
        WorkflowVersion.checksum,
        Workspace.usage_period_start,
        Plan.limits["executions"].as_integer(),
    )
    .select_from(Workflow)
    .join(
        WorkflowVersion,
        (WorkflowVersion.workflow_id == Workflow.id)
        & (WorkflowVersion.version == Workflow.version),
    )
    .join(Workspace, Workspace.id == Workflow.workspace_id)
    .join(Plan, Plan.id == Workspace.plan_id)
    .where(
        Workflow.id == bindparam("workflow_id"),
        Workflow.workspace_id == WORKSPACE_ID,
        Workflow.deleted_at.is_(None),
    )
)


def create_execution(
    workspace_id: uuid.UUID,
    workflow_id: uuid.UUID,
    items: list[dict[str, Any]],
    *,
    mode: str,
    user_id: uuid.UUID | None,
    version: WorkflowVersion | None = None,
    retry_of: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    parent_id: uuid.UUID | None = None,
    depth: int = 0,
    publish_now: bool = True,
    trigger_node_id: str | None = None,
    request_hash: str | None = None,
    charge: bool = True,
    execution_id: uuid.UUID | None = None,
    with_row: tuple[Table, dict[str, Any]] | None = None,
    target: RunTarget | None = None,
) -> Execution:
    """Persist a ``queued`` execution and publish ``executions.run`` after the commit.

    Runs ``version`` (default: the workflow's current one). Raises ``ValidationFailed`` when
    it cannot run (naming the nodes at fault), ``PlanLimitExceeded`` over the plan quota,
    ``NotFound`` for a missing workflow. The request's hot path: three statements. A
    sub-execution names its ``parent_id`` and ``depth``; ``publish_now=False`` leaves the
    run to the caller (an inline sub-execution). ``trigger_node_id`` names the trigger node
    that starts the run (default: the first trigger); ``request_hash`` is stored with an
    ``idempotency_key`` so a reuse of the key with another request can be told apart;
    ``charge=False`` does not count the run in the plan quota (webhook tests).
    ``with_row=(table, row)`` inserts one more row in the same transaction, after the
    execution (the call log of a webhook or form); ``execution_id`` picks the new row's id.
    On PostgreSQL the quota charge, the execution and that row are one statement (a
    data-modifying CTE, one round trip; when the session has no transaction open, that
    statement is a transaction of its own: no ``BEGIN``/``COMMIT``, and the workspace row's
    lock is held for the statement only); elsewhere (SQLite) they are sent one by one.
    ``target`` is the run target when the caller read it already in this transaction (a
    public trigger's token lookup); else it is one query here.
    """
    if target is None:
        found = (
            db.session.connection()
            .execute(_RUN_TARGET, {"workflow_id": workflow_id, "workspace_id": workspace_id})
            .first()
        )
        if found is None:
            raise NotFound("Workflow nao encontrado.")
        target = RunTarget(*found)
    version_id, number, version_checksum, period_start, limit = target
    if version is not None:
        version_id, number, version_checksum = version.id, version.version, version.checksum
    issues = workflows.version_issues(version_id, version_checksum)
    if issues:
        raise ValidationFailed(
            f"O workflow nao pode ser executado: {issues[0]}", errors={"definition": issues}
        )
    # one statement for charge + insert(s) where the database can (PostgreSQL CTEs)
    postgres = db.engine.dialect.name == "postgresql"
    combined = charge and postgres and period_start + USAGE_PERIOD > utcnow()
    if charge and not combined:
        inserts.charge_quota(workspace_id, period_start, limit)
    now = utcnow()
    values: dict[str, Any] = {
        "id": execution_id or uuid.uuid4(),
        "workspace_id": workspace_id,
        "workflow_id": workflow_id,
        "workflow_version_id": version_id,
        "version": number,
        "mode": mode,
        "status": "queued",
        "queued_at": now,
        "input_items": items,
        "retry_of_id": retry_of,
        "idempotency_key": idempotency_key,
        "request_hash": request_hash,
        "trigger_node_id": trigger_node_id,
        "parent_execution_id": parent_id,
        "depth": depth,
        "created_by": user_id,
        "created_at": now,
        "deliveries": 0,
        "claim_token": 0,
        "cancel_requested": False,
        "request_id": requestid.current(),
    }
    try:
        alone = inserts.transaction_of_its_own() if combined else None
        if alone is not None:  # one round trip: the statement is its own transaction
            with alone as connection:
                stored = inserts.insert_one(connection, values, with_row, charge=True, limit=limit)
        else:
            connection = db.session.connection()
            stored = inserts.insert_one(connection, values, with_row, charge=combined, limit=limit)
        if not stored:
            raise inserts.over_quota(limit)
        if alone is None:
            db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if idempotency_key is None:
            raise
        return _by_idempotency_key(workspace_id, idempotency_key)
    execution = _as_loaded(values)
    if publish_now:
        publish(execution)
    return execution


_UNSET_COLUMNS = tuple(_E.columns.keys())


def _as_loaded(values: dict[str, Any]) -> Execution:
    """The stored row as a detached ``Execution``, as if loaded (no query to build answers).

    Filled the way the ORM fills a loaded row (the instance dict, no attribute events):
    the constructor's per-attribute instrumentation cost more than the insert itself.
    """
    if not Execution.__mapper__.configured:  # what the constructor would trigger
        configure_mappers()
    execution: Execution = Execution.__mapper__.class_manager.new_instance()
    execution.__dict__.update(dict.fromkeys(_UNSET_COLUMNS), **values)
    make_transient_to_detached(execution)
    return execution


def find_by_idempotency_key(workspace_id: uuid.UUID, key: str) -> Execution | None:
    """Return the execution an earlier request with this idempotency key created, if any."""
    return db.session.execute(
        select(Execution).where(
            Execution.workspace_id == workspace_id, Execution.idempotency_key == key
        )
    ).scalar_one_or_none()


def _by_idempotency_key(workspace_id: uuid.UUID, key: str) -> Execution:
    """Return the execution an earlier request with the same idempotency key created."""
    execution = find_by_idempotency_key(workspace_id, key)
    if execution is None:
        raise Conflict("Execucao duplicada (chave de idempotencia ja usada).")
    return execution


def publish(execution: Execution) -> bool:
    """Publish the run task for a committed execution; a failure is swept up later by beat."""
    return dispatch.send_runs([str(execution.id)])


def get_execution(workspace_id: uuid.UUID, execution_id: uuid.UUID) -> Execution:
    """Return one execution of the workspace, or raise ``NotFound``."""
    execution = db.session.execute(
        select(Execution).where(
            Execution.id == execution_id, Execution.workspace_id == workspace_id
        )
    ).scalar_one_or_none()
    if execution is None:
        raise NotFound("Execucao nao encontrada.")
    return execution


def workflow_name(execution: Execution) -> str | None:
    """Return the current name of the execution's workflow (None if the row is gone)."""
    return db.session.execute(
        select(Workflow.name).where(
            Workflow.id == execution.workflow_id,
            Workflow.workspace_id == execution.workspace_id,
        )
    ).scalar_one_or_none()


def get_steps(execution_id: uuid.UUID) -> list[ExecutionStep]:
    """Return the steps of an execution in the order they ran."""
    return list(
        db.session.execute(
            select(ExecutionStep)
            .where(ExecutionStep.execution_id == execution_id)
            .order_by(ExecutionStep.seq)
        ).scalars()
    )


def _filtered(workspace_id: uuid.UUID, filters: ExecutionFilters) -> Select[Execution, str]:
    stmt = (
        select(Execution, Workflow.name)
        .join(Workflow, Workflow.id == Execution.workflow_id)
        .where(Execution.workspace_id == workspace_id)
        .options(
            defer(Execution.state),
            defer(Execution.input_items),
            defer(Execution.output_items),
            defer(Execution.response),
        )
    )
    if filters.workflow_id:
        stmt = stmt.where(Execution.workflow_id == filters.workflow_id)
    if filters.status:
        stmt = stmt.where(Execution.status == filters.status)
    if filters.mode:
        stmt = stmt.where(Execution.mode == filters.mode)
    if filters.start:
        stmt = stmt.where(Execution.created_at >= filters.start)
    if filters.end:
        stmt = stmt.where(Execution.created_at < filters.end)
    return stmt.order_by(Execution.created_at.desc(), Execution.id.desc())


def list_executions(
    workspace_id: uuid.UUID, filters: ExecutionFilters, limit: int, offset: int
) -> Page[Any]:
    """Return a page of ``(Execution, workflow name)`` rows, newest first."""
    if filters.workflow_id:
        workflows.get_workflow(workspace_id, filters.workflow_id)
    return paginate(_filtered(workspace_id, filters), limit, offset, scalars=False)


def cancel(workspace_id: uuid.UUID, execution_id: uuid.UUID) -> Execution:
    """Cancel: queued and waiting stop now; running stops before its next node.

    Raises ``Conflict`` for an execution that already finished.
    """
    execution = get_execution(workspace_id, execution_id)
    now = utcnow()
    stopped = db.session.execute(
        update(Execution)
        .where(Execution.id == execution.id, Execution.status.in_(("queued", "waiting")))
        .values(
            status="canceled",
            finished_at=now,
            state=None,
            wait_until=None,
            error={"message": "Execucao cancelada."},
        )
    )
    if stopped.rowcount != 1:  # type: ignore[attr-defined]
        flagged = db.session.execute(
            update(Execution)
            .where(Execution.id == execution.id, Execution.status == "running")
            .values(cancel_requested=True)
        )
        if flagged.rowcount != 1:  # type: ignore[attr-defined]
            db.session.rollback()
            raise Conflict(f"A execucao ja terminou ({execution.status}).")
    db.session.commit()
    if stopped.rowcount == 1:  # type: ignore[attr-defined]
        instruments.execution_finished(execution.mode, "canceled", None)
    db.session.refresh(execution)
    return execution


def retry(
    workspace_id: uuid.UUID, execution_id: uuid.UUID, use_version: str, user_id: uuid.UUID
) -> Execution:
    """Start a new execution with the same input, on the original or the current version."""
    original = get_execution(workspace_id, execution_id)
    if original.status not in RETRYABLE:
        raise Conflict(f"Somente execucoes terminadas podem ser repetidas ({original.status}).")
    workflow = workflows.get_workflow(workspace_id, original.workflow_id)
    version = (
        db.session.get(WorkflowVersion, original.workflow_version_id)
        if use_version == "original"
        else workflows.current_version(workflow)
    )
    return create_execution(
        workspace_id,
        workflow.id,
        list(original.input_items),
        mode="retry",
        user_id=user_id,
        version=version,
        retry_of=original.id,
    )


def delete(workspace_id: uuid.UUID, execution_id: uuid.UUID) -> None:
    """Delete a finished execution and its steps; unfinished ones must be canceled first."""
    execution = get_execution(workspace_id, execution_id)
    if execution.status not in FINISHED_STATUSES:
        raise Conflict("Cancele a execucao antes de apaga-la.")
    db.session.delete(execution)
    db.session.commit()


def decide_approval(
    workspace_id: uuid.UUID,
    execution_id: uuid.UUID,
    node_id: str,
    approved: bool,
    comment: str | None,
    user_id: uuid.UUID,
) -> Execution:
    """Record an approve/reject decision for the waiting approval node and queue the resume."""
    execution = get_execution(workspace_id, execution_id)
    if execution.status != "waiting" or execution.wait_kind != "approval":
        raise Conflict("Esta execucao nao aguarda aprovacao.")
    if execution.waiting_node_id != node_id:
        raise NotFound(f"O no '{node_id}' nao aguarda aprovacao nesta execucao.")
    payload = {"approved": approved, "by": str(user_id), "comment": comment, "reason": "decision"}
    if not queue_resume(execution.id, "approval", payload):
        raise Conflict("A decisao ja foi registrada.")
    db.session.commit()
    publish(execution)
    db.session.refresh(execution)
    return execution


def queue_resume(execution_id: uuid.UUID, kind: str, payload: dict[str, Any] | None) -> bool:
    """Move a waiting execution back to ``queued`` with its resume payload (no commit).

    Conditional on still waiting, so a decision and a timeout cannot both resume it.
    """
    execution = db.session.get(Execution, execution_id)
    if execution is None or execution.state is None:
        return False
    state = {**execution.state, "resume": payload}
    result = db.session.execute(
        update(Execution)
        .where(
            Execution.id == execution_id,
            Execution.status == "waiting",
            Execution.wait_kind == kind,
        )
        .values(status="queued", state=state, wait_until=None, deliveries=0, queued_at=utcnow())
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
