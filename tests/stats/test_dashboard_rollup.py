"""The dashboard gives the same numbers from the rollup as live; retention keeps past stats."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from fluxolab.dashboard import stats, summary, sums
from fluxolab.executions import sweeper
from fluxolab.extensions import db
from fluxolab.models import Execution, utcnow
from fluxolab.stats import rollup
from tests.dashboard.runs import make_run, make_workflow, set_timezone
from tests.factories import Account, make_account
from tests.stats.data import NOW, seed, stat_rows


@pytest.fixture()
def owner() -> Account:
    account = make_account()
    set_timezone(account, "America/Sao_Paulo")
    return account


def dashboard(account: Account, period: str, **days: date) -> dict[str, Any]:
    window = summary.window_for(
        account.workspace_id, period, days.get("first"), days.get("last"), now=NOW
    )
    return summary.period_stats(account.workspace_id, window)


@pytest.mark.parametrize("period", ["7d", "14d", "30d", "24h"])
def test_rolled_days_give_the_live_numbers(owner: Account, period: str) -> None:
    seed(owner, NOW.date() - timedelta(days=40), 41)  # today included (live on both paths)
    live = dashboard(owner, period)
    assert live["totals"]["total"]["value"] > 0 and live["totals"]["p95DurationMs"]["value"]

    rolled = rollup.catch_up(NOW)

    assert rolled.days >= 40
    assert dashboard(owner, period) == live


def test_custom_period_over_rolled_days_matches_live(owner: Account) -> None:
    seed(owner, date(2026, 6, 1), 10)
    first, last = date(2026, 6, 2), date(2026, 6, 9)
    live = dashboard(owner, "custom", first=first, last=last)
    rollup.backfill(date(2026, 5, 25), date(2026, 6, 14), NOW)
    assert dashboard(owner, "custom", first=first, last=last) == live


def test_rolled_days_are_read_from_the_rollup(owner: Account) -> None:
    """A rolled day's counts come from execution_stats: a run added after the roll of a
    sealed day is not seen, while the last seconds (live) are."""
    workflow = make_workflow(owner)
    make_run(owner, workflow, at=NOW - timedelta(days=5))
    rollup.catch_up(NOW)
    make_run(owner, workflow, at=NOW - timedelta(days=5))  # after the roll: not in the stats
    make_run(owner, workflow, at=NOW - timedelta(hours=1))  # a rolled hour of today: neither
    make_run(owner, workflow, at=NOW - timedelta(seconds=10))  # not rolled yet: live
    body = dashboard(owner, "7d")
    assert body["totals"]["total"]["value"] == 2
    window = summary.window_for(owner.workspace_id, "7d", now=NOW)
    starts = [bucket.start for bucket in window.buckets]
    live = sums.bucket_sums(owner.workspace_id, starts, [], [], [], [(window.start, window.end)])
    assert sum(counts.total for counts, _ in live.values()) == 4


def test_the_p95_comes_from_the_histogram_bounds() -> None:
    full = stats.Counts(
        total=100,
        durations=100,
        duration_max_ms=4000,
        histogram=tuple(
            {"duration_le_100": 90, "duration_le_5000": 10}.get(column, 0)
            for column in rollup.HISTOGRAM_COLUMNS
        ),
    )
    assert full.p95_duration_ms == 4000  # bound 5000 capped at the largest duration
    assert stats.Counts().p95_duration_ms is None


def prune_everything(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setitem(app.config, "EXECUTION_RETENTION_DAYS", 0)
    return sweeper.prune()


def count_runs(account: Account) -> int:
    stmt = select(func.count()).where(Execution.workspace_id == account.workspace_id)
    return int(db.session.execute(stmt).scalar_one())


def test_pruning_deletes_only_sealed_days_and_keeps_their_stats(
    owner: Account, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = utcnow().date()
    seed(owner, today - timedelta(days=10), 5)  # 10 .. 6 days ago
    assert prune_everything(app, monkeypatch) == 0  # nothing rolled: nothing pruned
    rollup.backfill(today - timedelta(days=10), today - timedelta(days=8))  # sealed
    rollup.backfill(today - timedelta(days=6), today - timedelta(days=6))  # a gap before it
    before = stat_rows(owner.workspace_id)
    runs = count_runs(owner)

    removed = prune_everything(app, monkeypatch)

    assert removed == runs * 3 // 5 - 3  # three sealed days, less their unfinished runs
    assert stat_rows(owner.workspace_id) == before
    rollup.backfill(today - timedelta(days=12), today - timedelta(days=8))
    assert stat_rows(owner.workspace_id) == before
    assert count_runs(owner) == runs - removed
