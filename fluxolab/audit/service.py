"""Reading the audit trail (one workspace's entries, filtered) and its retention by age.

Nothing here updates an entry; ``prune`` is the only deletion, and on PostgreSQL the
``audit_log_append_only`` trigger lets a DELETE through only inside a transaction that set
``fluxolab.audit_retention`` (``SET LOCAL``), which only ``prune`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, delete, select, text

from fluxolab.common.pagination import Page, paginate
from fluxolab.extensions import db
from fluxolab.models import AuditEntry, utcnow

RETENTION_SETTING = "fluxolab.audit_retention"
EXPORT_BATCH = 500


@dataclass(frozen=True)
class AuditFilters:
    """The filters of ``GET /api/audit``; None means "any"."""

    actor: uuid.UUID | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    from_: datetime | None = None
    to: datetime | None = None


def _query(workspace_id: uuid.UUID, filters: AuditFilters) -> Select[AuditEntry]:
    """The workspace's entries matching ``filters``, newest first (``from`` inclusive)."""
    stmt = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
    if filters.actor is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == filters.actor)
    if filters.action is not None:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == filters.target_id)
    if filters.from_ is not None:
        stmt = stmt.where(AuditEntry.created_at >= filters.from_)
    if filters.to is not None:
        stmt = stmt.where(AuditEntry.created_at < filters.to)
    return stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def list_entries(
    workspace_id: uuid.UUID, filters: AuditFilters, limit: int, offset: int
) -> Page[AuditEntry]:
    """Return one page of the workspace's entries matching ``filters``, newest first."""
    return paginate(_query(workspace_id, filters), limit, offset)


def iter_entries(workspace_id: uuid.UUID, filters: AuditFilters) -> Iterator[AuditEntry]:
    """Yield every matching entry, newest first, reading ``EXPORT_BATCH`` rows at a time.

    Pages by keyset on ``(created_at, id)`` so a long export holds no cursor open between
    batches and never skips or repeats a row.
    """
    stmt = _query(workspace_id, filters)
    last: tuple[datetime, uuid.UUID] | None = None
    while True:
        batch = stmt
        if last is not None:
            created_at, entry_id = last
            batch = batch.where(
                (AuditEntry.created_at < created_at)
                | ((AuditEntry.created_at == created_at) & (AuditEntry.id < entry_id))
            )
        rows = db.session.execute(batch.limit(EXPORT_BATCH)).scalars().all()
        yield from rows
        if len(rows) < EXPORT_BATCH:
            return
        last = (rows[-1].created_at, rows[-1].id)


def prune(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Delete entries older than ``AUDIT_RETENTION_DAYS``, ``batch`` rows per transaction.

    Each transaction switches the PostgreSQL trigger's retention setting on for itself
    only (``set_config(..., true)`` is ``SET LOCAL``) and off again before it commits.
    Returns how many entries went.
    """
    config = current_app.config
    size = batch or int(config["EXECUTION_PRUNE_BATCH"])
    cutoff = (now or utcnow()) - timedelta(days=int(config["AUDIT_RETENTION_DAYS"]))
    old = (
        select(AuditEntry.id)
        .where(AuditEntry.created_at < cutoff)
        .order_by(AuditEntry.created_at)
        .limit(size)
    )
    postgres = db.session.get_bind().dialect.name == "postgresql"
    removed = 0
    while ids := db.session.execute(old).scalars().all():
        if postgres:
            _retention(True)
        db.session.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
        if postgres:
            _retention(False)
        db.session.commit()
        removed += len(ids)
    db.session.commit()
    return removed


def _retention(on: bool) -> None:
    db.session.execute(
        text("SELECT set_config(:name, :value, true)"),
        {"name": RETENTION_SETTING, "value": "on" if on else "off"},
    )
