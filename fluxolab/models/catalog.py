"""The node catalog as tables (``node_templates``, ``node_categories``) for SQL consumers.

The registry (``fluxolab.engine.registry``) stays the source: ``fluxolab.nodes.service``
fills these rows from it with an idempotent sync (``fluxolab sync-node-catalog``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from fluxolab.models.base import Base, TimestampMixin


class NodeCategory(Base):
    """One of the six builder categories (contract 8.1)."""

    __tablename__ = "node_categories"

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    icon: Mapped[str] = mapped_column(String(100), default="")
    order_index: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class NodeTemplate(TimestampMixin, Base):
    """One node type of the registry in the catalog's shape (contract 8.2); ``id == type``."""

    __tablename__ = "node_templates"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(2000), default="")
    category: Mapped[str] = mapped_column(String(50))
    icon: Mapped[str] = mapped_column(String(100), default="")
    type: Mapped[str] = mapped_column(String(100))
    inputs: Mapped[int] = mapped_column(default=1)
    outputs: Mapped[int] = mapped_column(default=1)
    config_schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
