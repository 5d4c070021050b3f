"""The runs a roll reads: one scan of a stretch of a time zone's executions, shared.

``stretch(timezone, start, end, hours)`` is a CTE of the runs of every workspace of the zone
created in ``[start, end)``, each with its production flag (``dashboard.stats.production``),
the local hour holding it (one of ``hours``) and its workflow's minutes saved per run. The
daily rollup, the hourly one and the hourly failures all group this one CTE: on PostgreSQL
they are one statement (``sql.execute_together``), so the day's executions are read once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, case, false, func, select, true
from sqlalchemy.orm import aliased

from fluxolab.dashboard.stats import in_scope, production, start_of
from fluxolab.extensions import db
from fluxolab.models import Execution, Workflow, Workspace


def zone_workspaces(timezone: str) -> Any:
    """The ids of the workspaces whose time zone is ``timezone`` (a subquery)."""
    return select(Workspace.id).where(Workspace.timezone == timezone)


def stretch(timezone: str, start: datetime, end: datetime, hours: Sequence[datetime]) -> CTE:
    """The runs of the zone's workspaces created in ``[start, end)``; ``hours`` are the local
    hour starts covering it (``hour`` is the one holding each run)."""
    workspaces = zone_workspaces(timezone)
    workflow = aliased(Workflow)
    query = (
        select(
            Execution.workspace_id,
            Execution.workflow_id,
            Execution.mode,
            Execution.status,
            Execution.duration_ms,
            Execution.created_at,
            case((production(workspaces, start, end), true()), else_=false()).label("production"),
            start_of(Execution.created_at, list(hours), 0, len(hours)).label("hour"),
            func.coalesce(workflow.minutes_saved_per_run, 0).label("minutes"),
        )
        .join(workflow, workflow.id == Execution.workflow_id, isouter=True)
        .where(
            in_scope(Execution.workspace_id, workspaces),
            Execution.created_at >= start,
            Execution.created_at < end,
        )
    )
    runs = query.cte("runs")
    if db.session.get_bind().dialect.name == "postgresql":
        runs = runs.prefix_with("MATERIALIZED")  # read by every statement, computed once
    return runs
