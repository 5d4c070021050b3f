"""Helpers of the audit-trail tests: the entries written since a mark, and an entry as text."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import AuditEntry

CANARY = "Canary7f3e1c!Zx9"  # fits the password policy, so it can be a password too


def mark() -> set[uuid.UUID]:
    """The ids of every entry so far (compare with ``written_since``)."""
    return set(db.session.execute(select(AuditEntry.id)).scalars())


def written_since(seen: set[uuid.UUID]) -> list[AuditEntry]:
    """The entries written after ``mark`` returned ``seen``, oldest first."""
    db.session.expire_all()
    rows = db.session.execute(select(AuditEntry).order_by(AuditEntry.created_at)).scalars()
    return [row for row in rows if row.id not in seen]


def only(seen: set[uuid.UUID], action: str) -> AuditEntry:
    """Assert that exactly one entry, of ``action``, was written since ``seen``; return it."""
    added = written_since(seen)
    assert [entry.action for entry in added] == [action]
    return added[0]


def as_text(entry: AuditEntry) -> str:
    """Every column of an entry as one JSON text (to look for a planted secret)."""
    columns = {column.key: getattr(entry, column.key) for column in AuditEntry.__mapper__.columns}
    return json.dumps(columns, default=str)
