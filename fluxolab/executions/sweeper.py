"""Beat jobs for executions: re-publish stuck work, resume due waits, prune old runs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import Select, and_, delete, func, or_, select, update

from fluxolab import dispatch
from fluxolab.executions.service import queue_resume
from fluxolab.extensions import db
from fluxolab.metrics import instruments
from fluxolab.models import FINISHED_STATUSES, Execution, utcnow
from fluxolab.stats import rollup

BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    republished: int
    resumed: int


def sweep() -> SweepReport:
    """Re-publish queued runs nobody picked up and running runs whose worker died; resume waits.

    Safe to run concurrently or twice: the claim and the waiting->queued update decide.
    """
    return SweepReport(republished=republish_stale(), resumed=resume_due_waits())


def republish_stale() -> int:
    """Publish ``executions.run`` again for stale queued runs and runs with an expired lease.

    ``queued_at`` is moved forward for each one, so a run is re-published at most once per
    ``EXECUTION_REPUBLISH_AFTER_SECONDS`` however long a backlog lasts.
    """
    now = utcnow()
    stale = now - timedelta(seconds=int(current_app.config["EXECUTION_REPUBLISH_AFTER_SECONDS"]))
    ids = (
        db.session.execute(
            select(Execution.id)
            .where(
                Execution.queued_at < stale,
                or_(
                    Execution.status == "queued",
                    and_(Execution.status == "running", Execution.lease_expires_at < now),
                ),
            )
            .order_by(Execution.queued_at)
            .limit(BATCH)
        )
        .scalars()
        .all()
    )
    if ids:
        db.session.execute(update(Execution).where(Execution.id.in_(ids)).values(queued_at=now))
    db.session.commit()
    republished = len(ids) if dispatch.send_runs([str(execution_id) for execution_id in ids]) else 0
    instruments.sweeper_republished(republished)
    return republished


def resume_due_waits() -> int:
    """Queue waits whose time came, and reject approvals that timed out."""
    due = db.session.execute(
        select(Execution.id, Execution.wait_kind)
        .where(Execution.status == "waiting", Execution.wait_until <= utcnow())
        .limit(BATCH)
    ).all()
    resumed: list[uuid.UUID] = []
    for execution_id, kind in due:
        payload = None
        if kind == "approval":
            payload = {"approved": False, "by": None, "comment": None, "reason": "timeout"}
        if queue_resume(execution_id, kind or "wait", payload):
            resumed.append(execution_id)
    db.session.commit()
    dispatch.send_runs([str(execution_id) for execution_id in resumed])
    return len(resumed)


def prune() -> int:
    """Delete finished executions past the retention age or count, in batches; never unfinished.

    Only executions of days the stats rollup has sealed (``stats.rollup.prunable``, in the
    workspace's time zone) are deleted, so pruning never changes past dashboard stats.
    The count rule finds, per workspace over the limit, the creation time of the newest run
    to drop once (an index walk), then deletes older finished runs batch by batch.
    """
    config = current_app.config
    batch = int(config["EXECUTION_PRUNE_BATCH"])
    finished = and_(Execution.status.in_(FINISHED_STATUSES), rollup.prunable())
    cutoff = utcnow() - timedelta(days=int(config["EXECUTION_RETENTION_DAYS"]))
    removed = _delete_batches(
        select(Execution.id).where(finished, Execution.created_at < cutoff), batch
    )
    keep = int(config["EXECUTION_RETENTION_MAX_PER_WORKSPACE"])
    crowded = (
        db.session.execute(
            select(Execution.workspace_id)
            .where(finished)
            .group_by(Execution.workspace_id)
            .having(func.count() > keep)
        )
        .scalars()
        .all()
    )
    for workspace_id in crowded:
        oldest_kept = db.session.execute(
            select(Execution.created_at)
            .where(Execution.workspace_id == workspace_id, finished)
            .order_by(Execution.created_at.desc())
            .offset(keep - 1)
            .limit(1)
        ).scalar_one()
        removed += _delete_batches(
            select(Execution.id).where(
                Execution.workspace_id == workspace_id,
                finished,
                Execution.created_at < oldest_kept,
            ),
            batch,
        )
    return removed


def _delete_batches(id_query: Select[uuid.UUID], batch: int) -> int:
    total = 0
    while ids := db.session.execute(id_query.limit(batch)).scalars().all():
        db.session.execute(delete(Execution).where(Execution.id.in_(ids)))
        db.session.commit()
        total += len(ids)
    db.session.commit()
    return total
