"""Schedule triggers and the due times beat fired for them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, TimestampMixin, utcnow

FIRE_STATUSES = ("fired", "skipped")


class Schedule(IdMixin, TimestampMixin, Base):
    """One ``schedule`` trigger node of a workflow (one row per ``(workflow_id, node_id)``).

    ``spec`` holds the node's checked params (interval, value, cron, timezone); beat fires the
    row when it is active and ``next_due_at`` has come.
    """

    __tablename__ = "schedules"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(128))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cron: Mapped[str | None] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(default=True)
    next_due_at: Mapped[datetime | None]
    last_fired_at: Mapped[datetime | None]
    last_scheduled_for: Mapped[datetime | None]
    # why the schedule cannot fire (an invalid spec), or None
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("workflow_id", "node_id"),
        Index(
            "ix_schedules_next_due_at",
            "next_due_at",
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
    )


class ScheduleFire(IdMixin, Base):
    """One due time of a schedule that beat handled: the unique row decides exactly-once.

    ``status`` is ``fired`` (``execution_id`` names the run) or ``skipped`` (the run could
    not be created, for example over the plan quota; ``error`` says why).
    """

    __tablename__ = "schedule_fires"

    schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(128))
    scheduled_for: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="fired")
    execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("executions.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("workflow_id", "node_id", "scheduled_for"),
        Index("ix_schedule_fires_schedule_id_scheduled_for", "schedule_id", "scheduled_for"),
        Index("ix_schedule_fires_created_at", "created_at"),  # retention pruning
        Index(
            "ix_schedule_fires_execution_id",
            "execution_id",
            postgresql_where=text("execution_id IS NOT NULL"),
            sqlite_where=text("execution_id IS NOT NULL"),
        ),
    )
