"""Public trigger endpoints (webhooks and forms) and the log of the calls they received."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, TimestampMixin, utcnow

TRIGGER_KINDS = ("webhook", "form")
AUTH_MODES = ("none", "basic", "bearer", "api-key", "hmac")
RESPONSE_MODES = ("immediately", "when_complete", "via_node", "never")


class Webhook(IdMixin, TimestampMixin, Base):
    """One public endpoint of a workflow: a webhook (``kind='webhook'``) or a form.

    The token is found through ``token_hash`` (HMAC-SHA256 under the server's trigger-token
    key, see ``fluxolab.triggers.tokens``): a lookup by an indexed keyed hash, so no secret
    is ever compared byte by byte in SQL. ``token_encrypted`` keeps the token itself under
    the credentials cipher so that editors can read the full URL again.

    A row made from a workflow's trigger node names it in ``node_id`` (one row per node);
    rows created through ``POST /api/webhooks`` have none. Auth secrets are never stored
    here: ``credential_id`` names the credential that holds them (``basic``: http-basic,
    ``bearer``: http-bearer, ``api-key``: http-header, whose name is the header to send,
    ``hmac``: webhook-hmac).
    """

    __tablename__ = "webhooks"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="webhook")
    node_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255), default="")
    # the trigger node's ``path``: a label shown in lists and logs (the URL is the token route)
    path: Mapped[str] = mapped_column(String(500), default="")
    methods: Mapped[list[str]] = mapped_column(default=lambda: ["POST"])
    auth_mode: Mapped[str] = mapped_column(String(16), default="none")
    credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    response_mode: Mapped[str] = mapped_column(String(16), default="immediately")
    # calls per minute for this webhook; None: the server default
    rate_limit_per_minute: Mapped[int | None]
    # largest accepted body; None: the server default
    max_body_bytes: Mapped[int | None]
    # accepted media types (``application/json``, ``multipart/form-data`` ...); empty: any
    content_types: Mapped[list[str]] = mapped_column(default=list)
    token_hash: Mapped[str] = mapped_column(String(64))
    token_encrypted: Mapped[str] = mapped_column(Text)
    token_rotated_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    __table_args__ = (
        Index("uq_webhooks_token_hash", "token_hash", unique=True),
        Index("ix_webhooks_workspace_id_created_at", "workspace_id", "created_at"),
        Index(
            "uq_webhooks_workflow_id_node_id",
            "workflow_id",
            "node_id",
            unique=True,
            postgresql_where=text("node_id IS NOT NULL"),
            sqlite_where=text("node_id IS NOT NULL"),
        ),
        Index(
            "ix_webhooks_credential_id",
            "credential_id",
            postgresql_where=text("credential_id IS NOT NULL"),
            sqlite_where=text("credential_id IS NOT NULL"),
        ),
    )


class WebhookLog(IdMixin, Base):
    """One call a webhook (or form) received whose token matched, with what it answered.

    Headers are stored with sensitive values redacted and the body truncated; unknown tokens
    and rate-limited calls are never written here (they are only counted).
    """

    __tablename__ = "webhook_logs"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("executions.id", ondelete="SET NULL")
    )
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500), default="")
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[str | None] = mapped_column(Text)
    body_truncated: Mapped[bool] = mapped_column(default=False)
    response_status: Mapped[int]
    response_body: Mapped[dict[str, Any] | None]
    duration_ms: Mapped[int] = mapped_column(default=0)
    source_ip: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16), default="webhook")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_webhook_logs_webhook_id_created_at", "webhook_id", "created_at"),
        Index("ix_webhook_logs_created_at", "created_at"),
        Index(
            "ix_webhook_logs_execution_id",
            "execution_id",
            postgresql_where=text("execution_id IS NOT NULL"),
            sqlite_where=text("execution_id IS NOT NULL"),
        ),
    )
