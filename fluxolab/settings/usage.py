"""A workspace's current usage (this usage period) and its usage history.

Current usage and history are read live from ``workflows``, ``workspace_members``,
``webhook_logs`` and ``executions`` (test calls and test runs are left out). A rollup table
will feed the history later; the shapes stay.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select

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
    """The history range: ``start`` inclusive, ``end`` exclusive, cut in ``unit`` buckets."""

    start: datetime
    end: datetime
    unit: str

    def buckets(self) -> list[datetime]:
        step = UNIT[self.unit]
        found, moment = [], self.start
        while moment < self.end:
            found.append(moment)
            moment += step
        return found


def _truncate(moment: datetime, unit: str) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if unit == "day" else moment


def history_window(
    period: str, start: datetime | None, end: datetime | None, now: datetime
) -> Window:
    """Return the range of a history request: ``period`` back from now, or the given dates.

    With ``startDate``/``endDate`` the unit is hours for up to two days, days beyond.
    Raises ``ValidationFailed`` when start is not before end or the range exceeds 366 days.
    """
    length, unit = PERIODS[period]
    if start is None and end is None:
        last = _truncate(now, unit) + UNIT[unit]
        return Window(last - length, last, unit)
    end = end or now
    start = start or end - length
    if start >= end:
        raise ValidationFailed(errors={"startDate": ["Must be before endDate."]})
    if end - start > MAX_RANGE:
        raise ValidationFailed(errors={"startDate": ["The range may span at most 366 days."]})
    unit = "hour" if end - start <= timedelta(days=2) else "day"
    first = _truncate(start, unit)
    last = _truncate(end, unit)
    if last < end:
        last += UNIT[unit]
    return Window(first, last, unit)


def _bucket(column: Any, unit: str) -> ColumnElement[Any]:
    """The SQL expression of the UTC bucket a timestamp falls in (PostgreSQL or SQLite)."""
    if db.engine.dialect.name == "postgresql":
        return func.date_trunc(unit, func.timezone("UTC", column))
    pattern = "%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00"
    return func.strftime(pattern, column)


def _as_utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _counts(model: Any, filters: list[Any], window: Window) -> dict[datetime, int]:
    """Rows of ``model`` created per bucket of ``window``."""
    bucket = _bucket(model.created_at, window.unit).label("bucket")
    rows = db.session.execute(
        select(bucket, func.count())
        .where(*filters, model.created_at >= window.start, model.created_at < window.end)
        .group_by(bucket)
    ).all()
    return {_as_utc(row[0]): int(row[1]) for row in rows}


def _event_series(metric: str, workspace_id: uuid.UUID, window: Window) -> list[int]:
    if metric == "webhooks":
        filters = [WebhookLog.workspace_id == workspace_id, WebhookLog.mode != "test"]
        counts = _counts(WebhookLog, filters, window)
    else:
        filters = [Execution.workspace_id == workspace_id, Execution.mode != "test"]
        counts = _counts(Execution, filters, window)
    return [counts.get(moment, 0) for moment in window.buckets()]


def _gauge_series(metric: str, workspace_id: uuid.UUID, window: Window) -> list[int]:
    """How many members (or workflows not deleted) existed at the end of each bucket."""
    step = UNIT[window.unit]
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
    for moment in window.buckets():
        edge = moment + step
        series.append(bisect.bisect_left(starts, edge) - bisect.bisect_left(ends, edge))
    return series


def _label(moment: datetime, unit: str) -> str:
    return moment.strftime("%H:00") if unit == "hour" else moment.strftime("%d/%m")


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
    window = history_window(period, start, end, utcnow())
    metrics = ALL_METRICS if metric == "all" else (metric,)
    result = []
    for name in metrics:
        if name in ("webhooks", "executions"):
            values = _event_series(name, workspace_id, window)
        else:
            values = _gauge_series(name, workspace_id, window)
        points = [
            {"date": moment.isoformat(), "value": value, "label": _label(moment, window.unit)}
            for moment, value in zip(window.buckets(), values, strict=True)
        ]
        result.append(
            {"metric": name, "period": period, "data": points, "summary": _summary(name, values)}
        )
    return result
