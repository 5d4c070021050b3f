"""The production runs and minutes saved of a window per bucket, from three sources summed in
one statement: rolled hours (``execution_stats_hours``), rolled whole local days
(``execution_stats_workspace_days``, a row a day) and live stretches (``executions``)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Select,
    bindparam,
    case,
    cast,
    func,
    select,
    union_all,
)

from fluxolab.dashboard.stats import (
    FAILED_STATUSES,
    SUCCEEDED,
    WORKSPACE,
    Counts,
    bucket_number,
    bucket_params,
    bucket_shape,
    counts_of,
    dialect,
    histogram_sums,
    production,
    run,
    span_params,
    spans_condition,
)
from fluxolab.models import (
    HISTOGRAM_COLUMNS,
    Execution,
    ExecutionStatsHour,
    ExecutionStatsWorkspaceDay,
    Workflow,
)
from fluxolab.models.base import UTCDateTime

Span = tuple[Any, Any]


def _rolled_part(table: str, dialect_name: str, buckets: int, spans: int) -> Select[Any]:
    """Rolled rows of ``spans`` (``hours``: ``execution_stats_hours`` by hour start, bucketed
    by the buckets' first instants; ``days``: ``execution_stats_workspace_days`` by local
    day, bucketed by the buckets' first local days), summed per bucket."""
    model: Any = ExecutionStatsHour if table == "hours" else ExecutionStatsWorkspaceDay
    moment = model.hour if table == "hours" else model.day
    type_ = UTCDateTime() if table == "hours" else Date()
    bucket = bucket_number(moment, buckets, dialect_name, type_, f"{table}_starts")
    return (
        select(
            bucket.label("bucket"),
            func.sum(model.time_saved_minutes),
            _total(model.total),
            _total(model.succeeded),
            _total(model.failed + model.timed_out),
            _total(model.duration_ms_sum),
            _total(model.durations),
            func.max(model.duration_ms_max),
            *(_total(getattr(model, column)) for column in HISTOGRAM_COLUMNS),
        )
        .where(model.workspace_id == WORKSPACE, spans_condition(moment, spans, table))
        .group_by(bucket)
    )


def _live_part(dialect_name: str, buckets: int, number: int) -> Select[Any]:
    """Production runs created in live span ``number`` (``live_low_<n>`` .. ``live_high_<n>``),
    counted per bucket; minutes saved: each workflow's succeeded runs times its setting now."""
    low = bindparam(f"live_low_{number}", type_=UTCDateTime())
    high = bindparam(f"live_high_{number}", type_=UTCDateTime())
    runs = (
        select(
            bucket_number(Execution.created_at, buckets, dialect_name, None, "hours_starts").label(
                "bucket"
            ),
            Execution.workflow_id,
            Execution.status,
            Execution.duration_ms,
        )
        .where(
            Execution.workspace_id == WORKSPACE,
            Execution.created_at >= low,
            Execution.created_at < high,
            production(WORKSPACE, low, high, name=f"subrun_chain_{number}"),
        )
        .subquery(f"runs_{number}")
    )
    per_workflow = (
        select(
            runs.c.bucket,
            runs.c.workflow_id,
            func.count().label("total"),
            func.sum(case((runs.c.status == SUCCEEDED, 1), else_=0)).label("succeeded"),
            func.sum(case((runs.c.status.in_(FAILED_STATUSES), 1), else_=0)).label("failed"),
            func.sum(func.coalesce(runs.c.duration_ms, 0)).label("duration_sum"),
            func.count(runs.c.duration_ms).label("durations"),
            func.max(runs.c.duration_ms).label("duration_max"),
            *(
                value.label(column)
                for value, column in zip(
                    histogram_sums(runs.c.duration_ms), HISTOGRAM_COLUMNS, strict=True
                )
            ),
        )
        .group_by(runs.c.bucket, runs.c.workflow_id)
        .subquery(f"per_workflow_{number}")
    )
    live = per_workflow.c
    minutes = func.coalesce(Workflow.minutes_saved_per_run, 0)
    return (
        select(
            live.bucket,
            func.sum(live.succeeded * minutes),
            _total(live.total),
            _total(live.succeeded),
            _total(live.failed),
            _total(live.duration_sum),
            _total(live.durations),
            func.max(live.duration_max),
            *(_total(live[column]) for column in HISTOGRAM_COLUMNS),
        )
        .outerjoin(Workflow, Workflow.id == live.workflow_id)
        .group_by(live.bucket)
    )


@functools.lru_cache(maxsize=64)
def _sums_statement(
    dialect_name: str, buckets: int, hours: int, days: int, live: int
) -> Select[Any]:
    parts = []
    if hours:
        parts.append(_rolled_part("hours", dialect_name, buckets, hours))
    if days:
        parts.append(_rolled_part("days", dialect_name, buckets, days))
    parts.extend(_live_part(dialect_name, buckets, number) for number in range(live))
    if len(parts) == 1:
        return parts[0]
    summed = union_all(*parts).subquery("parts")
    bucket, saved, *values = summed.c
    return select(
        bucket,
        func.sum(saved),
        *(func.max(value) if n == 5 else _total(value) for n, value in enumerate(values)),
    ).group_by(bucket)


def _total(value: Any) -> ColumnElement[int]:
    """``sum(value)`` as a bigint: PostgreSQL sums bigints as numeric, which the driver
    reads as slower ``Decimal`` values."""
    return cast(func.sum(value), BigInteger)


def bucket_sums(
    workspace_id: uuid.UUID,
    starts: Sequence[datetime],
    days: Sequence[date],
    hours: Sequence[Span],
    day_spans: Sequence[Span],
    live: Sequence[Span],
) -> dict[int, tuple[Counts, float]]:
    """The production runs and minutes saved of contiguous buckets (``starts``: their first
    instants, ``days``: their first local days), summed per bucket in one statement: rolled
    hours starting in ``hours`` (``execution_stats_hours``), rolled local days in
    ``day_spans`` (``execution_stats_workspace_days``, a row a day) and the runs created in
    the ``live`` spans (``executions``, a range scan of
    ``ix_executions_workspace_id_created_at`` each; time saved at today's settings).
    Rolled spans lie inside one bucket; buckets without runs have no entry."""
    if not (hours or day_spans or live):
        return {}
    name = dialect()
    shape = bucket_shape(len(starts), name)
    statement = _sums_statement(name, shape, len(hours), len(day_spans), len(live))
    params: dict[str, Any] = {
        "workspace_id": workspace_id,
        **bucket_params(starts, name, "hours_starts"),
        **span_params(hours, "hours"),
        **span_params(day_spans, "days"),
        **span_params(live, "live"),
    }
    if day_spans:
        params.update(bucket_params(days, name, "days_starts"))
    rows = run(statement, params)
    return {int(index): (counts_of(values), float(saved or 0)) for index, saved, *values in rows}
