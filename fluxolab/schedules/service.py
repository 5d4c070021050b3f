"""Keep a workflow's schedule rows in step with its ``schedule`` trigger nodes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import Schedule, Workflow, utcnow
from fluxolab.schedules.due import InvalidSchedule, ScheduleSpec, next_due, parse_spec


def sync_workflow(
    workflow: Workflow,
    nodes: Sequence[Mapping[str, Any]],
    active: bool,
    now: datetime | None = None,
) -> None:
    """Create, update, enable or disable the schedules of ``workflow``'s ``schedule`` nodes.

    ``nodes`` are the enabled schedule trigger nodes of the current definition; ``active``
    says whether beat should fire them. A schedule that is created, (re)enabled or changed
    counts its next due time from ``now``: the time it was inactive is never fired later.
    A node that left the definition loses its row. Runs in the caller's transaction.
    """
    now = now or utcnow()
    rows = {
        row.node_id: row
        for row in db.session.scalars(select(Schedule).where(Schedule.workflow_id == workflow.id))
    }
    kept: set[str] = set()
    for node in nodes:
        node_id = str(node["id"])
        row = rows.get(node_id)
        if row is None and not active:
            continue
        kept.add(node_id)
        if row is None:
            row = Schedule(workspace_id=workflow.workspace_id, workflow_id=workflow.id)
            row.node_id = node_id
            row.is_active = False
            db.session.add(row)
        _apply(row, node, active, now)
    for node_id, row in rows.items():
        if node_id not in kept:
            db.session.delete(row)


def _apply(row: Schedule, node: Mapping[str, Any], active: bool, now: datetime) -> None:
    """Set ``row`` from the node's params; restart its due times when it changed or woke."""
    params = node.get("params")
    try:
        spec: ScheduleSpec | None = parse_spec(params if isinstance(params, Mapping) else {})
        error = None
    except InvalidSchedule as exc:
        spec, error = None, str(exc)
    stored = spec.as_dict() if spec is not None else dict(params or {})
    changed = row.spec != stored or row.error != error
    woke = active and not row.is_active
    row.spec = stored
    row.cron = spec.cron if spec is not None else None
    row.timezone = spec.timezone if spec is not None else str(stored.get("timezone") or "UTC")
    row.error = error
    row.is_active = active and spec is not None
    if not row.is_active or spec is None:
        row.next_due_at = None
    elif changed or woke or row.next_due_at is None:
        row.next_due_at = next_due(spec, now)
