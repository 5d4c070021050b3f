"""The window of a read: the zone the process saw last, checked by the read's first statement,
and the hour marks of days the daily rollup has not rolled (fluxolab/dashboard/tally.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from fluxolab.dashboard import summary
from fluxolab.dashboard.periods import Window
from fluxolab.extensions import db
from fluxolab.models import Execution
from fluxolab.stats import hours
from tests.dashboard.runs import make_run, make_workflow, set_timezone
from tests.factories import Account, make_account
from tests.stats.data import NOW, at


def account_in(zone: str) -> Account:
    account = make_account()
    set_timezone(account, zone)
    return account


def read(account: Account, period: str = "7d") -> dict[str, Any]:
    def period_stats(window: Window) -> dict[str, Any]:
        return summary.period_stats(account.workspace_id, window)

    return summary.read_window(account.workspace_id, period, period_stats, now=NOW)


def exact(account: Account, period: str = "7d") -> dict[str, Any]:
    """The same read with the zone read from the workspace on its own (no cache)."""
    window = summary.window_for(account.workspace_id, period, now=NOW)
    return summary.period_stats(account.workspace_id, window)


def test_a_changed_zone_is_read_in_the_new_zone() -> None:
    account = account_in("America/Sao_Paulo")
    workflow = make_workflow(account)
    make_run(account, workflow, at=NOW - timedelta(hours=14))  # yesterday in Tokyo terms
    first = read(account)
    assert first["period"]["timezone"] == "America/Sao_Paulo"

    set_timezone(account, "Asia/Tokyo")
    second = read(account)

    assert second["period"]["timezone"] == "Asia/Tokyo"
    assert second == exact(account)
    assert read(account) == second  # and the new zone is the one seen last now


def test_rolled_hours_of_days_before_yesterday_are_read_from_the_hourly_rollup() -> None:
    account = account_in("UTC")
    workflow = make_workflow(account)
    day = NOW.date() - timedelta(days=4)
    make_run(account, workflow, at=at(f"{day.isoformat()}T09:10"))
    make_run(account, workflow, at=at(f"{day.isoformat()}T09:40"), status="failed")
    start = at(f"{day.isoformat()}T00:00")
    hours.roll_span("UTC", start, start + timedelta(days=1), NOW)  # hours only, no daily roll
    db.session.commit()
    db.session.execute(delete(Execution).where(Execution.workspace_id == account.workspace_id))
    db.session.commit()

    body = read(account)

    assert (body["totals"]["total"]["value"], body["totals"]["failed"]["value"]) == (2, 1)
    assert [(row["failures"]) for row in body["topFailingWorkflows"]] == [1]
    assert body == exact(account)
