"""Claiming an execution for one worker: the conditional UPDATE that makes deliveries idempotent."""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from fluxolab.extensions import db
from fluxolab.models import Execution, Plan, Workflow, Workspace, utcnow

DEFAULT_CONCURRENCY = 5


@dataclass(frozen=True)
class ClaimedExecution:
    """What a run needs of its execution row, read once at claim time (no lazy reloads)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    workflow_id: uuid.UUID
    workflow_version_id: uuid.UUID
    mode: str
    trigger_node_id: str | None
    input_items: list[Any]
    state: dict[str, Any] | None
    started_at: datetime


@dataclass(frozen=True)
class Claim:
    """A claimed execution plus what the run needs from related rows."""

    execution: ClaimedExecution
    workflow_name: str
    running_before: int
    concurrency: int


def _lock_workspace(workspace_id: uuid.UUID) -> None:
    """Serialise claims of one workspace (PostgreSQL advisory lock; SQLite serialises writes)."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(workspace_id.bytes)
        db.session.execute(select(func.pg_advisory_xact_lock(key)))


def _fail_poison(execution_id: uuid.UUID, deliveries: int) -> None:
    message = (
        f"A execucao falhou apos {deliveries} tentativas de entrega "
        "(o worker parou durante cada uma)."
    )
    db.session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(("queued", "running")))
        .values(
            status="failed",
            finished_at=utcnow(),
            lease_expires_at=None,
            error={"message": message, "type": "poison"},
        )
    )
    db.session.commit()


def claim(execution_id: uuid.UUID) -> Claim | None:
    """Move ``queued`` (or ``running`` with an expired lease) to ``running`` for this worker.

    Returns ``None`` when there is nothing to do: unknown, finished, waiting, canceled, held by
    a live worker, deferred by the workspace's concurrency limit, or failed as poison after
    ``EXECUTION_MAX_DELIVERIES`` deliveries.
    """
    row = db.session.execute(
        select(Execution, Workflow.name, Plan.limits)
        .join(Workflow, Workflow.id == Execution.workflow_id)
        .join(Workspace, Workspace.id == Execution.workspace_id)
        .join(Plan, Plan.id == Workspace.plan_id)
        .where(Execution.id == execution_id)
    ).first()
    now = utcnow()
    if row is None:
        return None
    execution, workflow_name, limits = row
    if execution.status not in ("queued", "running"):
        return None
    if execution.status == "running" and (execution.lease_expires_at or now) > now:
        return None
    config = current_app.config
    if execution.deliveries >= int(config["EXECUTION_MAX_DELIVERIES"]):
        _fail_poison(execution.id, execution.deliveries)
        return None
    concurrency = int((limits or {}).get("concurrency") or DEFAULT_CONCURRENCY)
    _lock_workspace(execution.workspace_id)
    running = _running_count(execution.workspace_id)
    if execution.status == "queued" and running >= concurrency:
        execution.deferred_at = now
        db.session.commit()
        return None
    return _take(execution, workflow_name, running, concurrency)


def _running_count(workspace_id: uuid.UUID) -> int:
    return int(
        db.session.execute(
            select(func.count())
            .select_from(Execution)
            .where(Execution.workspace_id == workspace_id, Execution.status == "running")
        ).scalar_one()
    )


def _take(execution: Execution, workflow_name: str, running: int, concurrency: int) -> Claim | None:
    now = utcnow()
    lease = timedelta(seconds=int(current_app.config["EXECUTION_LEASE_SECONDS"]))
    claimed = db.session.execute(
        update(Execution)
        .where(
            Execution.id == execution.id,
            or_(
                Execution.status == "queued",
                and_(Execution.status == "running", Execution.lease_expires_at < now),
            ),
        )
        .values(
            status="running",
            started_at=func.coalesce(Execution.started_at, now),
            deliveries=Execution.deliveries + 1,
            lease_expires_at=now + lease,
            deferred_at=None,
        )
        .returning(Execution.started_at, Execution.deliveries)
        .execution_options(synchronize_session=False)
    ).first()
    if claimed is None:
        db.session.commit()
        return None
    snapshot = ClaimedExecution(
        id=execution.id,
        workspace_id=execution.workspace_id,
        workflow_id=execution.workflow_id,
        workflow_version_id=execution.workflow_version_id,
        mode=execution.mode,
        trigger_node_id=execution.trigger_node_id,
        input_items=execution.input_items,
        state=execution.state,
        started_at=claimed.started_at,
    )
    db.session.commit()
    return Claim(snapshot, workflow_name, running, concurrency)


def renew_lease(execution_id: uuid.UUID) -> bool:
    """Extend the lease of a running execution; return whether cancellation was requested."""
    lease = timedelta(seconds=int(current_app.config["EXECUTION_LEASE_SECONDS"]))
    flag: Any = db.session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status == "running")
        .values(lease_expires_at=utcnow() + lease)
        .returning(Execution.cancel_requested)
    ).scalar_one_or_none()
    db.session.commit()
    return bool(flag)
