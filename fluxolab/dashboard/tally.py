"""The production runs of a window, per bucket: from the rollups where they cover it, live else.

``tally(workspace, buckets, zone, now)`` walks the window from its start to ``now`` (or its
end) and takes each stretch from the cheapest source that covers it exactly:

1. a whole local day the daily rollup has rolled (``execution_stats_days``) inside one
   bucket: its row of ``execution_stats_workspace_days``;
2. else a rolled local hour (``execution_stats_hour_marks``) inside one bucket: its row of
   ``execution_stats_hours`` (up to the mark's ``rolled_through`` for the current hour);
3. else ``executions``, live: an indexed range scan per stretch of adjacent live pieces.

With the minute job running, that leaves about the last minute live. Three statements: what
the rollups cover (which also checks the workspace's zone), the sums of all three sources
per bucket, and with ``failing_from`` the workflows failing most (the ``TOP_FAILING`` with
the most failed runs, ``failing.top_failing``). Time saved is the rolled rows'
``time_saved_minutes`` (each workflow's minutes saved per run when it was rolled) plus, for
live stretches, succeeded runs times the workflow's current setting.
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, Select, String, bindparam, cast, null, select, union_all

from fluxolab.dashboard import stats
from fluxolab.dashboard.failing import Failing, top_failing
from fluxolab.dashboard.periods import Bucket, floor_hour, local_midnight, next_hour, zone_of
from fluxolab.dashboard.stats import Counts
from fluxolab.dashboard.sums import bucket_sums
from fluxolab.errors import NotFound
from fluxolab.models import ExecutionStatsDay, ExecutionStatsHourMark, Workspace
from fluxolab.models.base import UTCDateTime

Span = tuple[datetime, datetime]
TOP_FAILING = 5


@dataclass
class Tally:
    """Counts and minutes saved per bucket number, failed runs per workflow (when asked)."""

    buckets: dict[int, Counts] = field(default_factory=lambda: defaultdict(Counts))
    saved: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    failing: list[Failing] = field(default_factory=list)

    def add(self, index: int, counts: Counts, saved: float) -> None:
        """Count ``counts`` and ``saved`` minutes in bucket ``index``."""
        held = self.buckets.get(index)
        self.buckets[index] = counts if held is None else held + counts
        self.saved[index] += saved

    def total(self, first: int = 0, end: int | None = None) -> Counts:
        """The counts of buckets ``first`` up to (not including) ``end`` (all by default)."""
        return Counts.add_up(
            counts for index, counts in self.buckets.items() if _within(index, first, end)
        )

    def saved_minutes(self, first: int = 0, end: int | None = None) -> float:
        """The minutes saved in buckets ``first`` up to (not including) ``end``."""
        return sum(value for index, value in self.saved.items() if _within(index, first, end))


def _within(index: int, first: int, end: int | None) -> bool:
    return index >= first and (end is None or index < end)


@dataclass
class _Plan:
    """Where each stretch of the window comes from: (bucket number, what) lists."""

    hours: list[tuple[int, Span]] = field(default_factory=list)
    days: list[tuple[int, date]] = field(default_factory=list)
    live: list[tuple[int, Span]] = field(default_factory=list)


class StaleZone(Exception):
    """The workspace's time zone (``name``) is not the one the window was built in."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def tally(
    workspace_id: uuid.UUID,
    buckets: Sequence[Bucket],
    zone: ZoneInfo,
    now: datetime,
    *,
    failing_from: int | None = None,
) -> Tally:
    """The production runs created in contiguous ``buckets`` (built in ``zone``), and with
    ``failing_from`` the workflows failing most from that bucket on; see the module.

    ``StaleZone`` when the workspace's time zone is not ``zone`` any more, ``NotFound``
    when the workspace does not exist.
    """
    result = Tally()
    if not buckets:
        return result
    days, marks = _rolled(workspace_id, buckets, zone, now)
    plan = _plan(buckets, zone, days, marks)
    _add_sums(workspace_id, buckets, zone, plan, result)
    if failing_from is not None:
        _add_failing(workspace_id, plan, failing_from, result)
    return result


def _rolled(
    workspace_id: uuid.UUID, buckets: Sequence[Bucket], zone: ZoneInfo, now: datetime
) -> tuple[dict[date, bool], dict[datetime, datetime]]:
    """What the rollups cover in the window, in one statement: the local days the daily
    rollup rolled after they ended (each with whether all its hours are rolled too) and
    ``{hour: rolled_through}`` of the rolled hours of the days it did not roll whole.

    The statement reads the marks from yesterday on (the days the daily rollup has not
    rolled yet, as a rule) and checks the workspace's zone; earlier marks cost a second
    statement, only when the daily rollup is behind."""
    start, end = buckets[0].start, buckets[-1].end  # past ``now``: live, and empty
    yesterday = now.astimezone(zone).date() - timedelta(1)
    marks_from = min(max(start, local_midnight(yesterday, zone)), end)
    params = {
        "workspace_id": workspace_id,
        "first_day": start.astimezone(zone).date(),
        "last_day": end.astimezone(zone).date(),
        "marks_from": marks_from,
        "end": end,
    }
    name: str | None = None
    days: dict[date, bool] = {}
    marks: dict[datetime, datetime] = {}
    for timezone, day, hours, hour, through in stats.run(_rolled_statement(), params):
        if timezone is not None:
            name = timezone
        elif day is not None:
            if local_midnight(day + timedelta(1), zone) <= now:
                days[day] = bool(hours)
        else:
            marks[hour] = through
    if name is None:
        raise NotFound("Workspace nao encontrado.")
    if zone_of(name).key != zone.key:
        raise StaleZone(name)
    low = _first_open_day(start, end, zone, days)
    if low < marks_from:
        marks.update(_marks(workspace_id, low, marks_from))
    return days, marks


def _first_open_day(
    start: datetime, end: datetime, zone: ZoneInfo, days: dict[date, bool]
) -> datetime:
    """The start of the window's first local day whose hours the daily rollup did not all
    roll (``end`` when there is none), at or after ``start``."""
    day = start.astimezone(zone).date()
    while days.get(day) and local_midnight(day, zone) < end:
        day += timedelta(1)
    return min(max(start, local_midnight(day, zone)), end)


@functools.cache
def _rolled_statement() -> Any:
    day, mark = ExecutionStatsDay, ExecutionStatsHourMark
    zone_name = select(Workspace.timezone).where(Workspace.id == stats.WORKSPACE).scalar_subquery()
    no_day, no_flag = cast(null(), Date()), cast(null(), Boolean())
    no_instant, no_name = cast(null(), UTCDateTime()), cast(null(), String())
    return union_all(
        select(Workspace.timezone, no_day, no_flag, no_instant, no_instant).where(
            Workspace.id == stats.WORKSPACE
        ),
        select(no_name, day.day, day.hours, no_instant, no_instant).where(
            day.timezone == zone_name,
            day.day >= bindparam("first_day", type_=Date()),
            day.day <= bindparam("last_day", type_=Date()),
        ),
        select(no_name, no_day, no_flag, mark.hour, mark.rolled_through).where(
            mark.timezone == zone_name,
            mark.hour >= bindparam("marks_from", type_=UTCDateTime()),
            mark.hour < stats.END,
        ),
    )


def _marks(workspace_id: uuid.UUID, start: datetime, end: datetime) -> dict[datetime, datetime]:
    """``{hour: rolled_through}`` of the rolled hours starting in ``[start, end)``."""
    params = {"workspace_id": workspace_id, "start": start, "end": end}
    return {hour: through for hour, through in stats.run(_marks_statement(), params)}


@functools.cache
def _marks_statement() -> Select[datetime, datetime]:
    mark = ExecutionStatsHourMark
    zone_name = select(Workspace.timezone).where(Workspace.id == stats.WORKSPACE).scalar_subquery()
    return select(mark.hour, mark.rolled_through).where(
        mark.timezone == zone_name, mark.hour >= stats.START, mark.hour < stats.END
    )


def _day_starts(zone: ZoneInfo, days: dict[date, bool]) -> dict[datetime, tuple[date, datetime]]:
    """``{first instant: (day, its end)}`` of the rolled ``days``."""
    return {
        local_midnight(day, zone): (day, local_midnight(day + timedelta(1), zone)) for day in days
    }


def _rolled_hour(
    cursor: datetime, zone: ZoneInfo, days: dict[date, bool], marks: dict[datetime, datetime]
) -> datetime | None:
    """The end of the rolled stretch of an hour starting at ``cursor``, if it is rolled."""
    through = marks.get(cursor)
    if through is not None:
        return through if through > cursor else None
    if days.get(cursor.astimezone(zone).date()) and floor_hour(cursor, zone) == cursor:
        return next_hour(cursor, zone)
    return None


def _plan(
    buckets: Sequence[Bucket],
    zone: ZoneInfo,
    days: dict[date, bool],
    marks: dict[datetime, datetime],
) -> _Plan:
    """Cut the window into rolled whole days, rolled hours and live stretches, each inside
    one bucket (a rolled row never straddles a bucket boundary)."""
    plan = _Plan()
    day_starts = _day_starts(zone, days)
    index, cursor, limit = 0, buckets[0].start, buckets[-1].end
    while cursor < limit:
        while buckets[index].end <= cursor:
            index += 1
        bucket_end = buckets[index].end
        whole = day_starts.get(cursor)
        if whole is not None and whole[1] <= bucket_end:
            plan.days.append((index, whole[0]))
            cursor = whole[1]
            continue
        end = _rolled_hour(cursor, zone, days, marks)
        if end is not None and end <= bucket_end:
            plan.hours.append((index, (cursor, end)))
            cursor = end
            continue
        end = min(next_hour(cursor, zone), bucket_end)
        if plan.live and plan.live[-1][0] == index and plan.live[-1][1][1] == cursor:
            plan.live[-1] = (index, (plan.live[-1][1][0], end))
        else:
            plan.live.append((index, (cursor, end)))
        cursor = end
    return plan


def _ranges(spans: Sequence[Span]) -> list[Span]:
    """``spans`` sorted, adjacent ones joined."""
    joined: list[Span] = []
    for low, high in sorted(spans):
        if joined and joined[-1][1] == low:
            joined[-1] = (joined[-1][0], high)
        else:
            joined.append((low, high))
    return joined


def _add_sums(
    workspace_id: uuid.UUID, buckets: Sequence[Bucket], zone: ZoneInfo, plan: _Plan, result: Tally
) -> None:
    """Rolled hours, rolled whole days (one row a day of ``execution_stats_workspace_days``)
    and the live stretches, summed per bucket in one statement. Whole days only fit in
    buckets of a day or more, whose first local days increase."""
    sums = bucket_sums(
        workspace_id,
        [bucket.start for bucket in buckets],
        [bucket.start.astimezone(zone).date() for bucket in buckets] if plan.days else [],
        _ranges([span for _, span in plan.hours]),
        stats.day_spans(day for _, day in plan.days),
        _ranges([span for _, span in plan.live]),
    )
    for index, (counts, saved) in sums.items():
        result.add(index, counts, saved)


def _add_failing(workspace_id: uuid.UUID, plan: _Plan, first: int, result: Tally) -> None:
    """The workflows failing most in buckets ``first`` and after: whole rolled days from
    ``execution_stats``, rolled hours from ``execution_stats_hour_failures``, live
    stretches from the failed runs in ``executions``; ranked in one statement."""
    result.failing = top_failing(
        workspace_id,
        [day for index, day in plan.days if index >= first],
        _ranges([span for index, span in plan.hours if index >= first]),
        _ranges([span for index, span in plan.live if index >= first]),
        TOP_FAILING,
    )
