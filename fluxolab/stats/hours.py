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

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CTE, Double, case, delete, func, literal, select

from fluxolab.dashboard.periods import hour_starts, next_hour, zone_of
from fluxolab.dashboard.stats import FAILED_STATUSES, SUCCEEDED
from fluxolab.extensions import db
from fluxolab.models import (
    HISTOGRAM_COLUMNS,
    ExecutionStatsHour,
    ExecutionStatsHourFailure,
    ExecutionStatsHourMark,
    Workspace,
    utcnow,
)
from fluxolab.models.base import UTCDateTime
from fluxolab.stats import runs as stretch
from fluxolab.stats import sql

LAG = timedelta(seconds=30)
RECENT = timedelta(hours=1)
VALUE_COLUMNS = (*sql.VALUE_HEAD, *HISTOGRAM_COLUMNS, "time_saved_minutes", "rolled_at")


def _production(runs: CTE, cut: datetime, end: datetime) -> list[Any]:
    """The conditions "a production run created before ``cut``" on ``runs`` (of ``[.., end)``)."""
    return [runs.c.production.is_(True), *([runs.c.created_at < cut] if cut < end else [])]


def upserts(runs: CTE, end: datetime, cut: datetime, now: datetime, *, sealed: bool) -> list[Any]:
    """The upserts of ``execution_stats_hour_failures`` and ``execution_stats_hours`` from
    ``runs`` (a ``runs.stretch`` ending at ``end``), for the runs created before ``cut``.
    ``sealed``: a row is only replaced by a higher one."""
    where = _production(runs, cut, end)
    hourly = (
        select(
            runs.c.workspace_id,
            runs.c.hour,
            *sql.outcome_sums(runs.c.status, runs.c.duration_ms),
            func.cast(
                func.coalesce(
                    func.sum(case((runs.c.status == SUCCEEDED, runs.c.minutes), else_=0)), 0
                ),
                Double,
            ),
            literal(now, UTCDateTime()),
        )
        .where(*where)
        .group_by(runs.c.workspace_id, runs.c.hour)
    )
    failed = (
        select(
            runs.c.workspace_id,
            runs.c.hour,
            runs.c.workflow_id,
            func.count(),
            literal(now, UTCDateTime()),
        )
        .where(*where, runs.c.status.in_(FAILED_STATUSES))
        .group_by(runs.c.workspace_id, runs.c.hour, runs.c.workflow_id)
    )
    failures = ExecutionStatsHourFailure.__table__
    into_failures = sql.insert(failures).from_select(
        ["workspace_id", "hour", "workflow_id", "failures", "rolled_at"], failed
    )
    table = ExecutionStatsHour.__table__
    into_hours = sql.insert(table).from_select(["workspace_id", "hour", *VALUE_COLUMNS], hourly)
    return [
        into_failures.on_conflict_do_update(
            index_elements=["workspace_id", "hour", "workflow_id"],
            set_={
                "failures": into_failures.excluded.failures,
                "rolled_at": into_failures.excluded.rolled_at,
            },
            where=(into_failures.excluded.failures >= failures.c.failures) if sealed else None,
        ),
        into_hours.on_conflict_do_update(
            index_elements=["workspace_id", "hour"],
            set_={column: into_hours.excluded[column] for column in VALUE_COLUMNS},
            where=(into_hours.excluded.total >= table.c.total) if sealed else None,
        ),
    ]


def hours_of(timezone: str, start: datetime, cut: datetime, now: datetime) -> list[datetime]:
    """The local hours of ``timezone`` from the one holding ``start`` up to ``cut`` (not after
    ``now - LAG``: a run created in the last ``LAG`` may not be committed yet)."""
    return hour_starts(start, min(cut, now - LAG), zone_of(timezone))


def finish(
    timezone: str, hours: Sequence[datetime], cut: datetime, now: datetime, *, sealed: bool
) -> None:
    """After the upserts of ``hours`` (up to ``cut``): drop the rows of hours whose runs are
    gone (deleted before sealing), unless ``sealed``, and mark the hours rolled."""
    zone = zone_of(timezone)
    cut = min(cut, now - LAG)
    if not sealed:
        for model in (ExecutionStatsHour, ExecutionStatsHourFailure):
            db.session.execute(
                delete(model).where(
                    model.workspace_id.in_(stretch.zone_workspaces(timezone)),
                    model.hour >= hours[0],
                    model.hour < cut,
                    model.rolled_at < now,
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
    hours = hours_of(timezone, start, cut, now)
    if not hours:
        return 0
    cut = min(cut, now - LAG)
    sql.lock(f"execution_stats_hours:{timezone}")
    sql.roomy()
    runs = stretch.stretch(timezone, hours[0], cut, hours)
    sql.execute_together(upserts(runs, cut, cut, now, sealed=sealed))
    finish(timezone, hours, cut, now, sealed=sealed)
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
