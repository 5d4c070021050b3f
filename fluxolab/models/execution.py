"""Executions (one run of a workflow version) and their per-node steps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, utcnow

EXECUTION_STATUSES = (
    "queued",
    "running",
    "waiting",
    "succeeded",
    "failed",
    "canceled",
    "timed_out",
)
FINISHED_STATUSES = ("succeeded", "failed", "canceled", "timed_out")
EXECUTION_MODES = (
    "manual",
    "webhook",
    "schedule",
    "form",
    "error",
    "retry",
    "test",
    "subworkflow",
)
# Modes started by a trigger outside the editor (they count as production runs)
TRIGGER_MODES = ("webhook", "schedule", "form", "error")
# A run started by an Execute Workflow node; ``parent_execution_id`` names the run that started it.
SUBWORKFLOW_MODE = "subworkflow"


class Execution(IdMixin, Base):
    """One run. State machine: queued -> running -> succeeded|failed|canceled|timed_out|waiting.

    A worker claims a run with a conditional UPDATE (queued -> running, or an expired lease),
    so a duplicate delivery is a no-op. ``state`` holds the engine checkpoint for resumes.
    """

    __tablename__ = "executions"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    workflow_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workflow_versions.id", ondelete="RESTRICT")
    )
    version: Mapped[int]
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    trigger_node_id: Mapped[str | None] = mapped_column(String(128))
    input_items: Mapped[list[Any]] = mapped_column(default=list)
    output_items: Mapped[list[Any] | None]
    error: Mapped[dict[str, Any] | None]
    state: Mapped[dict[str, Any] | None]
    response: Mapped[dict[str, Any] | None]
    wait_until: Mapped[datetime | None]
    waiting_node_id: Mapped[str | None] = mapped_column(String(128))
    wait_kind: Mapped[str | None] = mapped_column(String(16))
    deliveries: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[int] = mapped_column(default=0)
    queued_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    retry_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("executions.id", ondelete="SET NULL")
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # sha256 of the request an idempotency key was first used with (a reuse with another
    # body is a conflict)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    parent_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("executions.id", ondelete="SET NULL")
    )
    # 0 for a top-level run; a sub-execution's is its parent's + 1
    depth: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None]
    deferred_at: Mapped[datetime | None]
    # the X-Request-Id of the API request that created the run (fluxolab.requestid)
    request_id: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_executions_workspace_id_created_at", "workspace_id", "created_at", "id"),
        Index("ix_executions_workflow_id_created_at", "workflow_id", "created_at"),
        Index("ix_executions_workspace_id_status", "workspace_id", "status"),
        Index(
            "ix_executions_deferred",
            "workspace_id",
            "created_at",
            postgresql_where=text("status = 'queued' AND deferred_at IS NOT NULL"),
            sqlite_where=text("status = 'queued' AND deferred_at IS NOT NULL"),
        ),
        # the dashboard's failing workflows of today: the day's failed runs only
        Index(
            "ix_executions_failures",
            "workspace_id",
            "created_at",
            postgresql_include=["workflow_id", "mode"],
            postgresql_where=text("status IN ('failed', 'timed_out')"),
            sqlite_where=text("status IN ('failed', 'timed_out')"),
        ),
        Index(
            "ix_executions_retry_of_id",
            "retry_of_id",
            postgresql_where=text("retry_of_id IS NOT NULL"),
            sqlite_where=text("retry_of_id IS NOT NULL"),
        ),
        Index(
            "ix_executions_parent_execution_id",
            "parent_execution_id",
            postgresql_where=text("parent_execution_id IS NOT NULL"),
            sqlite_where=text("parent_execution_id IS NOT NULL"),
        ),
        Index(
            "ix_executions_status_wait_until",
            "status",
            "wait_until",
            postgresql_where=text("status IN ('queued', 'running', 'waiting')"),
            sqlite_where=text("status IN ('queued', 'running', 'waiting')"),
        ),
        Index(
            "uq_executions_workspace_id_idempotency_key",
            "workspace_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
            sqlite_where=text("idempotency_key IS NOT NULL"),
        ),
    )


class ExecutionStep(IdMixin, Base):
    """What one node did in one execution: status, attempt, timings, truncated items, error."""

    __tablename__ = "execution_steps"

    execution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("executions.id", ondelete="CASCADE"))
    seq: Mapped[int]
    node_id: Mapped[str] = mapped_column(String(128))
    node_name: Mapped[str] = mapped_column(String(255))
    node_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    input_items: Mapped[list[Any]] = mapped_column(default=list)
    output: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[dict[str, Any] | None]
    truncated: Mapped[bool] = mapped_column(default=False)
    logs: Mapped[list[str]] = mapped_column(default=list)

    __table_args__ = (Index("ix_execution_steps_execution_id_seq", "execution_id", "seq"),)
