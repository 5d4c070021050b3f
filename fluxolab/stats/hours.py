"""Roll production runs into ``execution_stats_hours``: per workspace and local hour.

A local hour of a zone is ``[h, next_hour(h))`` where ``h`` is a local clock hour (so half-
and quarter-hour zones have hours starting at :30 or :45 UTC). ``roll_span(timezone, start,
cut)`` rolls the hours from the one holding ``start`` up to the instant ``cut`` for every
workspace of the zone with one ``INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE``,
and records in ``execution_stats_hour_marks`` up to which instant each hour was rolled (the
hour's end, or ``cut`` for the hour holding it). Re-running gives the same rows.

Who rolls what:

- ``roll_recent`` (beat, every minute): the previous hour and the current one up to
  ``now - LAG`` (a run created in the last ``LAG`` may not be committed yet), so a run that
  changed status is in the figures within a minute and only the last minute is counted live;
- ``rollup.catch_up`` (hourly): every hour of yesterday and today again (late finishers,
  runs that waited), and ``rollup.roll_day``: every hour of the day it rolls, sealed like it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Double, case, delete, func, literal, select
from sqlalchemy.orm import aliased

from fluxolab.dashboard.periods import hour_starts, next_hour, zone_of
from fluxolab.dashboard.stats import SUCCEEDED, in_scope, production, start_of
from fluxolab.extensions import db
from fluxolab.models import (
    HISTOGRAM_COLUMNS,
    Execution,
    ExecutionStatsHour,
    ExecutionStatsHourMark,
    Workflow,
    Workspace,
    utcnow,
)
from fluxolab.models.base import UTCDateTime
from fluxolab.stats import sql

LAG = timedelta(seconds=30)
RECENT = timedelta(hours=1)
VALUE_COLUMNS = (*sql.VALUE_HEAD, *HISTOGRAM_COLUMNS, "time_saved_minutes", "rolled_at")


def _select(timezone: str, hours: list[datetime], cut: datetime, now: datetime) -> Any:
    """Per (workspace, hour): the production runs of the zone's workspaces in the hours."""
    workspaces = select(Workspace.id).where(Workspace.timezone == timezone)
    start = hours[0]
    workflow = aliased(Workflow)
    runs = (
        select(
            Execution.workspace_id,
            start_of(Execution.created_at, hours, 0, len(hours)).label("hour"),
            Execution.status,
            Execution.duration_ms,
            case(
                (Execution.status == SUCCEEDED, func.coalesce(workflow.minutes_saved_per_run, 0)),
                else_=0,
            ).label("saved"),
        )
        .join(workflow, workflow.id == Execution.workflow_id, isouter=True)
        .where(
            in_scope(Execution.workspace_id, workspaces),
            Execution.created_at >= start,
            Execution.created_at < cut,
            production(workspaces, start, cut),
        )
        .subquery("runs")
    )
    return select(
        runs.c.workspace_id,
        runs.c.hour,
        *sql.outcome_sums(runs.c.status, runs.c.duration_ms),
        func.cast(func.coalesce(func.sum(runs.c.saved), 0), Double),
        literal(now, UTCDateTime()),
    ).group_by(runs.c.workspace_id, runs.c.hour)


def roll_span(
    timezone: str,
    start: datetime,
    cut: datetime,
    now: datetime | None = None,
    *,
    sealed: bool = False,
) -> int:
    """Roll the local hours of ``timezone`` from the one holding ``start`` up to ``cut``
    (not after ``now - LAG``) for every workspace of the zone; the caller commits.

    ``sealed``: only raise rows (their runs may have been pruned) and keep rows of groups
    without runs. Returns how many hours were rolled.
    """
    now = now or utcnow()
    zone = zone_of(timezone)
    cut = min(cut, now - LAG)
    hours = hour_starts(start, cut, zone)
    if not hours:
        return 0
    sql.lock(f"execution_stats_hours:{timezone}")
    sql.roomy()
    table = ExecutionStatsHour.__table__
    statement = sql.insert(table).from_select(
        ["workspace_id", "hour", *VALUE_COLUMNS], _select(timezone, hours, cut, now)
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "hour"],
            set_={column: statement.excluded[column] for column in VALUE_COLUMNS},
            where=(statement.excluded.total >= table.c.total) if sealed else None,
        )
    )
    if not sealed:  # hours whose runs are gone (deleted before sealing)
        db.session.execute(
            delete(ExecutionStatsHour).where(
                ExecutionStatsHour.workspace_id.in_(
                    select(Workspace.id).where(Workspace.timezone == timezone)
                ),
                ExecutionStatsHour.hour >= hours[0],
                ExecutionStatsHour.hour < cut,
                ExecutionStatsHour.rolled_at < now,
            )
        )
    marks = sql.insert(ExecutionStatsHourMark.__table__).values(
        [
            {
                "timezone": timezone,
                "hour": hour,
                "rolled_through": min(next_hour(hour, zone), cut),
                "rolled_at": now,
            }
            for hour in hours
        ]
    )
    db.session.execute(
        marks.on_conflict_do_update(
            index_elements=["timezone", "hour"],
            set_={"rolled_through": marks.excluded.rolled_through, "rolled_at": now},
        )
    )
    return len(hours)


def roll_recent(now: datetime | None = None) -> int:
    """Roll the previous and the current hour of every time zone in use (the minute job);
    returns how many (zone, hour) were rolled."""
    now = now or utcnow()
    rolled = 0
    for timezone in db.session.execute(select(Workspace.timezone).distinct()).scalars():
        rolled += roll_span(timezone, now - RECENT, now, now)
        db.session.commit()
    return rolled
