"""Period math on real executions: production only, local days, previous period, 24h, custom.

The services take ``now``, so every test fixes the clock at ``NOW`` and places runs around it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from fluxolab.dashboard import summary
from fluxolab.errors import ValidationFailed
from tests.dashboard.runs import make_run, make_workflow, set_timezone
from tests.factories import Account, make_account

NOW = datetime(2026, 6, 15, 15, 20, tzinfo=UTC)  # 12:20 in Sao Paulo (UTC-3, no DST)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture()
def owner() -> Account:
    account = make_account()
    set_timezone(account, "UTC")
    return account


@pytest.fixture()
def workflow(owner: Account) -> uuid.UUID:
    return make_workflow(owner, "Principal")


def stats_of(
    account: Account,
    period: str = "7d",
    first: date | None = None,
    last: date | None = None,
) -> dict[str, Any]:
    window = summary.window_for(account.workspace_id, period, first, last, now=NOW)
    return summary.period_stats(account.workspace_id, window)


def series(body: dict[str, Any]) -> dict[str, int]:
    """label -> total, only the points with runs."""
    return {point["label"]: point["total"] for point in body["series"] if point["total"]}


def test_only_production_runs_are_counted(owner: Account, workflow: uuid.UUID) -> None:
    when = NOW - timedelta(hours=1)
    for mode in ("webhook", "schedule", "form", "error"):
        make_run(owner, workflow, at=when, mode=mode)
    for mode in ("manual", "test", "retry"):
        make_run(owner, workflow, at=when, mode=mode)
    from_webhook = make_run(owner, workflow, at=when, mode="webhook")
    child = make_run(owner, workflow, at=when, mode="subworkflow", parent=from_webhook)
    make_run(owner, workflow, at=when, mode="subworkflow", parent=child)  # grandchild
    from_manual = make_run(owner, workflow, at=when, mode="manual")
    manual_child = make_run(owner, workflow, at=when, mode="subworkflow", parent=from_manual)
    make_run(owner, workflow, at=when, mode="subworkflow", parent=manual_child)

    body = stats_of(owner)

    # 4 trigger modes + the webhook parent + its child and grandchild
    assert body["stats"]["prodExecutions"] == 7
    assert body["totals"]["total"]["value"] == 7


def test_sub_execution_of_a_schedule_run_from_an_earlier_day_counts(
    owner: Account, workflow: uuid.UUID
) -> None:
    parent = make_run(owner, workflow, at=NOW - timedelta(days=30), mode="schedule")
    make_run(owner, workflow, at=NOW - timedelta(hours=2), mode="subworkflow", parent=parent)
    assert stats_of(owner)["stats"]["prodExecutions"] == 1


def test_days_are_whole_days_of_the_workspace_time_zone(
    owner: Account, workflow: uuid.UUID
) -> None:
    make_run(owner, workflow, at=at("2026-06-15T02:00"))  # 23:00 of the 14th in Sao Paulo
    make_run(owner, workflow, at=at("2026-06-09T01:00"))  # 22:00 of the 8th in Sao Paulo
    make_run(owner, workflow, at=at("2026-06-09T03:00"))  # midnight of the 9th in Sao Paulo

    in_utc = stats_of(owner)
    set_timezone(owner, "America/Sao_Paulo")
    in_sao_paulo = stats_of(owner)

    assert series(in_utc) == {"2026-06-09": 2, "2026-06-15": 1}
    assert in_utc["stats"]["prodExecutions"] == 3
    assert series(in_sao_paulo) == {"2026-06-09": 1, "2026-06-14": 1}
    assert in_sao_paulo["stats"]["prodExecutions"] == 2
    assert in_sao_paulo["period"]["timezone"] == "America/Sao_Paulo"
    assert in_sao_paulo["series"][0]["start"] == "2026-06-09T00:00:00-03:00"
    assert in_sao_paulo["series"][-1]["label"] == "2026-06-15"  # today, live


def test_change_is_against_the_previous_stretch_of_equal_length(
    owner: Account, workflow: uuid.UUID
) -> None:
    start = at("2026-06-09T00:00")  # 7d in UTC: the 9th .. today (6 days 15h20 so far)
    length = timedelta(days=6, hours=16)  # the previous stretch: that, in whole hours
    for minutes, duration in ((1, 100), (2, 300)):
        make_run(owner, workflow, at=start + timedelta(minutes=minutes), duration_ms=duration)
    for minutes in (1, 2, 3):
        make_run(owner, workflow, at=start - timedelta(minutes=minutes), status="failed")
    make_run(owner, workflow, at=start - length, duration_ms=5000)  # first instant: counted
    make_run(owner, workflow, at=start - length - timedelta(seconds=1))  # before: not counted

    body = stats_of(owner)

    assert body["totals"]["total"] == {
        "value": 2,
        "previous": 4,
        "change": -2,
        "changePercent": -50.0,
    }
    assert body["totals"]["failed"] == {
        "value": 0,
        "previous": 3,
        "change": -3,
        "changePercent": -100.0,
    }
    assert body["totals"]["succeeded"]["previous"] == 1
    assert body["totals"]["p95DurationMs"] == {
        "value": 300,
        "previous": 5000,
        "change": -4700,
        "changePercent": -94.0,
    }
    assert body["period"]["previousTo"] == body["period"]["from"] == "2026-06-09T00:00:00+00:00"
    assert body["period"]["previousFrom"] == (start - length).isoformat()


def test_24h_is_live_and_hourly(owner: Account, workflow: uuid.UUID) -> None:
    make_run(owner, workflow, at=at("2026-06-15T15:10"))  # this hour
    make_run(owner, workflow, at=at("2026-06-15T14:59"))
    make_run(owner, workflow, at=at("2026-06-14T16:00"), status="failed")  # first hour
    make_run(owner, workflow, at=at("2026-06-14T15:59"))  # before the window

    body = stats_of(owner, "24h")

    assert body["period"]["granularity"] == "hour" and body["stats"]["period"] == "Last 24 hours"
    assert len(body["series"]) == 24
    assert body["series"][0]["label"] == "2026-06-14T16:00"
    assert body["series"][-1]["label"] == "2026-06-15T15:00"
    assert series(body) == {"2026-06-14T16:00": 1, "2026-06-15T14:00": 1, "2026-06-15T15:00": 1}
    assert body["series"][0]["failed"] == 1
    assert body["totals"]["total"]["previous"] == 1


def test_24h_hours_follow_a_half_hour_zone(owner: Account, workflow: uuid.UUID) -> None:
    set_timezone(owner, "Asia/Kolkata")  # UTC+5:30: 15:20Z is 20:50 local
    make_run(owner, workflow, at=at("2026-06-15T14:40"))  # 20:10 local
    make_run(owner, workflow, at=at("2026-06-15T14:20"))  # 19:50 local
    body = stats_of(owner, "24h")
    assert body["series"][-1]["start"] == "2026-06-15T20:00:00+05:30"
    assert series(body) == {"2026-06-15T19:00": 1, "2026-06-15T20:00": 1}


def test_custom_range_is_inclusive_local_days(owner: Account, workflow: uuid.UUID) -> None:
    set_timezone(owner, "America/Sao_Paulo")
    make_run(owner, workflow, at=at("2026-06-01T02:59"))  # 31 May 23:59 local: previous
    make_run(owner, workflow, at=at("2026-06-01T03:00"))  # 1 June 00:00 local
    make_run(owner, workflow, at=at("2026-06-04T02:59"))  # 3 June 23:59 local
    make_run(owner, workflow, at=at("2026-06-04T03:00"))  # 4 June: after the range

    body = stats_of(owner, "custom", date(2026, 6, 1), date(2026, 6, 3))

    assert [point["label"] for point in body["series"]] == [
        "2026-06-01",
        "2026-06-02",
        "2026-06-03",
    ]
    assert series(body) == {"2026-06-01": 1, "2026-06-03": 1}
    assert body["stats"]["period"] == "2026-06-01 - 2026-06-03"
    assert body["totals"]["total"]["previous"] == 1
    assert body["period"]["previousFrom"] == "2026-05-29T00:00:00-03:00"


def test_custom_range_ending_in_the_future_stops_today(owner: Account) -> None:
    body = stats_of(owner, "custom", date(2026, 6, 14), date(2026, 7, 30))
    assert [point["label"] for point in body["series"]] == ["2026-06-14", "2026-06-15"]


@pytest.mark.parametrize(
    ("period", "points", "label"),
    [
        ("7d", 7, "Last 7 days"),
        ("14d", 14, "Last 14 days"),
        ("30d", 30, "Last 30 days"),
        ("90d", 90, "Last 90 days"),
        ("1d", 1, "Last 1 day"),
        ("2w", 14, "Last 2 weeks"),
        ("3m", 90, "Last 3 months"),
        ("1y", 365, "Last 1 year"),
    ],
)
def test_period_keys(owner: Account, period: str, points: int, label: str) -> None:
    body = stats_of(owner, period)
    assert len(body["series"]) == points
    assert body["series"][-1]["label"] == "2026-06-15"
    assert body["stats"]["period"] == label == body["period"]["label"]


@pytest.mark.parametrize(
    ("period", "first", "last", "field"),
    [
        ("abc", None, None, "period"),
        ("0d", None, None, "period"),
        ("2y", None, None, "period"),
        ("367d", None, None, "period"),
        ("custom", None, None, "period"),
        ("custom", date(2026, 6, 1), None, "period"),
        ("custom", date(2026, 6, 3), date(2026, 6, 1), "from"),
        ("custom", date(2026, 7, 1), date(2026, 7, 2), "from"),
        ("custom", date(2025, 1, 1), date(2026, 6, 1), "to"),
    ],
)
def test_invalid_periods_are_refused_with_a_message(
    owner: Account, period: str, first: date | None, last: date | None, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        stats_of(owner, period, first, last)
    assert isinstance(caught.value.message, str) and caught.value.message
    assert list(caught.value.errors) == [field]


def test_time_saved_uses_each_workflow_setting(owner: Account) -> None:
    quick = make_workflow(owner, "Rapido", minutes_saved=2.5)
    slow = make_workflow(owner, "Lento", minutes_saved=60)
    unset = make_workflow(owner, "Sem valor")
    when = NOW - timedelta(hours=1)
    for _ in range(3):
        make_run(owner, quick, at=when)
    make_run(owner, quick, at=when, status="failed")  # a failed run saves nothing
    make_run(owner, slow, at=when)
    make_run(owner, unset, at=when)
    make_run(owner, slow, at=when, mode="manual")  # not production

    body = stats_of(owner)

    assert body["stats"]["timeSavedMinutes"] == 67.5
    assert body["stats"]["timeSaved"] == "1h 07m"
    assert body["totals"]["timeSavedMinutes"]["value"] == 67.5


def test_top_failing_workflows_most_first_at_most_five(owner: Account) -> None:
    when = NOW - timedelta(hours=1)
    expected = []
    for index in range(7):
        workflow_id = make_workflow(owner, f"W{index}")
        for _ in range(index):
            make_run(owner, workflow_id, at=when, status="failed")
        make_run(owner, workflow_id, at=when, mode="manual", status="failed")
        expected.append({"id": str(workflow_id), "name": f"W{index}", "failures": index})
    assert stats_of(owner)["topFailingWorkflows"] == expected[::-1][:5]


def test_average_and_p95_use_finished_runs_only(owner: Account, workflow: uuid.UUID) -> None:
    when = NOW - timedelta(hours=1)
    for duration in range(100, 2100, 100):  # 20 runs: 100 .. 2000 ms
        make_run(owner, workflow, at=when, duration_ms=duration)
    make_run(owner, workflow, at=when, status="running")
    body = stats_of(owner)
    assert body["stats"]["prodExecutions"] == 21
    assert body["stats"]["avgRunTimeMs"] == 1050.0
    assert body["stats"]["avgRunTime"] == "1.05s"
    # the 19th of 20 durations (1900) is in the (1000, 2500] histogram bucket: its bound,
    # capped at the largest duration (2000)
    assert body["totals"]["p95DurationMs"]["value"] == 2000
