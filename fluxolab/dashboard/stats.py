"""Execution counts of a workspace's production runs, per bucket (hour or local day).

Production runs are those started outside the editor: modes ``webhook``, ``schedule``,
``form`` and ``error``, plus sub-executions (mode ``subworkflow``) whose chain of
``parent_execution_id`` ends at one of those. Manual runs, retries started by a person,
editor tests and node tests (another table) are not counted. A run is counted in the bucket
of its ``created_at`` (indexed: ``ix_executions_workspace_id_created_at``).

``bucket_rows`` is the one aggregation (window -> rows per bucket and workflow); a nightly
``execution_stats`` rollup can later answer it for closed days with the same rows.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from fluxolab.dashboard.periods import Bucket
from fluxolab.extensions import db
from fluxolab.models import SUBWORKFLOW_MODE, TRIGGER_MODES, Execution
from fluxolab.models.base import UTCDateTime

PRODUCTION_MODES = TRIGGER_MODES
FAILED_STATUSES = ("failed", "timed_out")
SUCCEEDED = "succeeded"
P95 = 0.95


@dataclass(frozen=True)
class Counts:
    """Runs, outcomes and the durations known (finished runs) of some production runs."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    duration_sum_ms: int = 0
    durations: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.total + other.total,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.duration_sum_ms + other.duration_sum_ms,
            self.durations + other.durations,
        )

    @property
    def avg_duration_ms(self) -> float | None:
        """The mean duration of the finished runs, ``None`` when none finished."""
        return self.duration_sum_ms / self.durations if self.durations else None


@dataclass(frozen=True)
class BucketRow:
    """The counts of one workflow's production runs created in bucket number ``bucket``."""

    bucket: int
    workflow_id: uuid.UUID
    counts: Counts


def _production_subruns(workspace_id: uuid.UUID, start: datetime, end: datetime) -> Select[Any]:
    """Ids of the window's sub-executions whose root run is a production run.

    A recursive walk up ``parent_execution_id`` (bounded by the sub-workflow depth limit);
    a chain whose parent row was pruned is not production (nothing proves it was).
    """
    anchor = (
        select(
            Execution.id.label("id"),
            Execution.parent_execution_id.label("parent_id"),
            Execution.mode.label("mode"),
        )
        .where(
            Execution.workspace_id == workspace_id,
            Execution.mode == SUBWORKFLOW_MODE,
            Execution.parent_execution_id.is_not(None),
            Execution.created_at >= start,
            Execution.created_at < end,
        )
        .cte("subrun_chain", recursive=True)
    )
    parent = aliased(Execution)
    chain = anchor.union_all(
        select(anchor.c.id, parent.parent_execution_id, parent.mode)
        .join(parent, parent.id == anchor.c.parent_id)
        .where(anchor.c.mode == SUBWORKFLOW_MODE, parent.workspace_id == workspace_id)
    )
    return select(chain.c.id).where(chain.c.mode.in_(PRODUCTION_MODES))


def production(workspace_id: uuid.UUID, start: datetime, end: datetime) -> ColumnElement[bool]:
    """The condition "this execution of the window is a production run"."""
    return or_(
        Execution.mode.in_(PRODUCTION_MODES),
        Execution.id.in_(_production_subruns(workspace_id, start, end)),
    )


def _bucket_of(buckets: Sequence[Bucket], low: int, high: int) -> ColumnElement[int]:
    """The number of the bucket among ``buckets[low:high]`` holding a run's ``created_at``.

    A balanced tree of ``CASE created_at < boundary``: about log2(n) comparisons per run,
    exact for days of any length (DST). Buckets are contiguous and the run is in the window.
    """
    if high - low == 1:
        return literal(low, Integer)
    middle = (low + high) // 2
    boundary = literal(buckets[middle].start, UTCDateTime())
    return case(
        (Execution.created_at < boundary, _bucket_of(buckets, low, middle)),
        else_=_bucket_of(buckets, middle, high),
    )


def bucket_rows(workspace_id: uuid.UUID, buckets: Sequence[Bucket]) -> list[BucketRow]:
    """Counts of production runs per (bucket, workflow) for contiguous ``buckets``; buckets
    and workflows without runs have no row.

    One query: one range scan of ``ix_executions_workspace_id_created_at`` over the window.
    """
    if not buckets:
        return []
    start, end = buckets[0].start, buckets[-1].end
    runs = (
        select(
            _bucket_of(buckets, 0, len(buckets)).label("bucket"),
            Execution.workflow_id,
            Execution.status,
            Execution.duration_ms,
        )
        .where(
            Execution.workspace_id == workspace_id,
            Execution.created_at >= start,
            Execution.created_at < end,
            production(workspace_id, start, end),
        )
        .subquery("runs")
    )
    stmt = select(
        runs.c.bucket,
        runs.c.workflow_id,
        func.count(),
        func.sum(case((runs.c.status == SUCCEEDED, 1), else_=0)),
        func.sum(case((runs.c.status.in_(FAILED_STATUSES), 1), else_=0)),
        func.sum(func.coalesce(runs.c.duration_ms, 0)),
        func.count(runs.c.duration_ms),
    ).group_by(runs.c.bucket, runs.c.workflow_id)
    return [
        BucketRow(int(bucket), workflow_id, Counts(*(int(value or 0) for value in values)))
        for bucket, workflow_id, *values in db.session.execute(stmt)
    ]


def p95_duration_ms(
    workspace_id: uuid.UUID, start: datetime, end: datetime, durations: int
) -> int | None:
    """The 95th percentile (nearest rank) of the known durations of the window's production
    runs; ``durations`` is how many there are (from ``bucket_rows``). ``None`` when none."""
    if durations <= 0:
        return None
    rank = math.ceil(P95 * durations) - 1
    stmt = (
        select(Execution.duration_ms)
        .where(
            Execution.workspace_id == workspace_id,
            Execution.created_at >= start,
            Execution.created_at < end,
            Execution.duration_ms.is_not(None),
            production(workspace_id, start, end),
        )
        .order_by(Execution.duration_ms)
        .offset(rank)
        .limit(1)
    )
    value = db.session.execute(stmt).scalar_one_or_none()
    return int(value) if value is not None else None
