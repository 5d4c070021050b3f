"""The dashboard's numbers for a period: totals, changes, series, failing workflows, labels.

Built from ``stats.bucket_rows`` (counts per bucket and workflow, from the nightly rollup for
closed rolled days and live otherwise) plus one query for the workflows involved (names,
minutes saved per run). Time saved uses each workflow's current minutes saved per run on both
paths, so a rolled day and a live day give the same figures.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from fluxolab.dashboard import periods, stats
from fluxolab.dashboard.periods import Window
from fluxolab.dashboard.stats import BucketRow, Counts
from fluxolab.errors import NotFound
from fluxolab.extensions import db
from fluxolab.models import Workflow, Workspace, utcnow

NO_DATA = "---"
TOP_FAILING = 5


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


def _workflows(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[str, float]]:
    """Name and minutes saved per run of each workflow (deleted ones too), by id."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(Workflow.id, Workflow.name, Workflow.minutes_saved_per_run).where(
            Workflow.id.in_(wanted)
        )
    )
    return {row.id: (row.name, float(row.minutes_saved_per_run or 0)) for row in rows}


def _total(rows: Iterable[BucketRow]) -> Counts:
    return sum((row.counts for row in rows), Counts())


def _saved(rows: Iterable[BucketRow], workflows: dict[uuid.UUID, tuple[str, float]]) -> float:
    """Minutes saved: each succeeded run times its workflow's minutes saved per run."""
    return sum(row.counts.succeeded * workflows.get(row.workflow_id, ("", 0.0))[1] for row in rows)


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
    rows = stats.bucket_rows(workspace_id, window.buckets, window.zone, window.now)
    workflows = _workflows(row.workflow_id for row in rows)
    last = len(window.buckets) - 1
    today = _total(row for row in rows if row.bucket == last)
    return headline(_total(rows), _saved(rows, workflows), window.label), today


def period_stats(workspace_id: uuid.UUID, window: Window) -> dict[str, Any]:
    """Everything ``GET /api/dashboard/stats`` answers for ``window``."""
    rows = stats.bucket_rows(workspace_id, window.buckets, window.zone, window.now)
    previous_window = window.previous
    previous_rows = stats.bucket_rows(workspace_id, [previous_window], window.zone, window.now)
    workflows = _workflows(row.workflow_id for row in [*rows, *previous_rows])
    current, previous = _total(rows), _total(previous_rows)
    saved, saved_before = _saved(rows, workflows), _saved(previous_rows, workflows)
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
        "series": _series(window, rows),
        "topFailingWorkflows": _top_failing(rows, workflows),
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


def _series(window: Window, rows: list[BucketRow]) -> list[dict[str, Any]]:
    """One point per bucket, oldest first, zeros where nothing ran."""
    per_bucket: dict[int, Counts] = defaultdict(Counts)
    for row in rows:
        per_bucket[row.bucket] = per_bucket[row.bucket] + row.counts
    points = []
    for index, bucket in enumerate(window.buckets):
        counts = per_bucket[index]
        points.append(
            {
                "label": bucket.label,
                "start": bucket.start.astimezone(window.zone).isoformat(),
                "end": bucket.end.astimezone(window.zone).isoformat(),
                "total": counts.total,
                "succeeded": counts.succeeded,
                "failed": counts.failed,
            }
        )
    return points


def _top_failing(
    rows: list[BucketRow], workflows: dict[uuid.UUID, tuple[str, float]]
) -> list[dict[str, Any]]:
    """The workflows with the most failed runs (at least one), most first, then by name."""
    failures: dict[uuid.UUID, int] = defaultdict(int)
    for row in rows:
        failures[row.workflow_id] += row.counts.failed
    ranked = sorted(
        (item for item in failures.items() if item[1] > 0),
        key=lambda item: (-item[1], workflows.get(item[0], ("", 0.0))[0].lower(), str(item[0])),
    )
    return [
        {
            "id": str(workflow_id),
            "name": workflows.get(workflow_id, ("", 0.0))[0],
            "failures": count,
        }
        for workflow_id, count in ranked[:TOP_FAILING]
    ]
