"""The workflow list: search, status and tag filters, a whitelisted sort, stable pages."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, cast, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB

from fluxolab.common.pagination import Page, paginate
from fluxolab.extensions import db
from fluxolab.models import User, Workflow

SORT_COLUMNS: dict[str, Any] = {
    "name": func.lower(Workflow.name),
    "updatedAt": Workflow.updated_at,
    "createdAt": Workflow.created_at,
    "lastExecutedAt": Workflow.last_executed_at,
    "executionCount": Workflow.execution_count,
    "status": Workflow.status,
}


def escape_like(text: str) -> str:
    """Escape LIKE wildcards (``%``, ``_``) and the escape character itself with ``\\``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_tag(tag: str) -> ColumnElement[bool]:
    """Workflows whose tag list contains ``tag``: JSONB ``@>`` on PostgreSQL, json_each else."""
    if db.session.get_bind().dialect.name == "postgresql":
        return Workflow.tags.op("@>", return_type=Boolean)(cast(literal(json.dumps([tag])), JSONB))
    entries = func.json_each(Workflow.tags).table_valued("value")
    return select(literal(1)).select_from(entries).where(entries.c.value == tag).exists()


def _order(stmt: Select[*tuple[Any, ...]], sort: str) -> Select[*tuple[Any, ...]]:
    """Order by the whitelisted ``sort`` key (``-`` = descending), NULLs last, id breaks ties.

    Names sort case-insensitively (the same on every database collation).
    """
    descending = sort.startswith("-")
    column = SORT_COLUMNS[sort.lstrip("-")]
    ordered = column.desc() if descending else column.asc()
    tie = Workflow.id.desc() if descending else Workflow.id.asc()
    return stmt.order_by(ordered.nulls_last(), tie)


def _filtered(
    stmt: Select[*tuple[Any, ...]],
    workspace_id: uuid.UUID,
    search: str | None,
    status: str | tuple[str, ...] | None,
    tag: str | None,
) -> Select[*tuple[Any, ...]]:
    """``stmt`` limited to the workspace's live workflows matching the filters."""
    stmt = stmt.where(Workflow.workspace_id == workspace_id, Workflow.deleted_at.is_(None))
    if search:
        stmt = stmt.where(Workflow.name.ilike(f"%{escape_like(search)}%", escape="\\"))
    if isinstance(status, tuple):
        stmt = stmt.where(Workflow.status.in_(status))
    elif status:
        stmt = stmt.where(Workflow.status == status)
    if tag:
        stmt = stmt.where(_has_tag(tag))
    return stmt


def list_workflows(
    workspace_id: uuid.UUID,
    *,
    search: str | None = None,
    status: str | tuple[str, ...] | None = None,
    tag: str | None = None,
    sort: str = "-updatedAt",
    limit: int = 50,
    offset: int = 0,
) -> Page[Workflow]:
    """Return one page of the workspace's live workflows matching the filters.

    ``status`` is one status or a tuple of them (any matches).
    """
    stmt = _filtered(select(Workflow), workspace_id, search, status, tag)
    return paginate(_order(stmt, sort), limit, offset)


def list_cards(
    workspace_id: uuid.UUID,
    *,
    search: str | None = None,
    status: str | tuple[str, ...] | None = None,
    sort: str = "-updatedAt",
    limit: int = 50,
    offset: int = 0,
) -> Page[Any]:
    """Like ``list_workflows``, rows of only what a dashboard card shows (``id``, ``name``,
    ``status``, ``tags``, ``created_at``, ``updated_at`` and the creator's name as
    ``owner``): the dashboard lists, read on every keystroke of its search."""
    columns = select(
        Workflow.id,
        Workflow.name,
        Workflow.status,
        Workflow.tags,
        Workflow.created_at,
        Workflow.updated_at,
        User.display_name.label("owner"),
    ).outerjoin(User, User.id == Workflow.created_by)
    stmt = _filtered(columns, workspace_id, search, status, None)
    return paginate(_order(stmt, sort), limit, offset, scalars=False)
