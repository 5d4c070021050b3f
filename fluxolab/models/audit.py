"""The audit trail: one append-only row per sensitive operation (``audit_log``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, utcnow

AUDIT_ACTOR_TYPES = ("user", "api_key", "system")


class AuditEntry(IdMixin, Base):
    """Who (a user, an API key or the system) did what, on what, from where, and when.

    Rows are never updated; the only deletion is the retention job (on PostgreSQL a trigger
    refuses every other UPDATE and DELETE). The ids carry no foreign keys on purpose: an
    entry outlives the user, key or object it names. ``before``/``after`` hold only the
    changed fields, with secrets masked (``***``) or reduced to key names.
    ``workspace_id`` is null only for a failed login whose e-mail matches no account.
    """

    __tablename__ = "audit_log"

    workspace_id: Mapped[uuid.UUID | None]
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[uuid.UUID | None]
    actor_api_key_id: Mapped[uuid.UUID | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())

    __table_args__ = (
        Index("ix_audit_log_workspace_id_created_at", "workspace_id", "created_at"),
        Index(
            "ix_audit_log_workspace_id_action_created_at", "workspace_id", "action", "created_at"
        ),
        Index(
            "ix_audit_log_workspace_id_actor_user_id_created_at",
            "workspace_id",
            "actor_user_id",
            "created_at",
        ),
        Index(
            "ix_audit_log_workspace_id_target_type_target_id",
            "workspace_id",
            "target_type",
            "target_id",
        ),
        Index("ix_audit_log_created_at", "created_at"),
    )
