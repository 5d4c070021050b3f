"""A workspace's current usage (this usage period) and its usage history.

Current usage is read live from ``workflows``, ``workspace_members``, ``webhook_logs`` and
the workspace's charged executions. The history's executions come from the nightly rollup
(``execution_stats``) for the local days it has rolled and live for the rest, so pruning old
executions never changes it; webhook calls are counted in ``webhook_logs`` (kept for
``WEBHOOK_LOG_RETENTION_DAYS``); test calls and test runs are left out everywhere.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from fluxolab.dashboard.periods import floor_hour, local_midnight, next_hour, zone_of
from fluxolab.dashboard.stats import (
    bucket_number,
    bucket_params,
    dialect,
    rolled_days,
    rolled_totals,
)
from fluxolab.errors import ValidationFailed
from fluxolab.executions.inserts import USAGE_PERIOD
from fluxolab.extensions import db
from fluxolab.models import (
    Execution,
    WebhookLog,
    Workflow,
    Workspace,
    WorkspaceMember,
    utcnow,
)

# period: (length, bucket unit)
PERIODS = {
    "1d": (timedelta(days=1), "hour"),
    "7d": (timedelta(days=7), "day"),
    "30d": (timedelta(days=30), "day"),
    "90d": (timedelta(days=90), "day"),
    "365d": (timedelta(days=365), "day"),
}
HISTORY_METRICS = ("webhooks", "executions", "users", "workflows")
# "all" in the contract: the three metrics of the Settings chart
ALL_METRICS = ("webhooks", "users", "workflows")
MAX_RANGE = timedelta(days=366)
UNIT = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass(frozen=True)
class Usage:
    """Usage of one workspace in its current usage period."""

    workflows_active: int
    users_active: int
    webhook_events: int
    executions: int
    period_start: datetime
    collected_at: datetime

    def metric(self, name: str) -> int:
        """Return the value of an alert metric (executions, webhooks, workflows, users)."""
        return {
            "executions": self.executions,
            "webhooks": self.webhook_events,
            "workflows": self.workflows_active,
            "users": self.users_active,
        }[name]


def current_period_start(started: datetime, now: datetime) -> datetime:
    """Return the start of the usage period ``now`` falls in (periods of ``USAGE_PERIOD``).

    The stored start only moves when an execution is charged; a workspace idle for longer
    than one period is already in a later one.
    """
    if started + USAGE_PERIOD > now:
        return started
    return started + USAGE_PERIOD * ((now - started) // USAGE_PERIOD)


def _count(stmt: Any) -> int:
    return int(db.session.execute(stmt).scalar_one())


def active_workflows(workspace_id: uuid.UUID) -> int:
    """Count the workspace's active (not deleted) workflows."""
    return _count(
        select(func.count())
        .select_from(Workflow)
        .where(
            Workflow.workspace_id == workspace_id,
            Workflow.status == "active",
            Workflow.deleted_at.is_(None),
        )
    )


def member_count(workspace_id: uuid.UUID) -> int:
    """Count the workspace's members."""
    return _count(
        select(func.count())
        .select_from(WorkspaceMember)
        .where(WorkspaceMember.workspace_id == workspace_id)
    )


def webhook_events_since(workspace_id: uuid.UUID, since: datetime) -> int:
    """Count the webhook and form calls logged since ``since`` (test calls excluded)."""
    return _count(
        select(func.count())
        .select_from(WebhookLog)
        .where(
            WebhookLog.workspace_id == workspace_id,
            WebhookLog.created_at >= since,
            WebhookLog.mode != "test",
        )
    )


def current_usage(workspace: Workspace, now: datetime | None = None) -> Usage:
    """Return the workspace's usage in its current usage period."""
    now = now or utcnow()
    start = current_period_start(workspace.usage_period_start, now)
    executions = workspace.executions_used if start == workspace.usage_period_start else 0
    return Usage(
        workflows_active=active_workflows(workspace.id),
        users_active=member_count(workspace.id),
        webhook_events=webhook_events_since(workspace.id, start),
        executions=executions,
        period_start=start,
        collected_at=now,
    )


# --- history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The history range: bucket starts (UTC, oldest first) and the end of the last one.

    Days are whole local days of the workspace's time zone (as on the dashboard, and as the
    rollup keeps them); hours are its local clock hours.
    """

    starts: tuple[datetime, ...]
    end: datetime
    unit: str
    zone: ZoneInfo

    def buckets(self) -> list[datetime]:
        return list(self.starts)

    def spans(self) -> list[tuple[datetime, datetime]]:
        """``[start, end)`` of every bucket."""
        return list(zip(self.starts, (*self.starts[1:], self.end), strict=True))


def _hours(first: datetime, count: int, zone: ZoneInfo) -> Window:
    starts = [floor_hour(first, zone)]
    while len(starts) < count:
        starts.append(next_hour(starts[-1], zone))
    return Window(tuple(starts), next_hour(starts[-1], zone), "hour", zone)


def _days(first: date, last: date, zone: ZoneInfo) -> Window:
    count = (last - first).days + 1
    starts = tuple(local_midnight(first + timedelta(days=n), zone) for n in range(count))
    return Window(starts, local_midnight(last + timedelta(days=1), zone), "day", zone)


def history_window(
    period: str,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    zone: ZoneInfo | None = None,
) -> Window:
    """Return the range of a history request: ``period`` back from now, or the given dates.

    With ``startDate``/``endDate`` the unit is hours for up to two days, else the local days
    from ``startDate``'s date to ``endDate``'s (an ``endDate`` at midnight ends the day before).
    Raises ``ValidationFailed`` when start is not before end or the range exceeds 366 days.
    """
    zone = zone or ZoneInfo("UTC")
    length, unit = PERIODS[period]
    if start is None and end is None:
        if unit == "hour":
            return _hours(now - length + UNIT["hour"], int(length / UNIT["hour"]), zone)
        today = now.astimezone(zone).date()
        return _days(today - timedelta(days=length.days - 1), today, zone)
    end = end or now
    start = start or end - length
    if start >= end:
        raise ValidationFailed(errors={"startDate": ["Must be before endDate."]})
    if end - start > MAX_RANGE:
        raise ValidationFailed(errors={"startDate": ["The range may span at most 366 days."]})
    if end - start <= timedelta(days=2):
        count = 0
        while floor_hour(start, zone) + UNIT["hour"] * count < end:
            count += 1
        return _hours(start, count, zone)
    last = (
        end.date() - timedelta(days=1)
        if end.timetz().replace(tzinfo=None) == time(0)
        else end.date()
    )
    return _days(start.date(), max(last, start.date()), zone)


def _live_counts(model: Any, filters: list[Any], window: Window) -> list[int]:
    """Rows of ``model`` created in each bucket of ``window`` (one indexed range query)."""
    starts, name = window.buckets(), dialect()
    bucket = bucket_number(model.created_at, len(starts), name).label("bucket")
    rows = db.session.execute(
        select(bucket, func.count())
        .where(*filters, model.created_at >= window.starts[0], model.created_at < window.end)
        .group_by(bucket),
        bucket_params(starts, name),
    ).all()
    counts = {int(index): int(count) for index, count in rows}
    return [counts.get(index, 0) for index in range(len(window.starts))]


def _executions(workspace_id: uuid.UUID, window: Window, now: datetime) -> list[int]:
    """Executions (test runs left out) per bucket: rolled local days from ``execution_stats``
    (so pruning executions never changes past history), the rest counted live."""
    filters = [Execution.workspace_id == workspace_id, Execution.mode != "test"]
    if window.unit != "day":
        return _live_counts(Execution, filters, window)
    days = [start.astimezone(window.zone).date() for start in window.starts]
    rolled = {
        day
        for day in rolled_days(workspace_id, days[0], days[-1])
        if local_midnight(day + timedelta(days=1), window.zone) <= now
    }
    values = dict(rolled_totals(workspace_id, rolled, exclude_mode="test")) if rolled else {}
    live = [index for index, day in enumerate(days) if day not in rolled]
    if live:
        part = Window(window.starts[live[0] :], window.end, "day", window.zone)
        for index, count in enumerate(_live_counts(Execution, filters, part), start=live[0]):
            if days[index] not in rolled:
                values[days[index]] = count
    return [values.get(day, 0) for day in days]


def _event_series(metric: str, workspace_id: uuid.UUID, window: Window) -> list[int]:
    if metric == "webhooks":
        filters = [WebhookLog.workspace_id == workspace_id, WebhookLog.mode != "test"]
        return _live_counts(WebhookLog, filters, window)
    return _executions(workspace_id, window, utcnow())


def _gauge_series(metric: str, workspace_id: uuid.UUID, window: Window) -> list[int]:
    """How many members (or workflows not deleted) existed at the end of each bucket."""
    if metric == "users":
        joined = db.session.execute(
            select(WorkspaceMember.joined_at).where(WorkspaceMember.workspace_id == workspace_id)
        ).scalars()
        starts, ends = sorted(joined), []
    else:
        rows = db.session.execute(
            select(Workflow.created_at, Workflow.deleted_at).where(
                Workflow.workspace_id == workspace_id
            )
        ).all()
        starts = sorted(row[0] for row in rows)
        ends = sorted(row[1] for row in rows if row[1] is not None)
    series = []
    for _, edge in window.spans():
        series.append(bisect.bisect_left(starts, edge) - bisect.bisect_left(ends, edge))
    return series


def _label(moment: datetime, window: Window) -> str:
    local = moment.astimezone(window.zone)
    return local.strftime("%H:%M") if window.unit == "hour" else local.strftime("%d/%m")


def _summary(metric: str, values: list[int]) -> dict[str, float]:
    """Total (sum of events, or the last count of a gauge), average, peak, growth in %."""
    if not values:
        return {"total": 0, "average": 0.0, "peak": 0, "growth": 0.0}
    first, last = values[0], values[-1]
    growth = round((last - first) / first * 100, 2) if first else (100.0 if last else 0.0)
    total = sum(values) if metric in ("webhooks", "executions") else last
    return {
        "total": total,
        "average": round(sum(values) / len(values), 2),
        "peak": max(values),
        "growth": growth,
    }


def usage_history(
    workspace_id: uuid.UUID,
    period: str,
    metric: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """Return one series per metric (``all``: webhooks, users, workflows) over the window.

    Webhook calls and executions are counted per bucket; users and workflows are the count
    at the end of each bucket.
    """
    zone = zone_of(
        db.session.execute(
            select(Workspace.timezone).where(Workspace.id == workspace_id)
        ).scalar_one_or_none()
    )
    window = history_window(period, start, end, utcnow(), zone)
    metrics = ALL_METRICS if metric == "all" else (metric,)
    result = []
    for name in metrics:
        if name in ("webhooks", "executions"):
            values = _event_series(name, workspace_id, window)
        else:
            values = _gauge_series(name, workspace_id, window)
        points = [
            {
                "date": moment.astimezone(zone).isoformat(),
                "value": value,
                "label": _label(moment, window),
            }
            for moment, value in zip(window.buckets(), values, strict=True)
        ]
        result.append(
            {"metric": name, "period": period, "data": points, "summary": _summary(name, values)}
        )
    return result
