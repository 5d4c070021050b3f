"""Plans, workspaces, their members, invitations and environments."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, TimestampMixin

ROLES = ("viewer", "editor", "admin", "owner")


class Plan(IdMixin, TimestampMixin, Base):
    """A subscription plan; ``limits`` holds numbers or null (unlimited). Seeded by migration."""

    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(255), default="")
    price_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="BRL")
    billing_interval: Mapped[str] = mapped_column(String(8), default="month")
    trial_days: Mapped[int] = mapped_column(default=0)
    rank: Mapped[int] = mapped_column(default=0)
    popular: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    features: Mapped[list[str]] = mapped_column(default=list)


class Workspace(IdMixin, TimestampMixin, Base):
    """A tenant: every workspace-owned row carries its id; plan, trial and usage live here."""

    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    region: Mapped[str] = mapped_column(String(32), default="br-sao")
    timezone: Mapped[str] = mapped_column(String(64), default="America/Sao_Paulo")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    subscription_status: Mapped[str] = mapped_column(String(16), default="trialing")
    trial_ends_at: Mapped[datetime | None]
    renews_at: Mapped[datetime | None]
    usage_period_start: Mapped[datetime]
    executions_used: Mapped[int] = mapped_column(default=0)


class WorkspaceMember(IdMixin, TimestampMixin, Base):
    """A user's role in a workspace (owner, admin, editor or viewer)."""

    __tablename__ = "workspace_members"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    joined_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)


class WorkspaceInvitation(IdMixin, TimestampMixin, Base):
    """An e-mail invited to a workspace; whoever proves the e-mail (the mailed token) joins."""

    __tablename__ = "workspace_invitations"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (UniqueConstraint("workspace_id", "email"),)


class Environment(IdMixin, TimestampMixin, Base):
    """A deployment environment of a workspace (Sandbox, Staging, Producao)."""

    __tablename__ = "workspace_environments"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(64))
    environment_type: Mapped[str] = mapped_column(String(16))
    region: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    last_synced_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("workspace_id", "slug"),
        Index("ix_workspace_environments_workspace_id", "workspace_id"),
    )
