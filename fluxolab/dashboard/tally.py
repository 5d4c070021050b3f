"""The production runs of a window, per bucket: from the rollups where they cover it, live else.

``tally(workspace, buckets, zone, now)`` walks the window from its start to ``now`` (or its
end) and takes each stretch from the cheapest source that covers it exactly:

1. a whole local day the daily rollup has rolled (``execution_stats_days``) inside one
   bucket: its row of ``execution_stats_workspace_days``;
2. else a rolled local hour (``execution_stats_hour_marks``) inside one bucket: its row of
   ``execution_stats_hours`` (up to the mark's ``rolled_through`` for the current hour);
3. else ``executions``, live: one indexed range query per stretch of adjacent live pieces.

With the minute job running, that leaves about the last minute live. The failing workflows
(``failing_from``, the ``TOP_FAILING`` with the most failed runs) come from
``execution_stats`` for rolled whole days, from ``execution_stats_hour_failures`` for rolled
hours, and from the failed runs of the live stretches (``ix_executions_failures``), ranked
in one statement. Time saved is the rolled rows'
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

from sqlalchemy import Select, select

from fluxolab.dashboard import stats
from fluxolab.dashboard.failing import Failing, top_failing
from fluxolab.dashboard.periods import Bucket, floor_hour, local_midnight, next_hour
from fluxolab.dashboard.stats import Counts
from fluxolab.models import (
    ExecutionStatsHourMark,
    Workspace,
)

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


def tally(
    workspace_id: uuid.UUID,
    buckets: Sequence[Bucket],
    zone: ZoneInfo,
    now: datetime,
    *,
    failing_from: int | None = None,
) -> Tally:
    """The production runs created in contiguous ``buckets``, and with ``failing_from`` the
    workflows failing most from that bucket on; see the module."""
    result = Tally()
    if not buckets:
        return result
    start, limit = buckets[0].start, buckets[-1].end  # past ``now``: live, and empty
    days = _rolled_days(workspace_id, buckets, zone, now)
    plan = _plan(buckets, zone, days, _marks(workspace_id, start, limit, zone, days))
    _add_rolled(workspace_id, buckets, zone, plan, result)
    _add_live(workspace_id, plan, result)
    if failing_from is not None:
        _add_failing(workspace_id, plan, failing_from, result)
    return result


def _rolled_days(
    workspace_id: uuid.UUID, buckets: Sequence[Bucket], zone: ZoneInfo, now: datetime
) -> dict[date, bool]:
    """The local days of the window the daily rollup rolled after they ended, each with
    whether all its hours are rolled too."""
    first = buckets[0].start.astimezone(zone).date()
    last = buckets[-1].end.astimezone(zone).date()
    return {
        day: hours
        for day, hours in stats.rolled_days(workspace_id, first, last).items()
        if local_midnight(day + timedelta(1), zone) <= now
    }


def _marks(
    workspace_id: uuid.UUID, start: datetime, end: datetime, zone: ZoneInfo, days: dict[date, bool]
) -> dict[datetime, datetime]:
    """``{hour: rolled_through}`` of the rolled hours of the window's days whose hours the
    daily rollup did not all roll (usually today's alone)."""
    day = start.astimezone(zone).date()
    while day in days and days[day] and local_midnight(day, zone) < end:
        day += timedelta(1)
    low = max(start, local_midnight(day, zone))
    if low >= end:
        return {}
    params = {"workspace_id": workspace_id, "start": low, "end": end}
    return {hour: through for hour, through in stats.run(_marks_statement(), params)}


@functools.cache
def _marks_statement() -> Select[datetime, datetime]:
    mark = ExecutionStatsHourMark
    zone_name = select(Workspace.timezone).where(Workspace.id == stats.WORKSPACE).scalar_subquery()
    return select(mark.hour, mark.rolled_through).where(
        mark.timezone == zone_name, mark.hour >= stats.START, mark.hour < stats.END
    )


def _whole_day(moment: datetime, zone: ZoneInfo, days: Any) -> tuple[date, datetime] | None:
    """The day in ``days`` starting at ``moment`` and its end, if there is one."""
    day = moment.astimezone(zone).date()
    if day in days and moment == local_midnight(day, zone):
        return day, local_midnight(day + timedelta(1), zone)
    return None


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
    index, cursor, limit = 0, buckets[0].start, buckets[-1].end
    while cursor < limit:
        while buckets[index].end <= cursor:
            index += 1
        bucket_end = buckets[index].end
        whole = _whole_day(cursor, zone, days)
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


def _add_rolled(
    workspace_id: uuid.UUID, buckets: Sequence[Bucket], zone: ZoneInfo, plan: _Plan, result: Tally
) -> None:
    """Rolled hours (``execution_stats_hours``) and whole days (one row a day of
    ``execution_stats_workspace_days``), summed per bucket in SQL: one query each. Whole days
    only fit in buckets of a day or more, whose first local days increase."""
    hours = stats.rolled_sums(
        workspace_id,
        "hours",
        [bucket.start for bucket in buckets],
        _ranges([span for _, span in plan.hours]),
    )
    days = stats.rolled_sums(
        workspace_id,
        "days",
        [bucket.start.astimezone(zone).date() for bucket in buckets],
        stats.day_spans(day for _, day in plan.days),
    )
    for part in (hours, days):
        for index, (counts, saved) in part.items():
            result.add(index, counts, saved)


def _add_live(workspace_id: uuid.UUID, plan: _Plan, result: Tally) -> None:
    """Live stretches: one query per run of adjacent ones; time saved at today's settings."""
    groups: list[list[tuple[int, Span]]] = []
    for index, span in plan.live:
        if groups and groups[-1][-1][1][1] == span[0]:
            groups[-1].append((index, span))
        else:
            groups.append([(index, span)])
    for group in groups:
        pieces = [Bucket(span[0], span[1], "") for _, span in group]
        for row in stats.live_rows(workspace_id, pieces):
            index = group[row.bucket][0]
            result.add(index, row.counts, row.counts.succeeded * row.minutes_per_run)


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
