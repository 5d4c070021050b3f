"""Credentials: a workspace's secrets for the nodes that reach out, encrypted at rest."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, IdMixin, TimestampMixin


class Credential(IdMixin, TimestampMixin, Base):
    """A named secret of one type (``fluxolab.credentials.types``), stored as a Fernet token.

    ``data_encrypted`` holds the JSON secret encrypted by the key whose fingerprint is
    ``key_id``: key rotation re-encrypts the rows under another key and is resumable.
    Names are unique per workspace ignoring case ("SMTP" and "smtp" would be confusing in
    the picker), which the unique index on ``lower(name)`` decides.
    """

    __tablename__ = "credentials"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    data_encrypted: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_used_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    __table_args__ = (
        Index(
            "uq_credentials_workspace_id_lower_name",
            "workspace_id",
            func.lower(name),
            unique=True,
        ),
        Index("ix_credentials_workspace_id_type", "workspace_id", "type"),
    )
