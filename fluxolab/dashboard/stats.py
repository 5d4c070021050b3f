"""Execution counts of a workspace's production runs, per bucket (hour or local day).

Production runs are those started outside the editor: modes ``webhook``, ``schedule``,
``form`` and ``error``, plus sub-executions (mode ``subworkflow``) whose chain of
``parent_execution_id`` ends at one of those. Manual runs, retries started by a person,
editor tests and node tests (another table) are not counted. A run is counted in the bucket
of its ``created_at`` (indexed: ``ix_executions_workspace_id_created_at``).

``bucket_rows`` is the one aggregation (window -> rows per bucket and workflow). Given the
workspace's zone, every whole local day of a bucket that has ended and that the nightly
rollup has rolled (``execution_stats_days``) is read from ``execution_stats`` (its production
rows, a range of its primary key); the rest (today, partial days, hours, days not rolled) is
counted live from ``executions``. Both give the same ``Counts``.

Durations: the p95 is computed from a fixed-bucket histogram (``DURATION_BOUNDS_MS``: upper
bounds 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000 ms and an
unbounded last bucket) so the live and rolled paths agree: it is the upper bound of the bucket
holding the nearest-rank 95th percentile, capped at the largest duration seen.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from fluxolab.dashboard.periods import Bucket, local_midnight
from fluxolab.extensions import db
from fluxolab.models import (
    DURATION_BOUNDS_MS,
    HISTOGRAM_COLUMNS,
    SUBWORKFLOW_MODE,
    TRIGGER_MODES,
    Execution,
    ExecutionStat,
    ExecutionStatsDay,
    Workspace,
)
from fluxolab.models.base import UTCDateTime

PRODUCTION_MODES = TRIGGER_MODES
FAILED_STATUSES = ("failed", "timed_out")
SUCCEEDED = "succeeded"
P95 = 0.95
EMPTY_HISTOGRAM = (0,) * len(HISTOGRAM_COLUMNS)

# One workspace, or a query of workspace ids (the rollup: every workspace of a time zone)
Scope = uuid.UUID | Select[Any]


@dataclass(frozen=True)
class Counts:
    """Runs, outcomes and the durations known (finished runs) of some production runs."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    duration_sum_ms: int = 0
    durations: int = 0
    duration_max_ms: int | None = None
    histogram: tuple[int, ...] = EMPTY_HISTOGRAM

    def __add__(self, other: Counts) -> Counts:
        highest = [v for v in (self.duration_max_ms, other.duration_max_ms) if v is not None]
        return Counts(
            self.total + other.total,
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.duration_sum_ms + other.duration_sum_ms,
            self.durations + other.durations,
            max(highest) if highest else None,
            tuple(a + b for a, b in zip(self.histogram, other.histogram, strict=True)),
        )

    @property
    def avg_duration_ms(self) -> float | None:
        """The mean duration of the finished runs, ``None`` when none finished."""
        return self.duration_sum_ms / self.durations if self.durations else None

    @property
    def p95_duration_ms(self) -> int | None:
        """The upper bound of the histogram bucket holding the nearest-rank 95th percentile,
        capped at the largest duration; ``None`` without durations."""
        if self.durations <= 0 or self.duration_max_ms is None:
            return None
        rank = math.ceil(P95 * self.durations)
        seen = 0
        for index, count in enumerate(self.histogram):
            seen += count
            if seen >= rank:
                if index < len(DURATION_BOUNDS_MS):
                    return min(DURATION_BOUNDS_MS[index], self.duration_max_ms)
                break
        return self.duration_max_ms


@dataclass(frozen=True)
class BucketRow:
    """The counts of one workflow's production runs created in bucket number ``bucket``."""

    bucket: int
    workflow_id: uuid.UUID
    counts: Counts


def in_scope(column: InstrumentedAttribute[uuid.UUID], scope: Scope) -> ColumnElement[bool]:
    """``column`` is the workspace, or one of the workspaces, of ``scope``."""
    return column == scope if isinstance(scope, uuid.UUID) else column.in_(scope)


def _production_subruns(scope: Scope, start: datetime, end: datetime) -> Select[Any]:
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
            in_scope(Execution.workspace_id, scope),
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
        .where(anchor.c.mode == SUBWORKFLOW_MODE, in_scope(parent.workspace_id, scope))
    )
    return select(chain.c.id).where(chain.c.mode.in_(PRODUCTION_MODES))


def production(scope: Scope, start: datetime, end: datetime) -> ColumnElement[bool]:
    """The condition "this execution of the window is a production run"."""
    return or_(
        Execution.mode.in_(PRODUCTION_MODES),
        Execution.id.in_(_production_subruns(scope, start, end)),
    )


def histogram_sums(duration: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """``sum`` per histogram bucket of ``duration`` (ms; NULL is in no bucket), in
    ``HISTOGRAM_COLUMNS`` order."""
    sums: list[ColumnElement[Any]] = []
    lower: int | None = None
    for bound in (*DURATION_BOUNDS_MS, None):
        conditions = []
        if lower is not None:
            conditions.append(duration > lower)
        if bound is not None:
            conditions.append(duration <= bound)
        sums.append(func.sum(case((and_(*conditions), 1), else_=0)))
        lower = bound
    return sums


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


def _counts(values: Sequence[Any]) -> Counts:
    """``Counts`` from (total, succeeded, failed, sum, durations, max, *histogram)."""
    total, succeeded, failed, duration_sum, durations, highest, *histogram = values
    return Counts(
        int(total or 0),
        int(succeeded or 0),
        int(failed or 0),
        int(duration_sum or 0),
        int(durations or 0),
        int(highest) if highest is not None else None,
        tuple(int(value or 0) for value in histogram),
    )


def live_rows(workspace_id: uuid.UUID, buckets: Sequence[Bucket]) -> list[BucketRow]:
    """Counts of production runs per (bucket, workflow) for contiguous ``buckets``, counted
    from ``executions``; buckets and workflows without runs have no row.

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
        func.max(runs.c.duration_ms),
        *histogram_sums(runs.c.duration_ms),
    ).group_by(runs.c.bucket, runs.c.workflow_id)
    return [
        BucketRow(int(bucket), workflow_id, _counts(values))
        for bucket, workflow_id, *values in db.session.execute(stmt)
    ]


def rolled_days(workspace_id: uuid.UUID, first: date, last: date) -> set[date]:
    """The local days from ``first`` to ``last`` the rollup has rolled for the workspace's
    time zone."""
    zone_name = select(Workspace.timezone).where(Workspace.id == workspace_id).scalar_subquery()
    stmt = select(ExecutionStatsDay.day).where(
        ExecutionStatsDay.timezone == zone_name,
        ExecutionStatsDay.day >= first,
        ExecutionStatsDay.day <= last,
    )
    return set(db.session.execute(stmt).scalars())


def rollup_rows(workspace_id: uuid.UUID, days: set[date]) -> dict[date, list[BucketRow]]:
    """Counts of production runs per (day, workflow) from ``execution_stats`` for ``days``
    (a range scan of its primary key, which starts with workspace_id, day)."""
    if not days:
        return {}
    stat = ExecutionStat
    stmt = (
        select(
            stat.day,
            stat.workflow_id,
            func.sum(stat.total),
            func.sum(stat.succeeded),
            func.sum(stat.failed + stat.timed_out),
            func.sum(stat.duration_ms_sum),
            func.sum(stat.durations),
            func.max(stat.duration_ms_max),
            *(func.sum(getattr(stat, column)) for column in HISTOGRAM_COLUMNS),
        )
        .where(
            stat.workspace_id == workspace_id,
            stat.day >= min(days),
            stat.day <= max(days),
            stat.production.is_(True),
        )
        .group_by(stat.day, stat.workflow_id)
    )
    rows: dict[date, list[BucketRow]] = defaultdict(list)
    for day, workflow_id, *values in db.session.execute(stmt):
        if day in days:
            rows[day].append(BucketRow(0, workflow_id, _counts(values)))
    return rows


@dataclass(frozen=True)
class _Piece:
    """A part of bucket ``bucket``: a rolled local ``day``, or a stretch counted live."""

    bucket: int
    start: datetime
    end: datetime
    day: date | None = None


def _pieces(buckets: Sequence[Bucket], zone: ZoneInfo, usable: set[date]) -> list[_Piece]:
    """Split each bucket into whole local days in ``usable`` (read from the rollup) and the
    stretches around them (counted live), in time order."""
    pieces: list[_Piece] = []
    for index, bucket in enumerate(buckets):
        cursor = bucket.start
        day = bucket.start.astimezone(zone).date()
        while cursor < bucket.end:
            day_start, day_end = local_midnight(day, zone), local_midnight(day + timedelta(1), zone)
            if day_start == cursor and day_end <= bucket.end and day in usable:
                pieces.append(_Piece(index, cursor, day_end, day))
            else:
                end = min(day_end, bucket.end)
                pieces.append(_Piece(index, cursor, end))
            cursor = min(day_end, bucket.end)
            day += timedelta(1)
    return pieces


def bucket_rows(
    workspace_id: uuid.UUID,
    buckets: Sequence[Bucket],
    zone: ZoneInfo | None = None,
    now: datetime | None = None,
) -> list[BucketRow]:
    """Counts of production runs per (bucket, workflow) for contiguous ``buckets``; buckets
    and workflows without runs have no row.

    With ``zone`` and ``now``, whole local days that ended before ``now`` and were rolled come
    from ``execution_stats``; everything else is counted live (one query per stretch of
    adjacent live pieces). Without them, everything is live.
    """
    if not buckets:
        return []
    if zone is None or now is None:
        return live_rows(workspace_id, buckets)
    first = buckets[0].start.astimezone(zone).date()
    last = buckets[-1].end.astimezone(zone).date()
    usable = {
        day
        for day in rolled_days(workspace_id, first, last)
        if local_midnight(day + timedelta(1), zone) <= now
    }
    pieces = _pieces(buckets, zone, usable)
    merged: dict[tuple[int, uuid.UUID], Counts] = defaultdict(Counts)
    rolled = rollup_rows(workspace_id, {piece.day for piece in pieces if piece.day})
    stretch: list[_Piece] = []
    for piece in [*pieces, None]:
        if piece is not None and piece.day is None:
            if stretch and stretch[-1].end != piece.start:
                _add_live(workspace_id, stretch, merged)
                stretch = []
            stretch.append(piece)
            continue
        _add_live(workspace_id, stretch, merged)
        stretch = []
        if piece is not None and piece.day is not None:
            for row in rolled.get(piece.day, []):
                key = (piece.bucket, row.workflow_id)
                merged[key] = merged[key] + row.counts
    return [BucketRow(bucket, workflow, counts) for (bucket, workflow), counts in merged.items()]


def _add_live(
    workspace_id: uuid.UUID, stretch: list[_Piece], merged: dict[tuple[int, uuid.UUID], Counts]
) -> None:
    """Count ``stretch`` (adjacent live pieces) live and add it to ``merged`` per bucket."""
    if not stretch:
        return
    pieces = [Bucket(piece.start, piece.end, "") for piece in stretch]
    for row in live_rows(workspace_id, pieces):
        key = (stretch[row.bucket].bucket, row.workflow_id)
        merged[key] = merged[key] + row.counts
