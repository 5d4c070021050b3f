"""Creating, activating, editing, deactivating and deleting a workflow keeps its schedules."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient

from fluxolab.models import utcnow
from tests.factories import make_account
from tests.schedules.helpers import (
    create_flow,
    schedule_flow,
    schedule_of,
    schedules_of,
    set_active,
)


def test_activation_creates_an_active_schedule_due_from_now(
    app_ctx: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    before = utcnow()
    workflow_id = create_flow(
        client,
        owner,
        schedule_flow(interval="hour", value=2, timezone="Europe/Berlin"),
        active=False,
    )
    assert schedules_of(workflow_id) == {}  # a draft has no schedule yet

    set_active(client, owner, workflow_id, True)
    row = schedule_of(workflow_id)
    assert row.is_active and row.workspace_id == owner.workspace_id
    assert row.spec == {"interval": "hour", "value": 2, "cron": None, "timezone": "Europe/Berlin"}
    assert row.timezone == "Europe/Berlin" and row.error is None
    assert row.next_due_at is not None
    assert before < row.next_due_at <= before + timedelta(hours=2, seconds=5)
    local = row.next_due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.minute, local.second) == (0, 0)


def test_deactivating_disables_and_reactivating_counts_from_now(
    app_ctx: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    workflow_id = create_flow(client, owner, schedule_flow())
    set_active(client, owner, workflow_id, False)
    row = schedule_of(workflow_id)
    assert not row.is_active and row.next_due_at is None

    # waking up counts from now: the time it was inactive is never fired
    woke = utcnow()
    set_active(client, owner, workflow_id, True)
    row = schedule_of(workflow_id)
    assert row.is_active and row.next_due_at is not None
    assert woke < row.next_due_at <= woke + timedelta(minutes=1)


def test_editing_the_node_reschedules_and_removing_it_deletes_the_row(
    app_ctx: Flask, client: FlaskClient
) -> None:
    owner = make_account()
    workflow_id = create_flow(client, owner, schedule_flow())
    edited = schedule_flow(cron="0 9 * * *", timezone="America/New_York")
    response = client.put(
        f"/api/workflows/{workflow_id}", json={"definition": edited}, headers=owner.headers
    )
    assert response.status_code == 200, response.get_json()
    row = schedule_of(workflow_id)
    assert row.cron == "0 9 * * *" and row.timezone == "America/New_York"
    assert row.next_due_at is not None
    local = row.next_due_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 0)

    manual_only = {"nodes": [{"id": "m", "type": "manual", "params": {}}], "connections": []}
    response = client.put(
        f"/api/workflows/{workflow_id}", json={"definition": manual_only}, headers=owner.headers
    )
    assert response.status_code == 200, response.get_json()
    assert schedules_of(workflow_id) == {}


def test_disabled_schedule_nodes_get_no_row(app_ctx: Flask, client: FlaskClient) -> None:
    owner = make_account()
    definition = schedule_flow()
    definition["nodes"].append(
        {
            "id": "off",
            "type": "schedule",
            "disabled": True,
            "params": {"interval": "day", "value": 1},
        }
    )
    workflow_id = create_flow(client, owner, definition)
    assert set(schedules_of(workflow_id)) == {"tick"}


def test_deleting_the_workflow_deletes_its_schedules(app_ctx: Flask, client: FlaskClient) -> None:
    owner = make_account()
    workflow_id = create_flow(client, owner, schedule_flow())
    assert set(schedules_of(workflow_id)) == {"tick"}
    response = client.delete(f"/api/workflows/{workflow_id}", headers=owner.headers)
    assert response.status_code in (200, 204)
    assert schedules_of(workflow_id) == {}
