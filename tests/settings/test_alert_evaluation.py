"""The usage-alert evaluation: fires on its condition, once per window; the beat task body."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from fluxolab.extensions import db
from fluxolab.models import UsageAlert, utcnow
from fluxolab.settings import alerts
from tests.factories import Account, make_account, make_member
from tests.settings.helpers import add_webhook_calls, workspace
from workers import maintenance


@pytest.fixture()
def owner() -> Account:
    return make_account()


def add_alert(
    account: Account,
    metric: str,
    threshold: float,
    condition: str = "greater_than",
    window: str = "24h",
    enabled: bool = True,
) -> uuid.UUID:
    alert = UsageAlert(
        id=uuid.uuid4(),
        workspace_id=account.workspace_id,
        metric=metric,
        threshold=Decimal(str(threshold)),
        condition=condition,
        window=window,
        channel="email",
        enabled=enabled,
        alert_metadata={},
    )
    db.session.add(alert)
    db.session.commit()
    return alert.id


def reloaded(alert_id: uuid.UUID) -> UsageAlert:
    db.session.expire_all()
    row = db.session.get(UsageAlert, alert_id)
    assert row is not None
    return row


def test_an_alert_over_its_threshold_fires_and_records_when_and_what(
    client: FlaskClient, owner: Account
) -> None:
    add_webhook_calls(client, owner, 3)
    alert_id = add_alert(owner, "webhooks", 2)
    now = utcnow()
    result = alerts.evaluate_alerts(now)
    assert result.fired == 1
    row = reloaded(alert_id)
    assert row.last_triggered_at == now
    assert row.last_value == Decimal("3")
    listed = client.get("/api/settings/usage/alerts", headers=owner.headers).get_json()["alerts"]
    assert listed[0]["lastTriggeredAt"] is not None and listed[0]["lastValue"] == 3.0


def test_an_alert_below_its_threshold_does_not_fire(client: FlaskClient, owner: Account) -> None:
    add_webhook_calls(client, owner, 2)
    alert_id = add_alert(owner, "webhooks", 2)  # 2 is not greater than 2
    alerts.evaluate_alerts()
    assert reloaded(alert_id).last_triggered_at is None


@pytest.mark.parametrize(
    ("metric", "condition", "threshold", "fires"),
    [
        ("users", "equals", 2, True),
        ("users", "equals", 3, False),
        ("users", "less_than", 3, True),
        ("users", "less_than", 2, False),
        ("workflows", "less_than", 1, True),
        ("executions", "greater_than", 4, True),
        ("executions", "greater_than", 5, False),
    ],
)
def test_each_metric_and_condition(
    owner: Account, metric: str, condition: str, threshold: float, fires: bool
) -> None:
    make_member(owner, "viewer")  # two members
    row = workspace(owner)
    row.executions_used = 5
    db.session.commit()
    alert_id = add_alert(owner, metric, threshold, condition)
    alerts.evaluate_alerts()
    assert (reloaded(alert_id).last_triggered_at is not None) is fires


def test_an_alert_does_not_fire_again_within_its_window(owner: Account) -> None:
    alert_id = add_alert(owner, "users", 0, window="1h")
    first = utcnow()
    assert alerts.evaluate_alerts(first).fired == 1
    assert alerts.evaluate_alerts(first + timedelta(minutes=59)).fired == 0
    assert reloaded(alert_id).last_triggered_at == first
    later = first + timedelta(hours=1, seconds=1)
    assert alerts.evaluate_alerts(later).fired == 1
    assert reloaded(alert_id).last_triggered_at == later


def test_disabled_alerts_are_not_evaluated(owner: Account) -> None:
    alert_id = add_alert(owner, "users", 0, enabled=False)
    assert alerts.evaluate_alerts().checked == 0
    assert reloaded(alert_id).last_triggered_at is None


def test_each_workspace_is_measured_on_its_own_usage(client: FlaskClient, owner: Account) -> None:
    other = make_account()
    add_webhook_calls(client, other, 5)
    mine = add_alert(owner, "webhooks", 1)
    theirs = add_alert(other, "webhooks", 1)
    alerts.evaluate_alerts()
    assert reloaded(mine).last_triggered_at is None
    assert reloaded(theirs).last_triggered_at is not None


def test_the_beat_task_body_evaluates_the_alerts(owner: Account) -> None:
    alert_id = add_alert(owner, "users", 0)
    report = maintenance.evaluate_usage_alerts.run()
    assert report["fired"] >= 1 and report["checked"] >= 1
    assert reloaded(alert_id).last_triggered_at is not None


def test_the_evaluation_is_on_the_beat_schedule() -> None:
    import celeryconfig

    entry = celeryconfig.beat_schedule["evaluate-usage-alerts"]
    assert entry["task"] == "maintenance.evaluate_usage_alerts"
    assert entry["schedule"] == 300.0
    assert celeryconfig.task_routes["maintenance.*"]["queue"] == "maintenance"
