"""Beat's side of schedules: fire every due time of the active schedules exactly once.

One tick (``fire_due``) finds the active schedules whose ``next_due_at`` has come and, per
schedule and due time, in one transaction: locks the row (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so a second beat moves on), inserts the ``schedule_fires`` row (its unique
``(workflow_id, node_id, scheduled_for)`` decides: a conflict means another beat fired it),
creates the ``queued`` execution (mode ``schedule``) and advances ``next_due_at``; the run
is published after the commit (the sweeper re-publishes it if the broker was down).

Due times missed while beat was not running (``SCHEDULE_CATCH_UP``): ``one`` (default)
fires only the latest of them, ``none`` fires the latest only when it is at most
``SCHEDULE_MISFIRE_GRACE_SECONDS`` old, ``all`` fires each of them (the newest
``SCHEDULE_CATCH_UP_MAX``). A run the plan quota (or an invalid definition) refuses is
logged and recorded as ``skipped``: that due time is spent, the next one fires as usual.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from typing import cast as typed

from flask import current_app
from sqlalchemy import Insert, Table, delete, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from fluxolab.errors import NotFound, PlanLimitExceeded, ValidationFailed
from fluxolab.executions import service as executions
from fluxolab.extensions import db
from fluxolab.models import Schedule, ScheduleFire, Workflow, utcnow
from fluxolab.schedules.due import InvalidSchedule, ScheduleSpec, latest_due, next_due, parse_spec

log = logging.getLogger(__name__)
MODE = "schedule"
_FIRES = typed(Table, ScheduleFire.__table__)


@dataclass
class FireReport:
    """What one tick did."""

    fired: int = 0
    skipped: int = 0
    disabled: int = 0


def fire_due(now: datetime | None = None) -> FireReport:
    """Fire the due times of every active schedule whose ``next_due_at <= now``.

    ``now`` (default: the current time) is the scheduler's clock. Safe to run concurrently.
    """
    now = now or utcnow()
    batch = int(current_app.config["SCHEDULE_BATCH"])
    ids = (
        db.session.execute(
            select(Schedule.id)
            .where(Schedule.is_active == true(), Schedule.next_due_at <= now)
            .order_by(Schedule.next_due_at)
            .limit(batch)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    report = FireReport()
    for schedule_id in ids:
        _fire_schedule(schedule_id, now, report)
    return report


def plan(spec: ScheduleSpec, next_due_at: datetime, now: datetime) -> list[datetime]:
    """Return the due times to fire now, oldest first, by the catch-up setting."""
    config = current_app.config
    mode = str(config["SCHEDULE_CATCH_UP"])
    if mode == "all":
        return latest_due(spec, next_due_at, now, max(1, int(config["SCHEDULE_CATCH_UP_MAX"])))
    latest = latest_due(spec, next_due_at, now, 1)
    grace = timedelta(seconds=int(config["SCHEDULE_MISFIRE_GRACE_SECONDS"]))
    if mode == "none" and latest and now - latest[0] > grace:
        return []
    return latest


def _lock(schedule_id: uuid.UUID, now: datetime) -> Schedule | None:
    """Lock a due active schedule row, or return None (not due, gone, or another beat's)."""
    return db.session.execute(
        select(Schedule)
        .where(
            Schedule.id == schedule_id,
            Schedule.is_active == true(),
            Schedule.next_due_at <= now,
        )
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _fire_schedule(schedule_id: uuid.UUID, now: datetime, report: FireReport) -> None:
    """Fire a schedule's due times one transaction each, until none is left to fire."""
    while (row := _lock(schedule_id, now)) is not None:
        spec = _runnable_spec(row)
        if spec is None:
            report.disabled += 1
            db.session.commit()
            return
        assert row.next_due_at is not None
        due = plan(spec, row.next_due_at, now)
        if not due:
            row.next_due_at = next_due(spec, now)
            db.session.commit()
            return
        _fire_one(row, spec, due[0], now, report)
    db.session.rollback()  # nothing (more) to fire: end the read transaction


def _runnable_spec(row: Schedule) -> ScheduleSpec | None:
    """Return the row's spec, or disable the row (no commit) when it must not fire."""
    live = db.session.execute(
        select(Workflow.id).where(
            Workflow.id == row.workflow_id,
            Workflow.status == "active",
            Workflow.deleted_at.is_(None),
        )
    ).first()
    try:
        spec = parse_spec(row.spec)
    except InvalidSchedule as exc:
        log.warning("schedule %s disabled: %s", row.id, exc)
        row.error = str(exc)
        spec = None
    if live is None or spec is None:
        row.is_active = False
        row.next_due_at = None
        return None
    return spec


def trigger_item(spec: ScheduleSpec, scheduled_for: datetime, now: datetime) -> dict[str, Any]:
    """Return the item a schedule-started run receives."""
    return {
        "timestamp": now.isoformat(),
        "scheduledFor": scheduled_for.isoformat(),
        "localTime": scheduled_for.astimezone(spec.zone).isoformat(),
        "timezone": spec.timezone,
    }


def _fire_one(
    row: Schedule, spec: ScheduleSpec, scheduled_for: datetime, now: datetime, report: FireReport
) -> None:
    """Fire one due time of a locked row: fire row, execution and next due time in one commit."""
    ids = (row.id, row.workspace_id, row.workflow_id, row.node_id)
    row.next_due_at = next_due(spec, scheduled_for)
    row.last_scheduled_for = scheduled_for
    row.last_fired_at = now
    fire_id = uuid.uuid4()
    if not _insert_fire(fire_id, ids, scheduled_for, "fired", None):
        db.session.commit()  # another beat fired this due time: only move on
        return
    try:
        execution = executions.create_execution(
            row.workspace_id,
            row.workflow_id,
            [trigger_item(spec, scheduled_for, now)],
            mode=MODE,
            user_id=None,
            publish_now=False,
            trigger_node_id=row.node_id,
            # ties the run to its fire row within the same commit
            idempotency_key=f"schedule:{fire_id}",
        )
    except (PlanLimitExceeded, ValidationFailed, NotFound) as exc:
        db.session.rollback()
        _skip(ids, spec, scheduled_for, now, exc.message, report)
        return
    report.fired += 1
    # create_execution committed the fire row, the run and the next due time together; the
    # link below is a convenience (the run's idempotency key names the fire row anyway)
    db.session.execute(
        update(ScheduleFire).where(ScheduleFire.id == fire_id).values(execution_id=execution.id)
    )
    db.session.commit()
    executions.publish(execution)


def _skip(
    ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID, str],
    spec: ScheduleSpec,
    scheduled_for: datetime,
    now: datetime,
    reason: str,
    report: FireReport,
) -> None:
    """Record a due time whose run was refused, and move the schedule past it."""
    log.warning("schedule %s skipped the run due at %s: %s", ids[0], scheduled_for, reason)
    row = _lock(ids[0], now)
    if row is None or row.next_due_at is None or row.next_due_at > scheduled_for:
        db.session.rollback()
        return
    row.next_due_at = next_due(spec, scheduled_for)
    row.last_scheduled_for = scheduled_for
    if _insert_fire(uuid.uuid4(), ids, scheduled_for, "skipped", reason):
        report.skipped += 1
    db.session.commit()


def _insert_fire(
    fire_id: uuid.UUID,
    ids: tuple[uuid.UUID, uuid.UUID, uuid.UUID, str],
    scheduled_for: datetime,
    status: str,
    error: str | None,
) -> bool:
    """Insert a ``schedule_fires`` row unless the due time has one; True when inserted."""
    values = {
        "id": fire_id,
        "schedule_id": ids[0],
        "workspace_id": ids[1],
        "workflow_id": ids[2],
        "node_id": ids[3],
        "scheduled_for": scheduled_for,
        "status": status,
        "error": error,
        "created_at": utcnow(),
    }
    dialect = db.session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement: Insert = module.insert(_FIRES).values(values).on_conflict_do_nothing()
    # RETURNING, not rowcount: the driver reports -1 for INSERT ... ON CONFLICT DO NOTHING
    inserted = db.session.connection().execute(statement.returning(_FIRES.c.id)).first()
    return inserted is not None


def prune_fires(now: datetime | None = None) -> int:
    """Delete ``schedule_fires`` rows older than ``EXECUTION_RETENTION_DAYS``, in batches.

    Safe: a fire row commits together with its schedule's ``next_due_at`` moving past it,
    and due times before ``next_due_at`` are never fired again, so an old row decides
    nothing any more (its run, if kept, still names its key).
    """
    config = current_app.config
    cutoff = (now or utcnow()) - timedelta(days=int(config["EXECUTION_RETENTION_DAYS"]))
    batch = int(config["EXECUTION_PRUNE_BATCH"])
    removed = 0
    while ids := (
        db.session.execute(
            select(ScheduleFire.id).where(ScheduleFire.created_at < cutoff).limit(batch)
        )
        .scalars()
        .all()
    ):
        db.session.execute(delete(ScheduleFire).where(ScheduleFire.id.in_(ids)))
        db.session.commit()
        removed += len(ids)
    db.session.commit()
    return removed
