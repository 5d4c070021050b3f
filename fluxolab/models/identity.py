"""Users, login sessions, refresh tokens and password-reset requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, TimestampMixin


class User(IdMixin, TimestampMixin, Base):
    """A person who logs in; ``email`` is stored lower-cased and unique."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(190))
    avatar_color: Mapped[str] = mapped_column(String(7), default="#a855f7")
    cpf: Mapped[str | None] = mapped_column(String(11), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="America/Sao_Paulo")
    language: Mapped[str] = mapped_column(String(10), default="pt-BR")
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL"), index=True
    )
    last_login_at: Mapped[datetime | None]


class AuthSession(IdMixin, Base):
    """One login: every access and refresh token carries its id; revoking it ends them all."""

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ix_auth_sessions_user_id_revoked_at", "user_id", "revoked_at"),)


class RefreshToken(Base):
    """A single-use refresh token (by ``jti``); reusing a used one revokes its session."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class PasswordResetRequest(IdMixin, Base):
    """A 6-digit reset code (hashed) with its lifetime, attempts and single-use reset token."""

    __tablename__ = "password_reset_requests"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    verified_at: Mapped[datetime | None]
    consumed_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
