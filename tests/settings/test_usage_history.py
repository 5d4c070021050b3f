"""GET /api/settings/usage/history: series per metric, buckets, summary numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fluxolab.executions import sweeper
from fluxolab.models import utcnow
from fluxolab.stats import rollup
from tests.dashboard.runs import make_run, make_workflow
from tests.factories import Account, make_account, make_member
from tests.helpers import assert_envelope
from tests.settings.helpers import ROLES, add_webhook_calls, member

URL = "/api/settings/usage/history"


@pytest.fixture()
def owner() -> Account:
    return make_account()


def history(client: FlaskClient, account: Account, **query: str) -> list[dict]:
    response = client.get(URL, query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ok"
    data: list[dict] = body["data"]
    return data


@pytest.mark.parametrize(("period", "points"), [("1d", 24), ("7d", 7), ("30d", 30), ("365d", 365)])
def test_each_period_has_one_point_per_bucket(
    client: FlaskClient, owner: Account, period: str, points: int
) -> None:
    (series,) = history(client, owner, period=period, metric="webhooks")
    assert (series["metric"], series["period"]) == ("webhooks", period)
    assert len(series["data"]) == points
    point = series["data"][0]
    assert set(point) == {"date", "value", "label"}
    assert type(point["value"]) is int
    assert set(series["summary"]) == {"total", "average", "peak", "growth"}


def test_all_gives_the_three_chart_metrics(client: FlaskClient, owner: Account) -> None:
    metrics = [series["metric"] for series in history(client, owner)]
    assert metrics == ["webhooks", "users", "workflows"]


def test_webhook_calls_are_counted_in_their_day(client: FlaskClient, owner: Account) -> None:
    today = utcnow()
    add_webhook_calls(client, owner, 3, at=today)
    add_webhook_calls(client, owner, 2, at=today - timedelta(days=2))
    add_webhook_calls(client, owner, 4, at=today, mode="test")
    (series,) = history(client, owner, period="7d", metric="webhooks")
    values = [point["value"] for point in series["data"]]
    assert values[-1] == 3 and values[-3] == 2 and sum(values) == 5
    local_today = today.astimezone(ZoneInfo("America/Sao_Paulo")).date()  # the workspace's
    assert series["data"][-1]["date"] == f"{local_today.isoformat()}T00:00:00-03:00"
    assert series["summary"]["total"] == 5
    assert series["summary"]["peak"] == 3


def test_users_are_the_member_count_at_each_bucket(client: FlaskClient, owner: Account) -> None:
    make_member(owner, "editor")
    (series,) = history(client, owner, period="7d", metric="users")
    assert series["data"][-1]["value"] == 2
    assert series["summary"]["total"] == 2


def test_explicit_dates_choose_the_range(client: FlaskClient, owner: Account) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC).isoformat()
    end = datetime(2030, 1, 11, tzinfo=UTC).isoformat()
    (series,) = history(client, owner, metric="webhooks", startDate=start, endDate=end)
    assert len(series["data"]) == 10
    assert series["data"][0]["date"].startswith("2030-01-01")
    assert series["data"][0]["label"] == "01/01"


@pytest.mark.parametrize(
    "query",
    [
        {"period": "2d"},
        {"metric": "cpu"},
        {"startDate": "2030-02-01T00:00:00+00:00", "endDate": "2030-01-01T00:00:00+00:00"},
        {"startDate": "2028-01-01T00:00:00+00:00", "endDate": "2030-01-01T00:00:00+00:00"},
        {"startDate": "ontem"},
    ],
    ids=["period", "metric", "reversed", "too-long", "not-a-date"],
)
def test_bad_queries_are_422(client: FlaskClient, owner: Account, query: dict[str, str]) -> None:
    assert_envelope(client.get(URL, query_string=query, headers=owner.headers), 422)


@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads_the_history(client: FlaskClient, owner: Account, role: str) -> None:
    assert len(history(client, member(owner, role))) == 3


def test_history_counts_only_the_callers_workspace(client: FlaskClient, owner: Account) -> None:
    add_webhook_calls(client, owner, 4)
    (series,) = history(client, make_account(), period="1d", metric="webhooks")
    assert series["summary"]["total"] == 0


def test_history_needs_a_token(client: FlaskClient) -> None:
    assert_envelope(client.get(URL), 401)


def test_executions_of_rolled_days_come_from_the_rollup_and_outlive_pruning(
    client: FlaskClient, owner: Account, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow = make_workflow(owner)
    now = utcnow()
    for back, mode in ((10, "webhook"), (10, "manual"), (10, "test"), (3, "schedule")):
        make_run(owner, workflow, at=now - timedelta(days=back), mode=mode)
    make_run(owner, workflow, at=now)  # today: live
    before = history(client, owner, period="30d", metric="executions")[0]
    assert before["summary"]["total"] == 4  # test runs are left out
    rollup.catch_up()
    monkeypatch.setitem(app.config, "EXECUTION_RETENTION_DAYS", 0)
    assert sweeper.prune() == 4  # every run of the sealed days

    after = history(client, owner, period="30d", metric="executions")[0]

    assert after == before
    assert [point["value"] for point in after["data"] if point["value"]] == [2, 1, 1]
