"""Beat's schedule tick with an injected clock: each due time fires once, catch-up modes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from fluxolab.extensions import db
from fluxolab.models import Plan, Schedule, Workflow, Workspace, utcnow
from fluxolab.schedules.scheduler import fire_due, prune_fires
from tests.factories import make_account
from tests.schedules.helpers import (
    count_runs,
    create_flow,
    fires,
    schedule_flow,
    schedule_of,
    schedule_runs,
    set_active,
)

MINUTE = timedelta(minutes=1)


@pytest.fixture()
def owner_client(app_ctx: Flask, client: FlaskClient) -> FlaskClient:
    return client


def every_minute(client: FlaskClient) -> tuple[uuid.UUID, datetime]:
    """An active every-minute schedule and its first due time."""
    owner = make_account()
    workflow_id = create_flow(client, owner, schedule_flow())
    first = schedule_of(workflow_id).next_due_at
    assert first is not None
    return workflow_id, first


def test_each_due_time_fires_exactly_once(owner_client: FlaskClient) -> None:
    workflow_id, first = every_minute(owner_client)
    for k in range(5):
        for _ in range(2):  # a second tick at the same moment finds nothing left to fire
            fire_due(now=first + k * MINUTE + timedelta(seconds=3))
    runs = schedule_runs(workflow_id)
    assert len(runs) == 5
    assert {run.mode for run in runs} == {"schedule"}
    assert {run.trigger_node_id for run in runs} == {"tick"}
    assert {run.status for run in runs} == {"queued"}
    expected = [first + k * MINUTE for k in range(5)]
    assert [f.scheduled_for for f in fires(workflow_id)] == expected
    assert [run.input_items[0]["scheduledFor"] for run in runs] == [t.isoformat() for t in expected]
    assert runs[0].input_items[0]["timezone"] == "UTC"
    assert {f.execution_id for f in fires(workflow_id)} == {run.id for run in runs}
    assert {run.idempotency_key for run in runs} == {f"schedule:{f.id}" for f in fires(workflow_id)}
    row = schedule_of(workflow_id)
    assert row.next_due_at == first + 5 * MINUTE
    assert row.last_scheduled_for == first + 4 * MINUTE


def test_nothing_fires_before_the_due_time(owner_client: FlaskClient) -> None:
    workflow_id, first = every_minute(owner_client)
    assert fire_due(now=first - timedelta(seconds=1)).fired == 0
    assert count_runs(workflow_id) == 0


def test_after_downtime_one_catch_up_run_by_default(owner_client: FlaskClient) -> None:
    workflow_id, first = every_minute(owner_client)
    report = fire_due(now=first + 10 * MINUTE + timedelta(seconds=30))
    assert report.fired == 1
    assert [f.scheduled_for for f in fires(workflow_id)] == [first + 10 * MINUTE]
    assert schedule_of(workflow_id).next_due_at == first + 11 * MINUTE


def test_catch_up_none_skips_missed_due_times(
    owner_client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SCHEDULE_CATCH_UP", "none")
    monkeypatch.setitem(app.config, "SCHEDULE_MISFIRE_GRACE_SECONDS", 20)
    workflow_id, first = every_minute(owner_client)
    assert fire_due(now=first + 10 * MINUTE + timedelta(seconds=30)).fired == 0
    assert schedule_of(workflow_id).next_due_at == first + 11 * MINUTE
    # a due time within the grace period is on time, not missed
    assert fire_due(now=first + 11 * MINUTE + timedelta(seconds=10)).fired == 1
    assert [f.scheduled_for for f in fires(workflow_id)] == [first + 11 * MINUTE]


def test_catch_up_all_fires_the_newest_missed_due_times_up_to_the_bound(
    owner_client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SCHEDULE_CATCH_UP", "all")
    monkeypatch.setitem(app.config, "SCHEDULE_CATCH_UP_MAX", 4)
    workflow_id, first = every_minute(owner_client)
    assert fire_due(now=first + 2 * MINUTE).fired == 3  # within the bound: all of them
    assert fire_due(now=first + 12 * MINUTE).fired == 4
    assert [f.scheduled_for for f in fires(workflow_id)] == [
        first + k * MINUTE for k in (0, 1, 2, 9, 10, 11, 12)
    ]
    assert count_runs(workflow_id) == 7


def test_deactivating_while_ticking_stops_the_runs(owner_client: FlaskClient) -> None:
    owner = make_account()
    workflow_id = create_flow(owner_client, owner, schedule_flow())
    first = schedule_of(workflow_id).next_due_at
    assert first is not None
    fire_due(now=first)
    fire_due(now=first + MINUTE)
    set_active(owner_client, owner, workflow_id, False)
    for k in range(2, 6):
        fire_due(now=first + k * MINUTE)
    assert count_runs(workflow_id) == 2

    woke = utcnow()
    set_active(owner_client, owner, workflow_id, True)
    again = schedule_of(workflow_id).next_due_at
    assert again is not None and woke < again <= woke + MINUTE  # counted from now
    fire_due(now=first + 6 * MINUTE)
    assert [f.scheduled_for for f in fires(workflow_id)] == [
        first,
        first + MINUTE,
        first + 6 * MINUTE,
    ]


def test_an_inactive_or_deleted_workflow_never_fires(owner_client: FlaskClient) -> None:
    workflow_id, first = every_minute(owner_client)
    # behind the sync's back: the tick itself checks the workflow
    db.session.execute(update(Workflow).where(Workflow.id == workflow_id).values(status="inactive"))
    db.session.commit()
    report = fire_due(now=first + MINUTE)
    assert (report.fired, report.disabled) == (0, 1)
    assert count_runs(workflow_id) == 0
    assert not schedule_of(workflow_id).is_active

    other, first = every_minute(owner_client)
    db.session.execute(update(Workflow).where(Workflow.id == other).values(deleted_at=first))
    db.session.commit()
    assert fire_due(now=first + MINUTE).fired == 0
    assert count_runs(other) == 0


def test_a_plan_quota_refusal_skips_that_due_time_only(owner_client: FlaskClient) -> None:
    workflow_id, first = every_minute(owner_client)
    workspace_id = db.session.get(Workflow, workflow_id).workspace_id  # type: ignore[union-attr]
    workspace = db.session.get(Workspace, workspace_id)
    assert workspace is not None
    plan = db.session.get(Plan, workspace.plan_id)
    assert plan is not None and plan.limits.get("executions")
    used = workspace.executions_used
    workspace.executions_used = plan.limits["executions"]
    db.session.commit()

    report = fire_due(now=first)
    assert (report.fired, report.skipped) == (0, 1)
    skipped = fires(workflow_id, "skipped")
    assert [f.scheduled_for for f in skipped] == [first]
    assert skipped[0].execution_id is None and "Limite" in (skipped[0].error or "")
    assert schedule_of(workflow_id).next_due_at == first + MINUTE  # not blocked

    db.session.execute(
        update(Workspace).where(Workspace.id == workspace_id).values(executions_used=used)
    )
    db.session.commit()
    assert fire_due(now=first + MINUTE).fired == 1
    assert [f.scheduled_for for f in fires(workflow_id, "fired")] == [first + MINUTE]


def test_schedules_in_other_zones_fire_at_local_times(owner_client: FlaskClient) -> None:
    owner = make_account()
    workflow_id = create_flow(
        owner_client, owner, schedule_flow(cron="30 2 * * *", timezone="Europe/Berlin")
    )
    first = schedule_of(workflow_id).next_due_at
    assert first is not None
    fire_due(now=first)
    run = schedule_runs(workflow_id)[0]
    item = run.input_items[0]
    assert item["timezone"] == "Europe/Berlin"
    assert item["localTime"].startswith(first.astimezone().date().isoformat()[:4])
    assert item["localTime"][11:16] in {"02:30", "03:00"}  # 03:00 on a spring-forward day


def test_a_due_time_with_a_fire_row_is_not_fired_again(owner_client: FlaskClient) -> None:
    workflow_id, first = every_minute(owner_client)
    fire_due(now=first)
    # a beat that read the schedule before that commit (a stale next_due_at) finds the row
    db.session.execute(
        update(Schedule).where(Schedule.workflow_id == workflow_id).values(next_due_at=first)
    )
    db.session.commit()
    report = fire_due(now=first + timedelta(seconds=20))
    assert report.fired == 0
    assert count_runs(workflow_id) == 1
    assert schedule_of(workflow_id).next_due_at == first + MINUTE


def test_old_fire_records_are_pruned_and_decide_nothing_any_more(owner_client: FlaskClient) -> None:
    workflow_id, first = every_minute(owner_client)
    for k in range(3):
        fire_due(now=first + k * MINUTE)
    assert prune_fires(now=utcnow() + timedelta(days=29)) == 0
    assert prune_fires(now=utcnow() + timedelta(days=31)) >= 3
    assert fires(workflow_id) == []
    assert count_runs(workflow_id) == 3  # the runs stay (they follow their own retention)
    fire_due(now=first + 3 * MINUTE)
    assert [f.scheduled_for for f in fires(workflow_id)] == [first + 3 * MINUTE]


def test_each_schedule_node_of_a_workflow_fires_on_its_own(owner_client: FlaskClient) -> None:
    owner = make_account()
    definition = schedule_flow()
    definition["nodes"].append(
        {"id": "every2", "type": "schedule", "params": {"interval": "minute", "value": 2}}
    )
    definition["connections"].append({"from": "every2", "to": "end"})
    workflow_id = create_flow(owner_client, owner, definition)
    first = schedule_of(workflow_id).next_due_at
    assert first is not None
    for k in range(4):
        fire_due(now=first + k * MINUTE)
    by_node: dict[str, int] = {}
    for run in schedule_runs(workflow_id):
        assert run.trigger_node_id is not None
        by_node[run.trigger_node_id] = by_node.get(run.trigger_node_id, 0) + 1
    assert by_node == {"tick": 4, "every2": 2}
