"""The hourly rollup: what it rolls, that the dashboard reads it and gives the live numbers."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask_migrate import upgrade
from sqlalchemy import delete, select, text, update

import celeryconfig
from fluxolab.dashboard import summary
from fluxolab.extensions import db
from fluxolab.models import (
    Execution,
    ExecutionStatsDay,
    ExecutionStatsHour,
    ExecutionStatsHourFailure,
    ExecutionStatsHourMark,
    ExecutionStatsWeekFailure,
    ExecutionStatsWorkspaceDay,
)
from fluxolab.stats import hours, rollup
from tests.conftest import make_test_config
from tests.dashboard.runs import make_run, make_workflow, set_timezone
from tests.factories import Account, make_account
from tests.helpers import fresh_app
from tests.stats.data import NOW, at, seed
from workers import stats as stats_tasks


def dashboard(account: Account, period: str, now: datetime = NOW, **days: date) -> dict[str, Any]:
    window = summary.window_for(
        account.workspace_id, period, days.get("first"), days.get("last"), now=now
    )
    return summary.period_stats(account.workspace_id, window)


def hour_rows(workspace_id: uuid.UUID) -> dict[datetime, tuple[Any, ...]]:
    """``{hour: (total, succeeded, failed, timed_out, durations, sum, max, saved)}``."""
    row = ExecutionStatsHour
    stmt = select(
        row.hour,
        row.total,
        row.succeeded,
        row.failed,
        row.timed_out,
        row.durations,
        row.duration_ms_sum,
        row.duration_ms_max,
        row.time_saved_minutes,
    ).where(row.workspace_id == workspace_id)
    return {hour: tuple(values) for hour, *values in db.session.execute(stmt)}


def account_in(zone: str) -> Account:
    account = make_account()
    set_timezone(account, zone)
    return account


def test_the_minute_job_rolls_the_previous_and_the_current_hour() -> None:
    account = account_in("UTC")
    workflow = make_workflow(account, minutes_saved=2)
    now = at("2026-06-15T12:25")
    make_run(account, workflow, at=at("2026-06-15T10:10"))  # two hours back: not rolled
    make_run(account, workflow, at=at("2026-06-15T11:10"), duration_ms=300)
    make_run(account, workflow, at=at("2026-06-15T12:10"), status="failed", duration_ms=40)
    make_run(account, workflow, at=now - timedelta(seconds=10))  # may not be committed yet

    assert hours.roll_recent(now) == 2

    assert hour_rows(account.workspace_id) == {
        at("2026-06-15T11:00"): (1, 1, 0, 0, 1, 300, 300, 2.0),
        at("2026-06-15T12:00"): (1, 0, 1, 0, 1, 40, 40, 0.0),
    }
    marks = dict(
        db.session.execute(
            select(ExecutionStatsHourMark.hour, ExecutionStatsHourMark.rolled_through).where(
                ExecutionStatsHourMark.timezone == "UTC"
            )
        ).all()
    )
    assert marks == {
        at("2026-06-15T11:00"): at("2026-06-15T12:00"),
        at("2026-06-15T12:00"): now - hours.LAG,
    }


def test_the_minute_job_is_on_the_beat_schedule() -> None:
    entry = celeryconfig.beat_schedule["roll-recent-execution-stats"]
    assert entry["task"] == "stats.roll_recent" == stats_tasks.roll_recent_hours.name
    assert entry["schedule"] == 60.0 and entry["options"]["expires"] < 60


@pytest.mark.parametrize(
    ("zone", "period"),
    [
        ("UTC", "7d"),
        ("Asia/Kolkata", "24h"),  # hours start at :30 UTC
        ("Asia/Kolkata", "7d"),
        ("America/Sao_Paulo", "24h"),
        ("America/Sao_Paulo", "30d"),
    ],
)
def test_rolled_hours_give_the_live_numbers(zone: str, period: str) -> None:
    account = account_in(zone)
    seed(account, NOW.date() - timedelta(days=12), 13)
    make_run(account, make_workflow(account, "Agora"), at=NOW - timedelta(minutes=20))
    live = dashboard(account, period)
    assert live["totals"]["total"]["value"] > 0

    rollup.catch_up(NOW)
    hours.roll_recent(NOW)

    assert dashboard(account, period) == live


def test_a_day_that_changes_clock_time_rolls_to_the_live_numbers() -> None:
    account = account_in("America/New_York")  # 2026-11-01 has 25 hours there
    now = at("2026-11-03T15:00")
    workflow = make_workflow(account, "Relogio", minutes_saved=1)
    moment = at("2026-11-01T00:00")
    while moment < now:
        make_run(account, workflow, at=moment, duration_ms=200)
        moment += timedelta(minutes=53)
    first, last = date(2026, 11, 1), date(2026, 11, 2)
    live = [
        dashboard(account, "24h", now),
        dashboard(account, "custom", now, first=first, last=last),
    ]

    rollup.catch_up(now)
    hours.roll_recent(now)

    assert [
        dashboard(account, "24h", now),
        dashboard(account, "custom", now, first=first, last=last),
    ] == live
    eleventh = [
        hour
        for hour in hour_rows(account.workspace_id)
        if at("2026-11-01T04:00") <= hour < at("2026-11-02T05:00")
    ]
    assert len(eleventh) >= 23  # the long day's hours have rows (one each, 25 of them)
    assert all(hour.minute == 0 for hour in eleventh)


def test_a_run_that_changes_status_after_its_hour_was_rolled_shows_at_the_next_roll() -> None:
    account = account_in("UTC")
    workflow = make_workflow(account)
    run = make_run(account, workflow, at=NOW - timedelta(minutes=40), status="running")
    hours.roll_recent(NOW)
    assert dashboard(account, "24h")["totals"]["succeeded"]["value"] == 0

    db.session.execute(
        update(Execution).where(Execution.id == run).values(status="succeeded", duration_ms=10)
    )
    db.session.commit()
    assert dashboard(account, "24h")["totals"]["succeeded"]["value"] == 0  # the rolled hour
    hours.roll_recent(NOW + timedelta(minutes=1))

    assert dashboard(account, "24h")["totals"]["succeeded"]["value"] == 1


def test_rolling_again_gives_the_same_rows_and_drops_emptied_hours() -> None:
    account = account_in("UTC")
    workflow = make_workflow(account)
    gone = make_run(account, workflow, at=NOW - timedelta(hours=3))
    make_run(account, workflow, at=NOW - timedelta(hours=5))
    start = NOW - timedelta(hours=6)
    hours.roll_span("UTC", start, NOW, NOW)
    db.session.commit()
    first = hour_rows(account.workspace_id)
    hours.roll_span("UTC", start, NOW, NOW + timedelta(seconds=5))
    db.session.commit()
    assert hour_rows(account.workspace_id) == first and len(first) == 2

    db.session.execute(delete(Execution).where(Execution.id == gone))
    hours.roll_span("UTC", start, NOW, NOW + timedelta(seconds=9))
    db.session.commit()

    assert list(hour_rows(account.workspace_id)) == [at("2026-06-15T07:00")]


def test_a_sealed_day_keeps_its_hours_when_its_runs_are_gone() -> None:
    account = account_in("UTC")
    day = NOW.date() - timedelta(days=10)
    seed(account, day, 1)
    rollup.roll_day(day, "UTC", NOW)
    before = hour_rows(account.workspace_id)
    assert before and db.session.get(ExecutionStatsDay, ("UTC", day)).hours

    db.session.execute(delete(Execution).where(Execution.workspace_id == account.workspace_id))
    db.session.commit()
    rollup.roll_day(day, "UTC", NOW + timedelta(minutes=1))

    assert hour_rows(account.workspace_id) == before


def test_days_rolled_before_the_hourly_table_are_read_from_the_daily_rollup() -> None:
    account = account_in("America/Sao_Paulo")
    seed(account, NOW.date() - timedelta(days=12), 12)
    live = dashboard(account, "14d")
    rollup.catch_up(NOW)
    db.session.execute(delete(ExecutionStatsHour))
    db.session.execute(delete(ExecutionStatsHourMark))
    db.session.execute(update(ExecutionStatsDay).values(hours=False))
    db.session.commit()
    make_run(account, make_workflow(account), at=NOW - timedelta(days=5))  # after the roll

    assert dashboard(account, "14d") == live  # the rolled days, not the runs of now


def failure_rows(workspace_id: uuid.UUID) -> dict[tuple[datetime, uuid.UUID], int]:
    row = ExecutionStatsHourFailure
    stmt = select(row.hour, row.workflow_id, row.failures).where(row.workspace_id == workspace_id)
    return {
        (hour, workflow_id): failures for hour, workflow_id, failures in db.session.execute(stmt)
    }


def failing_runs(account: Account) -> dict[str, uuid.UUID]:
    """Failed runs in the last 24 hours (yesterday's part and today's): production ones by
    trigger and as sub-executions of a webhook run, and others that must not count."""
    names = ("Falha", "Sub", "Manual", "Teste")
    flows = {name: make_workflow(account, name) for name in names}
    yesterday, today = NOW - timedelta(hours=20), NOW - timedelta(minutes=50)
    for moment in (yesterday, today):
        make_run(account, flows["Falha"], at=moment, status="failed")
        make_run(account, flows["Falha"], at=moment, mode="schedule", status="timed_out")
        parent = make_run(account, flows["Falha"], at=moment, status="failed")
        make_run(
            account, flows["Sub"], at=moment, mode="subworkflow", status="failed", parent=parent
        )
        manual = make_run(account, flows["Manual"], at=moment, mode="manual", status="failed")
        make_run(
            account, flows["Teste"], at=moment, mode="subworkflow", status="failed", parent=manual
        )
    return flows


def test_the_failing_workflows_of_rolled_hours_come_from_the_hourly_failures() -> None:
    account = account_in("UTC")
    flows = failing_runs(account)
    live = dashboard(account, "24h")["topFailingWorkflows"]
    assert [(row["name"], row["failures"]) for row in live] == [("Falha", 6), ("Sub", 2)]

    rollup.catch_up(NOW)
    hours.roll_recent(NOW)
    assert failure_rows(account.workspace_id) == {
        (at("2026-06-14T16:00"), flows["Falha"]): 3,
        (at("2026-06-14T16:00"), flows["Sub"]): 1,
        (at("2026-06-15T11:00"), flows["Falha"]): 3,
        (at("2026-06-15T11:00"), flows["Sub"]): 1,
    }
    db.session.execute(delete(Execution).where(Execution.status.in_(("failed", "timed_out"))))
    db.session.commit()

    assert dashboard(account, "24h")["topFailingWorkflows"] == live  # the rolled hours
    assert [
        (row["name"], row["failures"]) for row in dashboard(account, "7d")["topFailingWorkflows"]
    ] == [("Falha", 6), ("Sub", 2)]


def test_rolling_again_drops_the_failures_of_emptied_hours_but_not_of_sealed_days() -> None:
    account = account_in("UTC")
    workflow = make_workflow(account)
    recent = make_run(account, workflow, at=NOW - timedelta(hours=2), status="failed")
    old_day = NOW.date() - timedelta(days=10)
    make_run(account, workflow, at=at(f"{old_day.isoformat()}T09:00"), status="failed")
    rollup.roll_day(old_day, "UTC", NOW)
    hours.roll_span("UTC", NOW - timedelta(hours=3), NOW, NOW)
    db.session.commit()
    assert len(failure_rows(account.workspace_id)) == 2

    db.session.execute(delete(Execution).where(Execution.workspace_id == account.workspace_id))
    db.session.commit()
    rollup.roll_day(old_day, "UTC", NOW + timedelta(minutes=1))
    hours.roll_span("UTC", NOW - timedelta(hours=3), NOW, NOW + timedelta(minutes=1))
    db.session.commit()

    assert recent and failure_rows(account.workspace_id) == {
        (at(f"{old_day.isoformat()}T09:00"), workflow): 1
    }


def migration(number: str, name: str) -> Any:
    path = f"migrations/versions/{number}_{name}.py"
    spec = importlib.util.spec_from_file_location(f"migration_{number}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def workspace_days(workspace_id: uuid.UUID) -> dict[date, tuple[Any, ...]]:
    row = ExecutionStatsWorkspaceDay
    stmt = select(
        row.day, row.total, row.failed, row.durations, row.duration_ms_max, row.duration_le_inf
    ).where(row.workspace_id == workspace_id)
    return {day: tuple(values) for day, *values in db.session.execute(stmt)}


def test_whole_rolled_days_are_read_from_one_row_a_day() -> None:
    account = account_in("America/Sao_Paulo")
    seed(account, NOW.date() - timedelta(days=12), 12)
    live = dashboard(account, "14d")
    rollup.catch_up(NOW)
    assert dashboard(account, "14d") == live
    day = NOW.date() - timedelta(days=3)
    assert workspace_days(account.workspace_id)[day][:2] == (13, 1)  # production runs, failed

    db.session.execute(
        update(ExecutionStatsWorkspaceDay)
        .where(ExecutionStatsWorkspaceDay.day == day)
        .values(total=ExecutionStatsWorkspaceDay.total + 100)
    )
    db.session.commit()

    assert dashboard(account, "14d")["totals"]["total"]["value"] == (
        live["totals"]["total"]["value"] + 100
    )


def test_the_migration_fills_the_days_rolled_before_it() -> None:
    account = account_in("UTC")
    seed(account, NOW.date() - timedelta(days=5), 5)
    rollup.catch_up(NOW)
    rolled = workspace_days(account.workspace_id)
    db.session.execute(delete(ExecutionStatsWorkspaceDay))
    db.session.commit()

    db.session.execute(text(migration("0015", "workspace_day_totals").FILL))
    db.session.commit()

    assert workspace_days(account.workspace_id) == rolled and len(rolled) == 5


def test_the_migration_fills_the_failures_of_the_hours_rolled_before_it() -> None:
    account = account_in("America/Sao_Paulo")
    failing_runs(account)
    rollup.catch_up(NOW)
    hours.roll_recent(NOW)
    rolled = failure_rows(account.workspace_id)
    db.session.execute(delete(ExecutionStatsHourFailure))
    db.session.commit()
    fill = migration("0013", "hourly_failures_per_workflow").FILL

    db.session.execute(text(fill), {"since": NOW - timedelta(days=3), "now": NOW})
    db.session.commit()

    assert failure_rows(account.workspace_id) == rolled and len(rolled) == 4


def rolled_dashboards() -> list[dict[str, Any]]:
    """Seeded runs and failing runs in São Paulo, rolled by the beat jobs, then read."""
    account = account_in("America/Sao_Paulo")
    seed(account, NOW.date() - timedelta(days=9), 10)
    failing_runs(account)
    rollup.catch_up(NOW)
    hours.roll_recent(NOW)
    assert failure_rows(account.workspace_id)
    answers = [dashboard(account, period) for period in ("24h", "7d", "14d")]
    for answer in answers:  # ids differ between the two databases
        for row in answer["topFailingWorkflows"]:
            row.pop("id")
    return answers


def test_the_hourly_rollup_and_its_reads_give_the_same_dashboard_on_sqlite(
    redis_url: str, tmp_path: Path
) -> None:
    on_postgresql = rolled_dashboards()
    config = make_test_config(f"sqlite:///{tmp_path / 'fluxolab.db'}", redis_url, tmp_path)
    with fresh_app(config) as scratch, scratch.app_context():
        upgrade()
        on_sqlite = rolled_dashboards()
        db.session.remove()

    assert on_sqlite == on_postgresql
    assert on_sqlite[0]["topFailingWorkflows"][:2] == [
        {"name": "Falha", "failures": 6},
        {"name": "Sub", "failures": 2},
    ]


def week_rows(workspace_id: uuid.UUID) -> dict[tuple[date, uuid.UUID], int]:
    row = ExecutionStatsWeekFailure
    stmt = select(row.week, row.workflow_id, row.failures).where(row.workspace_id == workspace_id)
    return {(week, workflow_id): count for week, workflow_id, count in db.session.execute(stmt)}


def test_the_failing_workflows_of_whole_weeks_are_read_a_row_a_week() -> None:
    account = account_in("America/Sao_Paulo")
    seed(account, NOW.date() - timedelta(days=20), 20)
    live = dashboard(account, "30d")["topFailingWorkflows"]
    rollup.catch_up(NOW)
    rows = week_rows(account.workspace_id)
    assert {week.weekday() for week, _ in rows} == {0}
    assert any(week == date(2026, 6, 1) for week, _ in rows)  # a whole week of the 30 days
    assert dashboard(account, "30d")["topFailingWorkflows"] == live

    db.session.execute(
        update(ExecutionStatsWeekFailure)
        .where(ExecutionStatsWeekFailure.week == date(2026, 6, 1))
        .values(failures=ExecutionStatsWeekFailure.failures + 100)
    )
    db.session.commit()

    assert [row["failures"] for row in dashboard(account, "30d")["topFailingWorkflows"]] == [
        row["failures"] + 100 for row in live
    ]


def test_a_week_loses_the_failures_of_runs_deleted_before_its_days_were_sealed() -> None:
    account = account_in("UTC")
    workflow = make_workflow(account)
    day = NOW.date() - timedelta(days=1)  # Sunday 2026-06-14, not sealed yet
    gone = make_run(account, workflow, at=at(f"{day.isoformat()}T09:00"), status="failed")
    make_run(account, workflow, at=at(f"{day.isoformat()}T10:00"), status="timed_out")
    rollup.roll_day(day, "UTC", NOW)
    assert week_rows(account.workspace_id) == {(date(2026, 6, 8), workflow): 2}

    db.session.execute(delete(Execution).where(Execution.id == gone))
    db.session.commit()
    rollup.roll_day(day, "UTC", NOW + timedelta(minutes=1))

    assert week_rows(account.workspace_id) == {(date(2026, 6, 8), workflow): 1}


def test_the_migration_fills_the_weeks_rolled_before_it() -> None:
    account = account_in("UTC")
    seed(account, NOW.date() - timedelta(days=16), 16)
    rollup.catch_up(NOW)
    rolled = week_rows(account.workspace_id)
    db.session.execute(delete(ExecutionStatsWeekFailure))
    db.session.commit()

    migration("0016", "weekly_failures_per_workflow").fill(db.session.connection())
    db.session.commit()

    assert week_rows(account.workspace_id) == rolled and len(rolled) == 2 * 3
