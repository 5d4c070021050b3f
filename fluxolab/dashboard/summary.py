"""The dashboard's numbers for a period: totals, changes, series, failing workflows, labels.

Built from ``tally.tally`` (counts per bucket, minutes saved and failing workflows, from the
hourly and daily rollups where they cover the window and live else) plus one query for the
names of the failing workflows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select

from fluxolab.dashboard import periods
from fluxolab.dashboard.periods import Window
from fluxolab.dashboard.stats import Counts
from fluxolab.dashboard.tally import StaleZone, Tally, tally
from fluxolab.errors import NotFound
from fluxolab.extensions import db
from fluxolab.models import Workspace, utcnow

NO_DATA = "---"
T = TypeVar("T")


def workspace_zone(workspace_id: uuid.UUID) -> ZoneInfo:
    """The workspace's time zone (``workspaces.timezone``; unknown names are UTC)."""
    name = db.session.execute(
        select(Workspace.timezone).where(Workspace.id == workspace_id)
    ).scalar_one_or_none()
    if name is None:
        raise NotFound("Workspace nao encontrado.")
    return periods.zone_of(name)


def window_for(
    workspace_id: uuid.UUID,
    period: str | None,
    first_day: date | None = None,
    last_day: date | None = None,
    now: datetime | None = None,
) -> Window:
    """Resolve ``period`` in the workspace's zone (``ValidationFailed`` when invalid)."""
    zone = workspace_zone(workspace_id)
    return periods.resolve(period, zone, now or utcnow(), first_day=first_day, last_day=last_day)


# the zone each workspace had when this process last read its dashboard: a read checks it
# against the workspace's own (``StaleZone``), so a changed zone costs one read redone
_ZONES: dict[uuid.UUID, ZoneInfo] = {}
_ZONES_KEPT = 4096


def read_window(
    workspace_id: uuid.UUID,
    period: str | None,
    read: Callable[[Window], T],
    *,
    first_day: date | None = None,
    last_day: date | None = None,
    now: datetime | None = None,
) -> T:
    """``read(window)`` for ``period`` resolved in the workspace's zone: the zone seen last
    (no statement of its own), checked by the read's first statement, which raises
    ``StaleZone`` (then the read is redone in the new zone) or ``NotFound``."""
    moment = now or utcnow()
    zone = _ZONES.get(workspace_id) or workspace_zone(workspace_id)
    try:
        result = read(periods.resolve(period, zone, moment, first_day=first_day, last_day=last_day))
    except StaleZone as stale:
        zone = periods.zone_of(stale.name)
        result = read(periods.resolve(period, zone, moment, first_day=first_day, last_day=last_day))
    if len(_ZONES) >= _ZONES_KEPT:
        _ZONES.clear()
    _ZONES[workspace_id] = zone
    return result


def format_duration(ms: float | None) -> str:
    """A run time for people: ``"1.20s"``, ``"2m 05s"``, ``"1h 03m"``; ``"---"`` without data."""
    if ms is None:
        return NO_DATA
    if ms < 60_000:
        return f"{ms / 1000:.2f}s"
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


def format_minutes(minutes: float) -> str:
    """Time saved for people: ``"45s"``, ``"12m"``, ``"3h 20m"``; ``"---"`` when nothing."""
    seconds = round(minutes * 60)
    if seconds <= 0:
        return NO_DATA
    hours, rest = divmod(seconds, 3600)
    whole_minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {whole_minutes:02d}m"
    if whole_minutes:
        return f"{whole_minutes}m {seconds:02d}s" if seconds else f"{whole_minutes}m"
    return f"{seconds}s"


def failure_rate(counts: Counts) -> float:
    """Failed runs as a percentage of all runs (one decimal); 0 without runs."""
    return round(counts.failed * 100 / counts.total, 1) if counts.total else 0.0


def headline(counts: Counts, saved_minutes: float, label: str) -> dict[str, Any]:
    """The contract's ``stats`` object (numbers and display strings) with numeric twins."""
    average = counts.avg_duration_ms
    return {
        "prodExecutions": counts.total,
        "failedExecutions": counts.failed,
        "failureRate": failure_rate(counts),
        "timeSaved": format_minutes(saved_minutes),
        "avgRunTime": format_duration(average),
        "period": label,
        "avgRunTimeMs": round(average, 1) if average is not None else None,
        "timeSavedMinutes": round(saved_minutes, 2),
    }


def change(value: float | None, previous: float | None) -> dict[str, Any]:
    """``{value, previous, change, changePercent}``; the percentage is null from 0 or null."""
    delta = None if value is None or previous is None else round(value - previous, 2)
    percent = None
    if delta is not None and previous:
        percent = round(delta * 100 / previous, 1)
    return {"value": value, "previous": previous, "change": delta, "changePercent": percent}


def headline_stats(workspace_id: uuid.UUID, window: Window) -> tuple[dict[str, Any], Counts]:
    """The ``stats`` object of ``window`` alone (the overview), and the last bucket's counts."""
    counted = tally(workspace_id, window.buckets, window.zone, window.now)
    today = counted.buckets.get(len(window.buckets) - 1, Counts())
    return headline(counted.total(), counted.saved_minutes(), window.label), today


def period_stats(workspace_id: uuid.UUID, window: Window) -> dict[str, Any]:
    """Everything ``GET /api/dashboard/stats`` answers for ``window``: its buckets and the
    previous stretch (bucket 0 here, it ends where the window starts) in one tally."""
    counted = tally(
        workspace_id, [window.previous, *window.buckets], window.zone, window.now, failing_from=1
    )
    current, previous = counted.total(1), counted.total(0, 1)
    saved, saved_before = counted.saved_minutes(1), counted.saved_minutes(0, 1)
    p95, p95_before = current.p95_duration_ms, previous.p95_duration_ms
    return {
        "status": "ok",
        "stats": headline(current, saved, window.label),
        "period": _period_view(window),
        "totals": {
            "total": change(current.total, previous.total),
            "succeeded": change(current.succeeded, previous.succeeded),
            "failed": change(current.failed, previous.failed),
            "p95DurationMs": change(p95, p95_before),
            "timeSavedMinutes": change(round(saved, 2), round(saved_before, 2)),
        },
        "series": _series(window, counted),
        "topFailingWorkflows": [
            {"id": str(row.workflow_id), "name": row.name, "failures": row.failures}
            for row in counted.failing
        ],
    }


def _period_view(window: Window) -> dict[str, Any]:
    zone = window.zone
    return {
        "key": window.key,
        "label": window.label,
        "granularity": window.granularity,
        "timezone": zone.key,
        "from": window.start.astimezone(zone).isoformat(),
        "to": window.end.astimezone(zone).isoformat(),
        "previousFrom": window.previous.start.astimezone(zone).isoformat(),
        "previousTo": window.previous.end.astimezone(zone).isoformat(),
    }


def _series(window: Window, counted: Tally) -> list[dict[str, Any]]:
    """One point per bucket, oldest first, zeros where nothing ran."""
    points = []
    for index, bucket in enumerate(window.buckets):
        counts = counted.buckets.get(index + 1, Counts())  # bucket 0: the previous stretch
        points.append(
            {
                "label": bucket.label,
                "start": periods.local_iso(bucket.start, window.zone),
                "end": periods.local_iso(bucket.end, window.zone),
                "total": counts.total,
                "succeeded": counts.succeeded,
                "failed": counts.failed,
            }
        )
    return points
