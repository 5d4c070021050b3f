"""Single-node tests from the editor: the request, its state and the result, kept for a while."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, utcnow

NODE_TEST_STATUSES = ("queued", "running", "succeeded", "failed")
NODE_TEST_FINISHED = ("succeeded", "failed")


class NodeTest(IdMixin, Base):
    """One ``POST /api/workflows/nodes/test``. State machine: queued -> running -> succeeded|failed.

    A worker claims the row with a conditional UPDATE (queued -> running), so a redelivered
    task is a no-op. ``request`` holds ``{config, inputData, credentialId}`` (the task message
    carries only the id); ``result`` is ``{success, output, logs, durationMs, error?}``.
    Rows are deleted once ``expires_at`` has passed.
    """

    __tablename__ = "node_tests"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    node_type: Mapped[str] = mapped_column(String(64))
    request: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_node_tests_expires_at", "expires_at"),)
