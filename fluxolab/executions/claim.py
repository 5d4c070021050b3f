"""Claiming an execution for one worker: the conditional UPDATE that makes deliveries idempotent.

Every claim increments ``claim_token``; the claimed run passes it back on every later write
(heartbeat, checkpoint, finish), so a worker whose lease was taken over can no longer write.
``deliveries`` counts claims since the run last started or resumed (poison detection).
"""

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
    token: int


@dataclass(frozen=True)
class Claim:
    """A claimed execution plus what the run needs from related rows."""

    execution: ClaimedExecution
    workflow_name: str
    concurrency: int


@dataclass(frozen=True)
class Held:
    """Another worker holds a live lease; try again after ``retry_after`` seconds."""

    retry_after: float


def lock_workspace(workspace_id: uuid.UUID) -> None:
    """Serialise claims of one workspace (PostgreSQL advisory lock; SQLite serialises writes)."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(workspace_id.bytes)
        db.session.execute(select(func.pg_advisory_xact_lock(key)))


def _end(execution_id: uuid.UUID, status: str, error: dict[str, Any]) -> None:
    db.session.execute(
        update(Execution)
        .where(Execution.id == execution_id, Execution.status.in_(("queued", "running")))
        .values(status=status, finished_at=utcnow(), lease_expires_at=None, error=error)
    )
    db.session.commit()


def claim(execution_id: uuid.UUID) -> Claim | Held | None:
    """Move ``queued`` (or ``running`` with an expired lease) to ``running`` for this worker.

    Returns ``Held`` while another worker's lease is live, and ``None`` when there is nothing
    to do: unknown, finished, waiting, canceled, deferred by the workspace's concurrency
    limit, or failed as poison after ``EXECUTION_MAX_DELIVERIES`` deliveries.
    """
    row = db.session.execute(
        select(Execution, Workflow.name, Plan.limits)
        .join(Workflow, Workflow.id == Execution.workflow_id)
        .join(Workspace, Workspace.id == Execution.workspace_id)
        .join(Plan, Plan.id == Workspace.plan_id)
        .where(Execution.id == execution_id)
    ).first()
    now = utcnow()
    if row is None or row[0].status not in ("queued", "running"):
        db.session.rollback()
        return None
    execution, workflow_name, limits = row
    if execution.status == "running" and (execution.lease_expires_at or now) > now:
        db.session.rollback()
        return Held((execution.lease_expires_at - now).total_seconds() + 1)
    if execution.cancel_requested:
        _end(execution.id, "canceled", {"message": "Execucao cancelada."})
        return None
    if execution.deliveries >= int(current_app.config["EXECUTION_MAX_DELIVERIES"]):
        message = (
            f"A execucao falhou apos {execution.deliveries} tentativas de entrega "
            "(o worker parou durante cada uma)."
        )
        _end(execution.id, "failed", {"message": message, "type": "poison"})
        return None
    concurrency = int((limits or {}).get("concurrency") or DEFAULT_CONCURRENCY)
    lock_workspace(execution.workspace_id)
    if execution.status == "queued" and _must_wait(execution, concurrency):
        execution.deferred_at = now
        db.session.commit()
        return None
    return _take(execution, workflow_name, concurrency)


def _must_wait(execution: Execution, concurrency: int) -> bool:
    """A queued run waits while the workspace is at its limit or an older run already waits."""
    running = (
        select(func.count())
        .select_from(Execution)
        .where(Execution.workspace_id == execution.workspace_id, Execution.status == "running")
        .scalar_subquery()
    )
    older_waiting = (
        select(Execution.id)
        .where(
            Execution.workspace_id == execution.workspace_id,
            Execution.status == "queued",
            Execution.deferred_at.is_not(None),
            Execution.created_at < execution.created_at,
        )
        .exists()
    )
    busy, behind = db.session.execute(select(running, older_waiting)).one()
    return bool(busy >= concurrency or behind)


def running_count(workspace_id: uuid.UUID) -> int:
    """Return how many executions of the workspace are running now."""
    return int(
        db.session.execute(
            select(func.count())
            .select_from(Execution)
            .where(Execution.workspace_id == workspace_id, Execution.status == "running")
        ).scalar_one()
    )


def _lease() -> timedelta:
    return timedelta(seconds=int(current_app.config["EXECUTION_LEASE_SECONDS"]))


def _take(execution: Execution, workflow_name: str, concurrency: int) -> Claim | None:
    now = utcnow()
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
            claim_token=Execution.claim_token + 1,
            lease_expires_at=now + _lease(),
            deferred_at=None,
        )
        .returning(Execution.started_at, Execution.claim_token)
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
        token=claimed.claim_token,
    )
    db.session.commit()
    return Claim(snapshot, workflow_name, concurrency)


def owned(execution_id: uuid.UUID, token: int) -> Any:
    """The WHERE clause of every write a claimed run makes: still running, still its claim."""
    return and_(
        Execution.id == execution_id,
        Execution.status == "running",
        Execution.claim_token == token,
    )


def renew_lease(execution_id: uuid.UUID, token: int) -> bool:
    """Extend the lease; return ``True`` when the run must stop (canceled or taken over)."""
    flag: Any = db.session.execute(
        update(Execution)
        .where(owned(execution_id, token))
        .values(lease_expires_at=utcnow() + _lease())
        .returning(Execution.cancel_requested)
    ).scalar_one_or_none()
    db.session.commit()
    return flag is None or bool(flag)
