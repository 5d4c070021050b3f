"""The CSV form of audit entries: one header line, then one line per entry, built lazily.

Cells a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) are prefixed with ``'`` so an exported value is never executed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from fluxolab.models import AuditEntry

COLUMNS = (
    "createdAt",
    "action",
    "actorType",
    "actorUserId",
    "actorApiKeyId",
    "ipAddress",
    "userAgent",
    "targetType",
    "targetId",
    "before",
    "after",
    "id",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """Return the text of one cell, neutralized when a spreadsheet would evaluate it."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    else:
        text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _row(entry: AuditEntry) -> list[str]:
    values = (
        entry.created_at.isoformat(),
        entry.action,
        entry.actor_type,
        entry.actor_user_id,
        entry.actor_api_key_id,
        entry.ip_address,
        entry.user_agent,
        entry.target_type,
        entry.target_id,
        entry.before,
        entry.after,
        entry.id,
    )
    return [safe_cell(value) for value in values]


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """Yield the CSV text (header first), one line per entry."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    for entry in entries:
        writer.writerow(_row(entry))
        yield flush()
