"""The workflows failing most in a window: summed, ranked and named in one statement.

A window's failed or timed-out production runs come from whole local weeks
(``execution_stats_week_failures``, a row per workflow a week), the other rolled days
(``execution_stats``: ``ix_execution_stats_production``, index only), rolled hours
(``execution_stats_hour_failures``) and the live stretches not rolled yet (the failed runs
of ``executions``: ``ix_executions_failures``); ``top_failing`` sums them per workflow and
keeps the ``top`` with the most, then by name.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    literal,
    select,
    union_all,
)

from fluxolab.dashboard.stats import (
    FAILED_STATUSES,
    WORKSPACE,
    day_spans,
    production,
    run,
    span_params,
)
from fluxolab.models import (
    Execution,
    ExecutionStat,
    ExecutionStatsHourFailure,
    ExecutionStatsWeekFailure,
    Workflow,
)
from fluxolab.models.base import UTCDateTime


@dataclass(frozen=True)
class Failing:
    """A workflow and its failed or timed-out production runs in a window."""

    workflow_id: uuid.UUID
    name: str
    failures: int


def _span(column: Any, name: str, number: int) -> ColumnElement[bool]:
    """``column`` in span ``number`` of ``name`` (``<name>_low_<n>`` .. ``<name>_high_<n>``)."""
    return and_(
        column >= bindparam(f"{name}_low_{number}"), column < bindparam(f"{name}_high_{number}")
    )


@functools.lru_cache(maxsize=64)
def _failing_statement(weeks: int, days: int, hours: int, live: int) -> Select[Any]:
    stat, week, hour = ExecutionStat, ExecutionStatsWeekFailure, ExecutionStatsHourFailure
    # one branch per span: a plain range scan each (an OR of ranges is a bitmap scan, which
    # reads the table even where the index holds every column)
    parts: list[Select[uuid.UUID, int]] = [
        select(week.workflow_id, week.failures).where(  # ix_..._week_failures_counts
            week.workspace_id == WORKSPACE, _span(week.week, "week", n)
        )
        for n in range(weeks)
    ]
    parts.extend(
        select(stat.workflow_id, stat.failed + stat.timed_out).where(
            stat.workspace_id == WORKSPACE,  # ix_execution_stats_production, index only
            stat.production,  # as the partial index says it (IS TRUE would not use it)
            _span(stat.day, "day", n),
        )
        for n in range(days)
    )
    parts.extend(
        select(hour.workflow_id, hour.failures).where(  # ix_..._hour_failures_counts
            hour.workspace_id == WORKSPACE, _span(hour.hour, "hour", n)
        )
        for n in range(hours)
    )
    parts.extend(_live_failures(n) for n in range(live))
    failed = union_all(*parts).subquery("failed")
    workflow_id, count = failed.c
    per_workflow = (  # summed before the names are joined: a few hundred rows, not thousands
        select(workflow_id.label("workflow_id"), func.sum(count).label("failures"))
        .group_by(workflow_id)
        .having(func.sum(count) > 0)
        .subquery("per_workflow")
    )
    name = func.coalesce(Workflow.name, "")
    return (
        select(per_workflow.c.workflow_id, name, per_workflow.c.failures)
        .outerjoin(Workflow, Workflow.id == per_workflow.c.workflow_id)
        .order_by(per_workflow.c.failures.desc(), func.lower(name), per_workflow.c.workflow_id)
        .limit(bindparam("top", type_=Integer()))
    )


def _live_failures(number: int) -> Select[uuid.UUID, int]:
    """The failed production runs created in live span ``number``, a range of
    ``ix_executions_failures`` each (spans far apart never read what lies between)."""
    low = bindparam(f"live_low_{number}", type_=UTCDateTime())
    high = bindparam(f"live_high_{number}", type_=UTCDateTime())
    return select(Execution.workflow_id, literal(1, Integer)).where(
        Execution.workspace_id == WORKSPACE,
        Execution.created_at >= low,
        Execution.created_at < high,
        Execution.status.in_(FAILED_STATUSES),
        production(WORKSPACE, low, high, FAILED_STATUSES, f"failed_chain_{number}"),
    )


def whole_weeks(days: Iterable[date]) -> tuple[list[date], list[date]]:
    """``days`` split into the Mondays of the weeks they cover whole and the other days."""
    wanted = set(days)
    mondays = sorted(
        day
        for day in wanted
        if day.weekday() == 0 and all(day + timedelta(days=n) in wanted for n in range(1, 7))
    )
    covered = {monday + timedelta(days=n) for monday in mondays for n in range(7)}
    return mondays, sorted(wanted - covered)


def top_failing(
    workspace_id: uuid.UUID,
    days: Iterable[date],
    hours: Sequence[tuple[datetime, datetime]],
    live: Sequence[tuple[datetime, datetime]],
    top: int,
) -> list[Failing]:
    """The ``top`` workflows with the most failed production runs (at least one) on rolled
    ``days`` (whole weeks from ``execution_stats_week_failures``, the other days from
    ``execution_stats``), in rolled hours starting in ``hours``
    (``execution_stats_hour_failures``) and in the ``live`` stretches (``executions``): most
    first, then by name. One statement."""
    mondays, others = whole_weeks(days)
    week_ranges = day_spans(mondays, step=7)  # [first Monday, the Monday after the last)
    day_ranges = day_spans(others)
    if not (week_ranges or day_ranges or hours or live):
        return []
    params: dict[str, Any] = {
        "workspace_id": workspace_id,
        "top": top,
        **span_params(week_ranges, "week"),
        **span_params(day_ranges, "day"),
        **span_params(hours, "hour"),
        **span_params(live, "live"),
    }
    statement = _failing_statement(len(week_ranges), len(day_ranges), len(hours), len(live))
    rows = run(statement, params)
    return [Failing(workflow_id, name, int(count)) for workflow_id, name, count in rows]
