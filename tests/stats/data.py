"""A fixed mix of runs for rollup tests and a comparable view of ``execution_stats`` rows."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from fluxolab.extensions import db
from fluxolab.models import ExecutionStat, ExecutionStatsDay, Workflow
from tests.dashboard.runs import make_run, make_workflow
from tests.factories import Account

# A Monday noon UTC; every day before 2026-06-12 is sealed when rolled at NOW.
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seed(account: Account, first: date, days: int) -> None:
    """Runs on ``days`` days from ``first`` (UTC noon onwards): production and not,
    sub-executions, every outcome, durations across the histogram."""
    main = make_workflow(account, "Principal", minutes_saved=1.5)
    other = make_workflow(account, "Outro", minutes_saved=0.5)
    for offset in range(days):
        noon = datetime.combine(first + timedelta(days=offset), datetime.min.time(), UTC)
        noon += timedelta(hours=12)
        for index, duration in enumerate((5, 40, 300, 900, 4000, 70000, 400000)):
            make_run(account, main, at=noon + timedelta(minutes=index), duration_ms=duration)
        make_run(account, main, at=noon, mode="schedule", status="failed", duration_ms=120)
        make_run(account, other, at=noon, mode="form", status="timed_out", duration_ms=30000)
        make_run(account, other, at=noon, mode="error", status="canceled", duration_ms=None)
        make_run(account, other, at=noon, mode="webhook", status="running")
        parent = make_run(account, main, at=noon, mode="schedule", duration_ms=2000)
        make_run(account, other, at=noon, mode="subworkflow", parent=parent, duration_ms=600)
        manual = make_run(account, main, at=noon, mode="manual", duration_ms=80)
        make_run(account, other, at=noon, mode="subworkflow", parent=manual, duration_ms=90)
        make_run(account, main, at=noon, mode="test", duration_ms=15)


def stat_rows(workspace_id: uuid.UUID | None = None) -> list[tuple[Any, ...]]:
    """Every ``execution_stats`` row (all but ``rolled_at``), workflows by name, sorted."""
    names = {row[0]: row[1] for row in db.session.execute(select(Workflow.id, Workflow.name))}
    stmt = select(ExecutionStat)
    if workspace_id is not None:
        stmt = stmt.where(ExecutionStat.workspace_id == workspace_id)
    rows = []
    for stat in db.session.execute(stmt).scalars():
        values = {
            column.name: getattr(stat, column.key)
            for column in ExecutionStat.__table__.columns
            if column.name not in {"rolled_at", "workspace_id", "workflow_id"}
        }
        values["time_saved_minutes"] = round(values["time_saved_minutes"], 6)
        rows.append((names[stat.workflow_id], *sorted(values.items())))
    return sorted(rows, key=repr)


def rolled(timezone: str) -> dict[date, bool]:
    """day -> sealed, for ``timezone``."""
    stmt = select(ExecutionStatsDay.day, ExecutionStatsDay.sealed).where(
        ExecutionStatsDay.timezone == timezone
    )
    return {row[0]: row[1] for row in db.session.execute(stmt)}
