"""Roll executions into ``execution_stats``: one row per (workspace, local day, workflow, mode,
production), for every workspace of a time zone at once.

``roll_day(day, timezone)`` is one set-based ``INSERT ... SELECT ... GROUP BY ... ON CONFLICT
DO UPDATE`` over the UTC window of the local ``day`` (computed here with zoneinfo, so
PostgreSQL and SQLite give the same rows); the SELECT is a range scan of
``ix_executions_workspace_id_created_at`` (workspace IN (...) and created_at range).
Re-running it gives the same rows. On PostgreSQL a transaction-scoped advisory lock per
(time zone, day) serialises concurrent rolls of the same day; SQLite serialises writers.

A day more than ``SEAL_AFTER_DAYS`` days before the zone's today is sealed once rolled: from
then on an upsert never lowers a row (pruned executions must not lower past stats), and
``prunable()`` lets retention delete the executions of sealed days only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Double,
    and_,
    case,
    delete,
    false,
    func,
    literal,
    or_,
    select,
)

from fluxolab.dashboard.periods import local_midnight, zone_of
from fluxolab.dashboard.stats import SUCCEEDED
from fluxolab.extensions import db
from fluxolab.models import (
    HISTOGRAM_COLUMNS,
    Execution,
    ExecutionStat,
    ExecutionStatsDay,
    ExecutionStatsWeekFailure,
    ExecutionStatsWorkspaceDay,
    Workspace,
    utcnow,
)
from fluxolab.models.base import UTCDateTime
from fluxolab.stats import hours, sql
from fluxolab.stats import runs as stretch

SEAL_AFTER_DAYS = 2
CATCH_UP_DAYS = 400
KEY_COLUMNS = ("workspace_id", "day", "workflow_id", "mode", "production")
VALUE_COLUMNS = (
    *sql.VALUE_HEAD,
    *HISTOGRAM_COLUMNS,
    "time_saved_minutes",
    "rolled_at",
)


@dataclass(frozen=True)
class RollReport:
    """What a catch-up did: how many (time zone, day) were rolled."""

    days: int
    timezones: int


def day_window(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants ``[start, end)`` of local ``day`` in ``timezone`` (unknown: UTC)."""
    zone = zone_of(timezone)
    return local_midnight(day, zone), local_midnight(day + timedelta(days=1), zone)


def is_over(day: date, timezone: str, now: datetime) -> bool:
    """Whether local ``day`` has ended in ``timezone`` at ``now``."""
    return day_window(day, timezone)[1] <= now


def timezones_in_use() -> list[str]:
    """The distinct ``workspaces.timezone`` values."""
    return list(db.session.execute(select(Workspace.timezone).distinct()).scalars())


def _was_sealed(timezone: str, day: date) -> bool:
    stmt = select(ExecutionStatsDay.sealed).where(
        ExecutionStatsDay.timezone == timezone, ExecutionStatsDay.day == day
    )
    return bool(db.session.execute(stmt).scalar_one_or_none())


def _daily(runs: CTE, day: date, now: datetime, *, sealed: bool) -> Any:
    """The upsert of the rows of ``execution_stats`` for local ``day`` from ``runs`` (the
    day's ``runs.stretch``). ``sealed``: a row is only replaced by one with more runs."""
    saved_runs = func.sum(
        case((and_(runs.c.status == SUCCEEDED, runs.c.production.is_(True)), 1), else_=0)
    )
    rows = select(
        runs.c.workspace_id,
        literal(day),
        runs.c.workflow_id,
        runs.c.mode,
        runs.c.production,
        *sql.outcome_sums(runs.c.status, runs.c.duration_ms),
        func.cast(saved_runs * func.max(runs.c.minutes), Double),
        literal(now, UTCDateTime()),
    ).group_by(runs.c.workspace_id, runs.c.workflow_id, runs.c.mode, runs.c.production)
    stat = ExecutionStat.__table__
    insert = sql.insert(stat).from_select([*KEY_COLUMNS, *VALUE_COLUMNS], rows)
    return insert.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={column: insert.excluded[column] for column in VALUE_COLUMNS},
        where=(insert.excluded.total >= stat.c.total) if sealed else None,
    )


def _workspace_days(timezone: str, day: date, now: datetime, *, sealed: bool) -> None:
    """``execution_stats_workspace_days`` of local ``day``: each workspace's production rows
    of ``execution_stats`` (just rolled) added up; rows of workspaces without any dropped
    unless ``sealed`` (then a row is only replaced by one with more runs)."""
    stat = ExecutionStat
    workspaces = stretch.zone_workspaces(timezone)

    def total(column: str) -> Any:
        if column == "rolled_at":
            return literal(now, UTCDateTime())
        aggregate = func.max if column == "duration_ms_max" else func.sum
        return aggregate(getattr(stat, column))

    rows = (
        select(stat.workspace_id, stat.day, *(total(column) for column in VALUE_COLUMNS))
        .where(stat.workspace_id.in_(workspaces), stat.day == day, stat.production.is_(True))
        .group_by(stat.workspace_id, stat.day)
    )
    table = ExecutionStatsWorkspaceDay.__table__
    insert = sql.insert(table).from_select(["workspace_id", "day", *VALUE_COLUMNS], rows)
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=["workspace_id", "day"],
            set_={column: insert.excluded[column] for column in VALUE_COLUMNS},
            where=(insert.excluded.total >= table.c.total) if sealed else None,
        )
    )
    if not sealed:
        db.session.execute(
            delete(ExecutionStatsWorkspaceDay).where(
                ExecutionStatsWorkspaceDay.workspace_id.in_(workspaces),
                ExecutionStatsWorkspaceDay.day == day,
                ExecutionStatsWorkspaceDay.rolled_at < now,
            )
        )


def monday(day: date) -> date:
    """The first day (Monday) of the week of ``day``."""
    return day - timedelta(days=day.weekday())


def _week_failures(timezone: str, day: date, now: datetime) -> None:
    """Rewrite ``execution_stats_week_failures`` for the week of ``day`` from the week's
    production rows of ``execution_stats`` (just rolled; sealed days there only ever rise)."""
    stat, row = ExecutionStat, ExecutionStatsWeekFailure
    week = monday(day)
    workspaces = stretch.zone_workspaces(timezone)
    db.session.execute(delete(row).where(row.workspace_id.in_(workspaces), row.week == week))
    failures = func.sum(stat.failed + stat.timed_out)
    rows = (
        select(
            stat.workspace_id,
            literal(week),
            stat.workflow_id,
            failures,
            literal(now, UTCDateTime()),
        )
        .where(
            stat.workspace_id.in_(workspaces),
            stat.production.is_(True),
            stat.day >= week,
            stat.day < week + timedelta(days=7),
        )
        .group_by(stat.workspace_id, stat.workflow_id)
        .having(failures > 0)
    )
    columns = ["workspace_id", "week", "workflow_id", "failures", "rolled_at"]
    db.session.execute(sql.insert(row.__table__).from_select(columns, rows))


def roll_day(day: date, timezone: str, now: datetime | None = None) -> None:
    """Roll local ``day`` for every workspace whose ``timezone`` is ``timezone``, into
    ``execution_stats`` and its hours; commit.

    ``ValueError`` when the day has not ended in that zone. Idempotent; on a sealed day a row
    is only replaced by one with at least as many runs. The day's runs are read once for the
    daily rows, the hourly ones and the hourly failures (one statement on PostgreSQL).
    """
    now = now or utcnow()
    if not is_over(day, timezone, now):
        raise ValueError(f"{day.isoformat()} has not ended in {timezone}")
    today = now.astimezone(zone_of(timezone)).date()
    sql.lock(f"execution_stats:{timezone}:{day.isoformat()}")
    sql.lock(f"execution_stats_hours:{timezone}")
    sql.roomy()
    sealed = _was_sealed(timezone, day) or day < today - timedelta(days=SEAL_AFTER_DAYS)
    start, end = day_window(day, timezone)
    hours_rolled = hours.hours_of(timezone, start, end, now)
    cut = min(end, now - hours.LAG)
    runs = stretch.stretch(timezone, start, end, hours_rolled)
    sql.execute_together(
        [*hours.upserts(runs, end, cut, now, sealed=sealed), _daily(runs, day, now, sealed=sealed)]
    )
    if not sealed:
        # rows of groups that no longer have runs (executions deleted before sealing)
        db.session.execute(
            delete(ExecutionStat).where(
                ExecutionStat.workspace_id.in_(stretch.zone_workspaces(timezone)),
                ExecutionStat.day == day,
                ExecutionStat.rolled_at < now,
            )
        )
    _workspace_days(timezone, day, now, sealed=sealed)
    _week_failures(timezone, day, now)
    hours.finish(timezone, hours_rolled, end, now, sealed=sealed)
    marker = sql.insert(ExecutionStatsDay.__table__).values(
        timezone=timezone, day=day, sealed=sealed, hours=end <= now - hours.LAG, rolled_at=now
    )
    db.session.execute(
        marker.on_conflict_do_update(
            index_elements=["timezone", "day"],
            set_={
                "sealed": or_(ExecutionStatsDay.__table__.c.sealed, marker.excluded.sealed),
                "hours": or_(ExecutionStatsDay.__table__.c.hours, marker.excluded.hours),
                "rolled_at": marker.excluded.rolled_at,
            },
        )
    )
    db.session.commit()


def days_to_roll(timezone: str, now: datetime) -> list[date]:
    """The days a catch-up rolls for ``timezone``: every day after the last rolled one (from
    the oldest run's day on a first roll) and every rolled day not sealed yet, up to
    yesterday, at most ``CATCH_UP_DAYS`` days back."""
    zone = zone_of(timezone)
    yesterday = now.astimezone(zone).date() - timedelta(days=1)
    last, first_open = db.session.execute(
        select(
            func.max(ExecutionStatsDay.day),
            func.min(case((ExecutionStatsDay.sealed.is_(False), ExecutionStatsDay.day))),
        ).where(ExecutionStatsDay.timezone == timezone)
    ).one()
    if last is None:
        oldest = db.session.execute(
            select(func.min(Execution.created_at)).where(
                Execution.workspace_id.in_(
                    select(Workspace.id).where(Workspace.timezone == timezone)
                )
            )
        ).scalar_one_or_none()
        start = oldest.astimezone(zone).date() if oldest else yesterday
    else:
        start = last + timedelta(days=1)
    if first_open is not None:
        start = min(start, first_open)
    start = max(start, yesterday - timedelta(days=CATCH_UP_DAYS - 1))
    return [start + timedelta(days=n) for n in range((yesterday - start).days + 1)]


def catch_up(now: datetime | None = None) -> RollReport:
    """Roll the missed and not yet sealed days of every time zone in use (the beat job)."""
    now = now or utcnow()
    zones = timezones_in_use()
    rolled = 0
    for timezone in zones:
        days = days_to_roll(timezone, now)
        for day in days:
            roll_day(day, timezone, now)  # its hours too
            rolled += 1
        # today's hours again (and yesterday's unless just rolled): late finishers
        today = now.astimezone(zone_of(timezone)).date()
        first = today if today - timedelta(days=1) in days else today - timedelta(days=1)
        hours.roll_span(timezone, day_window(first, timezone)[0], now, now)
        db.session.commit()
    return RollReport(days=rolled, timezones=len(zones))


def backfill(
    first: date,
    last: date,
    now: datetime | None = None,
    on_day: Callable[[int], None] | None = None,
) -> int:
    """Roll every day from ``first`` to ``last`` (inclusive) for every time zone in use, day
    by day; days not over yet in a zone are skipped. Returns how many (zone, day) rolled."""
    now = now or utcnow()
    zones = timezones_in_use()
    rolled = 0
    for day in _days(first, last):
        for timezone in zones:
            if is_over(day, timezone, now):
                roll_day(day, timezone, now)
                rolled += 1
        if on_day:
            on_day(1)
    return rolled


def _days(first: date, last: date) -> Iterable[date]:
    return (first + timedelta(days=n) for n in range((last - first).days + 1))


def prunable() -> ColumnElement[bool]:
    """The condition "this execution was created on a day its workspace's time zone has
    sealed": within the unbroken run of sealed days that starts at the zone's first one."""
    rows = db.session.execute(
        select(ExecutionStatsDay.timezone, ExecutionStatsDay.day)
        .where(ExecutionStatsDay.sealed.is_(True))
        .order_by(ExecutionStatsDay.timezone, ExecutionStatsDay.day)
    ).all()
    spans: dict[str, tuple[date, date]] = {}
    for timezone, day in rows:
        if timezone not in spans:
            spans[timezone] = (day, day)
        elif spans[timezone][1] + timedelta(days=1) == day:
            spans[timezone] = (spans[timezone][0], day)
    conditions = []
    for timezone, (first, last) in spans.items():
        low, high = day_window(first, timezone)[0], day_window(last, timezone)[1]
        conditions.append(
            and_(
                Execution.workspace_id.in_(
                    select(Workspace.id).where(Workspace.timezone == timezone)
                ),
                Execution.created_at >= low,
                Execution.created_at < high,
            )
        )
    return or_(*conditions) if conditions else false()
