"""The beat job, the backfill-stats command, concurrent rolls and a SQLite rollup."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade

import celeryconfig
from fluxolab.extensions import db
from fluxolab.models import utcnow
from fluxolab.stats import rollup
from tests.conftest import make_test_config
from tests.dashboard.runs import set_timezone
from tests.factories import make_account
from tests.helpers import fresh_app
from tests.stats.data import NOW, rolled, seed, stat_rows
from workers import stats as stats_tasks


def test_the_rollup_is_on_the_beat_schedule_of_the_maintenance_queue() -> None:
    entry = celeryconfig.beat_schedule["rollup-execution-stats"]
    assert entry["task"] == "stats.rollup" == stats_tasks.rollup_execution_stats.name
    assert entry["schedule"].minute == {5} and len(entry["schedule"].hour) == 24
    assert celeryconfig.task_routes["stats.*"]["queue"] == "maintenance"


def test_the_beat_task_rolls_yesterday(app_ctx: Flask) -> None:
    account = make_account()
    set_timezone(account, "UTC")
    yesterday = utcnow().date() - timedelta(days=1)
    seed(account, yesterday, 1)

    report = stats_tasks.rollup_execution_stats.run()

    assert report["days"] >= 1 and report["timezones"] >= 1
    assert rolled("UTC") == {yesterday: False}
    assert len(stat_rows(account.workspace_id)) == 9
    assert stats_tasks.rollup_execution_stats.run()["days"] >= 1  # re-rolled: not sealed yet
    assert len(stat_rows(account.workspace_id)) == 9


def test_backfill_stats_command(app: Flask) -> None:
    account = make_account()
    set_timezone(account, "UTC")
    today = utcnow().date()
    seed(account, today - timedelta(days=5), 3)
    first = (today - timedelta(days=6)).isoformat()
    args = ["backfill-stats", "--from", first, "--to", today.isoformat()]

    result = app.test_cli_runner().invoke(args=args)

    assert result.exit_code == 0, result.output
    assert "rolled" in result.output and "over 7 days" in result.output
    days = rolled("UTC")
    assert sorted(days) == [today - timedelta(days=n) for n in range(6, 0, -1)]  # not today
    assert len(stat_rows(account.workspace_id)) == 3 * 9


@pytest.mark.parametrize(
    "args",
    [
        ["--from", "2026-06-10", "--to", "2026-06-01"],
        ["--from", "2026-13-01", "--to", "2026-06-01"],
        ["--to", "2026-06-01"],
    ],
)
def test_backfill_stats_refuses_bad_dates(app: Flask, args: list[str]) -> None:
    result = app.test_cli_runner().invoke(args=["backfill-stats", *args])
    assert result.exit_code == 2
    assert rolled("UTC") == {}


def test_two_concurrent_rolls_give_the_rows_of_one(app: Flask, committed_db: None) -> None:
    with app.app_context():
        account = make_account()
        set_timezone(account, "UTC")
        seed(account, date(2026, 6, 8), 3)
        db.session.remove()
    days = [date(2026, 6, 8), date(2026, 6, 9), date(2026, 6, 10)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def roll() -> None:
        try:
            with app.app_context():
                start.wait()
                for day in days:
                    rollup.roll_day(day, "UTC", NOW)
                db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=roll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with app.app_context():
        concurrent = stat_rows()
        for day in days:
            rollup.roll_day(day, "UTC", NOW)
        assert stat_rows() == concurrent
        assert len(concurrent) == 3 * 9
        db.session.remove()


def rows_after_seed_and_roll() -> list[tuple[Any, ...]]:
    account = make_account()
    set_timezone(account, "America/Sao_Paulo")
    seed(account, date(2026, 6, 8), 3)
    rollup.backfill(date(2026, 6, 7), date(2026, 6, 11), NOW)
    return stat_rows(account.workspace_id)


def test_the_rollup_gives_the_same_rows_on_sqlite(redis_url: str, tmp_path: Path) -> None:
    on_postgresql = rows_after_seed_and_roll()
    config = make_test_config(f"sqlite:///{tmp_path / 'fluxolab.db'}", redis_url, tmp_path)
    with fresh_app(config) as scratch, scratch.app_context():
        upgrade()
        on_sqlite = rows_after_seed_and_roll()
        db.session.remove()
    assert on_sqlite == on_postgresql
    assert len(on_sqlite) == 3 * 9
