"""Workflows and their immutable versions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, TimestampMixin

WORKFLOW_STATUSES = ("draft", "active", "inactive", "error")


class Workflow(IdMixin, TimestampMixin, Base):
    """A named graph of nodes; the definition lives in ``WorkflowVersion`` rows.

    Names are not unique (the builder saves every new workflow as "Novo Workflow").
    Deleting is soft (``deleted_at``).
    """

    __tablename__ = "workflows"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    tags: Mapped[list[str]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1)
    execution_count: Mapped[int] = mapped_column(default=0)
    last_executed_at: Mapped[datetime | None]
    # the workflow started (mode ``error``) when a production run of this one fails
    error_workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workflows.id", ondelete="SET NULL")
    )
    # what one successful production run saves a person (the dashboard's "time saved")
    minutes_saved_per_run: Mapped[float] = mapped_column(default=0, server_default=text("0"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_workflows_workspace_id_updated_at", "workspace_id", "updated_at"),
        Index("ix_workflows_workspace_id_status", "workspace_id", "status"),
        # the dashboard's search-as-you-type: ``name ILIKE '%q%'`` on PostgreSQL (pg_trgm)
        Index(
            "ix_workflows_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_workflows_error_workflow_id",
            "error_workflow_id",
            postgresql_where=text("error_workflow_id IS NOT NULL"),
            sqlite_where=text("error_workflow_id IS NOT NULL"),
        ),
    )

    @property
    def active(self) -> bool:
        """Whether the workflow's triggers are live."""
        return self.status == "active"


class WorkflowVersion(IdMixin, Base):
    """An immutable snapshot of a workflow definition; executions point at the one they ran."""

    __tablename__ = "workflow_versions"

    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    version: Mapped[int]
    definition: Mapped[dict[str, Any]]
    checksum: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("workflow_id", "version"),)
