"""Workspace settings rows: API keys (hashed), usage alerts and billing events."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, TimestampMixin, utcnow

API_KEY_SCOPES = (
    "workflows:read",
    "workflows:write",
    "executions:read",
    "executions:write",
    "webhooks:read",
    "webhooks:write",
    "credentials:read",
    "credentials:write",
)
ALERT_METRICS = ("executions", "webhooks", "workflows", "users")
ALERT_CONDITIONS = ("greater_than", "less_than", "equals")
ALERT_CHANNELS = ("email", "slack", "webhook", "sms")


class ApiKey(IdMixin, TimestampMixin, Base):
    """A workspace API key: only the SHA-256 of its token is stored, never the token.

    ``status`` is ``active`` or ``revoked``; an active key past ``expires_at`` reads as
    ``expired``. Rotating replaces ``key_hash`` (the old token stops matching at once).
    """

    __tablename__ = "workspace_api_keys"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_preview: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_workspace_api_keys_workspace_id_status", "workspace_id", "status"),)


class UsageAlert(IdMixin, TimestampMixin, Base):
    """A threshold on one usage metric, checked by the ``maintenance.evaluate_usage_alerts`` job.

    It fires at most once per ``window`` (``1h``, ``24h``, ``7d`` ...): ``last_triggered_at``
    records the last firing and ``last_value`` the usage that caused it.
    """

    __tablename__ = "workspace_usage_alerts"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    condition: Mapped[str] = mapped_column(String(16))
    window: Mapped[str] = mapped_column("window_size", String(8), default="24h")
    channel: Mapped[str] = mapped_column(String(16), default="email")
    enabled: Mapped[bool] = mapped_column(default=True)
    alert_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    last_triggered_at: Mapped[datetime | None]
    last_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))

    __table_args__ = (Index("ix_workspace_usage_alerts_workspace_id", "workspace_id"),)


class BillingEvent(IdMixin, Base):
    """One recorded plan change or cancellation (no payment is processed)."""

    __tablename__ = "workspace_billing_events"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    from_plan_code: Mapped[str | None] = mapped_column(String(32))
    to_plan_code: Mapped[str | None] = mapped_column(String(32))
    billing_interval: Mapped[str | None] = mapped_column(String(8))
    immediate: Mapped[bool] = mapped_column(default=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="BRL")
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_workspace_billing_events_workspace_id_created_at", "workspace_id", "created_at"),
    )
